import { ReactorError } from '../model/errors.js';

/**
 * Databases open in this process, where no Web Locks tell tabs apart (Node, workers without
 * them): a second reactor on one of them would be one reactor twice, so it is refused.
 */
const open = new WeakMap<object, Set<string>>();

/**
 * Claims `dbName` on the IndexedDB factory `factory` for this process; returns the release. Throws
 * a `conflict` error naming the database when another reactor holds it.
 */
export function claimDatabase(factory: object, dbName: string): () => void {
  let names = open.get(factory);
  if (names === undefined) {
    names = new Set();
    open.set(factory, names);
  }
  if (names.has(dbName)) {
    throw new ReactorError(
      'conflict',
      `createReactor: the database "${dbName}" is open in another reactor of this process already; stop that one first, or give this one another dbName (tabs of a browser share a database through their leader, but here there are no Web Locks to elect one)`,
    );
  }
  names.add(dbName);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    names?.delete(dbName);
  };
}
