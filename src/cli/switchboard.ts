import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { ReactorError } from '../model/errors.js';
import { createSwitchboard, type Switchboard } from '../server/switchboard.js';
import type { StorageOptions } from '../storage/schema.js';

/** Flags of `xstate-reactor switchboard`. */
export interface SwitchboardFlags {
  readonly port: number;
  readonly host: string;
  readonly data: string;
  readonly token?: string;
  readonly maxFrameBytes?: number;
  readonly id?: string;
  /** Keep everything in memory (fake IndexedDB): nothing survives a restart. */
  readonly memory: boolean;
}

/** The durable default: SQLite (WAL, synchronous FULL) in the data directory. */
async function durableStorage(dataDir: string): Promise<StorageOptions> {
  await mkdir(dataDir, { recursive: true });
  const { createSqliteStorage } = await import('../storage/sqlite.js');
  return { backend: createSqliteStorage({ path: join(dataDir, 'switchboard.db') }) };
}

/**
 * Runs a switchboard until SIGINT or SIGTERM, then shuts it down gracefully: no new connections or
 * requests, requests in flight finish (their commits complete), clients are disconnected, the
 * database is closed. A second signal exits at once.
 */
export async function runSwitchboard(flags: SwitchboardFlags, log: (line: string) => void): Promise<Switchboard> {
  const dataDir = resolve(flags.data);
  const storage: StorageOptions = flags.memory
    ? { dbName: 'switchboard', indexedDB: new IDBFactory(), IDBKeyRange }
    : await durableStorage(dataDir);
  const token = flags.token ?? process.env.XSTATE_REACTOR_TOKEN;
  const board = await createSwitchboard({
    port: flags.port,
    host: flags.host,
    storage,
    log,
    ...(token === undefined || token === '' ? {} : { token }),
    ...(flags.maxFrameBytes === undefined ? {} : { maxFrameBytes: flags.maxFrameBytes }),
    ...(flags.id === undefined ? {} : { id: flags.id }),
  }).catch((error: unknown) => {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new ReactorError('validation', `port ${flags.port} on ${flags.host} is in use; pick another with --port`);
    }
    throw error;
  });
  log(
    `data: ${flags.memory ? 'in memory (not durable)' : dataDir}; auth: ${token ? 'token required' : 'none'}; ops stored: ${board.reactor.status().ordinal}`,
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: shutting down (finishing requests in flight)`);
    board.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  return board;
}
