/**
 * `xstate-reactor/sqlite`: the SQLite storage backend, for Node only (it needs better-sqlite3 12,
 * an optional peer dependency). Kept out of the main entry so browsers never load it.
 *
 * ```ts
 * import { createReactor } from 'xstate-reactor';
 * import { createSqliteStorage } from 'xstate-reactor/sqlite';
 * const reactor = await createReactor({ models, storage: { backend: createSqliteStorage({ path: './data/reactor.db' }) } });
 * ```
 */
export type { StorageBackend } from './storage/backend.js';
export { createSqliteStorage, type SqliteStorageOptions, type SqliteSynchronous } from './storage/sqlite.js';
