import { afterEach, expect } from 'vitest';
import { createReactor, defineDocumentModel, type Reactor, type ReactorOptions } from '../../src/index.js';

/** A counter: the model of the README. */
export const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: {
    INCREMENT: (state: { count: number }, input: { by: number }) => ({ count: state.count + input.by }),
  },
});

const reactors: Reactor[] = [];
const databases: string[] = [];

/** A database name no other test (or earlier run in this browser profile) uses; deleted after the test. */
export function uniqueDbName(label: string): string {
  const name = `xstate-reactor-browser-${label}-${crypto.randomUUID()}`;
  databases.push(name);
  return name;
}

/**
 * Opens a reactor on the browser's own IndexedDB: only a `dbName` is passed, so storage falls back
 * to the global `indexedDB` and `IDBKeyRange`. Stopped after the test if the test did not.
 */
export async function openReactor(dbName: string, options: Partial<ReactorOptions> = {}): Promise<Reactor> {
  const reactor = await createReactor({ models: [counter], storage: { dbName }, ...options });
  reactors.push(reactor);
  return reactor;
}

/**
 * Deletes a database. A `blocked` event alone is no failure: a read resolves on its request's
 * success and its transaction commits a moment later, so a connection closed by `stop()` right
 * after a read finishes closing just after. A connection that never closes is a leak: it fails here.
 */
function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    const leak = setTimeout(() => reject(new Error(`deleting "${name}": a connection is still open after 5 s`)), 5_000);
    request.onsuccess = () => {
      clearTimeout(leak);
      resolve();
    };
    request.onerror = () => {
      clearTimeout(leak);
      reject(request.error);
    };
  });
}

afterEach(async () => {
  // stop() on a stopped reactor returns the same promise, so reactors the test stopped are fine here.
  await Promise.all(reactors.splice(0).map((reactor) => reactor.stop()));
  const names = databases.splice(0);
  await Promise.all(names.map(deleteDatabase));
  const left = (await indexedDB.databases()).map((db) => db.name);
  for (const name of names) expect(left).not.toContain(name);
});

/** Ids of a log, checked to be unique: every op is there once. */
export function uniqueIds(log: readonly { readonly id: string }[]): string[] {
  const ids = log.map((op) => op.id);
  expect(new Set(ids).size).toBe(ids.length);
  return ids;
}
