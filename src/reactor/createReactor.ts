import { ReactorError } from '../model/errors.js';
import { openCore } from './core.js';
import { resolveOptions } from './options.js';
import { claimDatabase } from './registry.js';
import { openTabReactor, tabEnvironment } from './tabs/tabReactor.js';
import type { Reactor, ReactorOptions } from './types.js';

export type { DocumentsApi, Reactor, ReactorOptions, ReactorStatus, StopOptions } from './types.js';

/**
 * Opens (or creates) a reactor on its database. In a browser, every tab that opens the same
 * IndexedDB database shares it: one tab (the leader, elected with Web Locks) runs the reactor and
 * the others follow it (see docs/architecture.md, "Tabs"); the returned reactor has the whole API
 * in either role. Where there are no Web Locks (Node), or on a storage backend of its own, the
 * reactor runs alone, and a second one on a database already open in this process is refused.
 */
export async function createReactor(options: ReactorOptions): Promise<Reactor> {
  const settings = resolveOptions(options);
  const tabs = tabEnvironment(settings, options.tabs);
  if (tabs !== undefined) return openTabReactor(settings, tabs);
  const storage = settings.storage;
  const release =
    storage.backend === undefined
      ? claimDatabase(storage.indexedDB ?? (globalThis.indexedDB as object), storage.dbName ?? DEFAULT_DB_NAME)
      : () => {};
  try {
    const core = await openCore(settings);
    const stop = core.reactor.stop;
    return {
      ...core.reactor,
      stop: (stopOptions) =>
        stop(stopOptions).finally(() => {
          release();
        }),
    };
  } catch (error) {
    release();
    throw error instanceof ReactorError ? error : error;
  }
}

/** The IndexedDB database a reactor opens unless told otherwise (one per origin: give each app its own). */
export const DEFAULT_DB_NAME = 'xstate-reactor';
