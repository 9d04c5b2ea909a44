import { ReactorError } from '../model/errors.js';
import type { OrderKey } from '../model/order.js';
import type {
  CursorRow,
  DeadLetterRow,
  JobLogRow,
  KeyframeRow,
  LaneRow,
  MetaRow,
  OperationRow,
  RemoteRow,
  StreamRow,
  WriteRow,
} from '../model/rows.js';
import {
  type BootRows,
  type StorageBackend,
  StorageConstraintError,
  type SyncRows,
  type WriteBatch,
} from './backend.js';
import { decodeValue, keyBytes } from './sqliteCodec.js';
import { configure, loadDriver, migrate, type SqliteDatabase } from './sqliteSchema.js';
import {
  type OperationColumns,
  type OperationData,
  operationRow,
  prepareClaim,
  prepareCommit,
  prepareReads,
  type SqliteReads,
} from './sqliteStatements.js';

/** How hard a commit waits for the disk (see {@link SqliteStorageOptions.synchronous}). */
export type SqliteSynchronous = 'full' | 'normal';

/** Options of {@link createSqliteStorage}. */
export interface SqliteStorageOptions {
  /** The database file (created if missing; its folder must exist), or `':memory:'` (not durable). */
  readonly path: string;
  /**
   * `full` (default): every commit is fsynced before the reactor acknowledges it, so it survives
   * a power loss. `normal`: survives a process crash, may lose the last commits on power loss.
   */
  readonly synchronous?: SqliteSynchronous;
}

/**
 * The SQLite backend (better-sqlite3, Node only), for a reactor that must not lose what it
 * acknowledged, such as a switchboard: WAL journal, `synchronous = FULL`, prepared statements,
 * one SQL transaction per commit. Opens (creating or migrating) the file at once. better-sqlite3
 * is synchronous; the contract is async, so its promises resolve once the work is done.
 *
 * ```ts
 * import { createSqliteStorage } from 'xstate-reactor/sqlite';
 * const reactor = await createReactor({ models, storage: { backend: createSqliteStorage({ path: './data/reactor.db' }) } });
 * ```
 */
export function createSqliteStorage(options: SqliteStorageOptions): StorageBackend {
  if (typeof options?.path !== 'string' || options.path === '') {
    throw new ReactorError('validation', 'createSqliteStorage: "path" must be a file path (or ":memory:")');
  }
  const { path } = options;
  const Database = loadDriver();
  let db: SqliteDatabase;
  try {
    // Wait briefly for a lock: a database still held by a live process will not be freed by waiting.
    db = new Database(path, { timeout: 500 });
  } catch (error) {
    throw new ReactorError(
      'storage',
      `createSqliteStorage: cannot open "${path}": ${error instanceof Error ? error.message : String(error)}`,
      { retryable: false, cause: error },
    );
  }
  try {
    configure(db, options.synchronous ?? 'full');
    migrate(db, path);
    return new SqliteStorage(db, path);
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new ReactorError(
        'storage',
        `createSqliteStorage: "${path}" is in use by another process (one reactor per database); stop it or use another path`,
        { retryable: false, cause: error },
      );
    }
    throw error instanceof ReactorError ? error : toStorageError(error, path);
  }
}

class SqliteStorage implements StorageBackend {
  readonly name: string;
  readonly #db: SqliteDatabase;
  readonly #sql: SqliteReads;
  readonly #commit: (batch: WriteBatch) => void;
  readonly #claim: () => number;

  constructor(db: SqliteDatabase, name: string) {
    this.name = name;
    this.#db = db;
    this.#sql = prepareReads(db);
    this.#commit = prepareCommit(db);
    this.#claim = prepareClaim(db);
  }

  /** Runs `work` on the open connection, turning SQLite's errors into the contract's. */
  #run<T>(work: () => T): Promise<T> {
    if (!this.#db.open) {
      return Promise.reject(
        new ReactorError('storage', `SQLite database "${this.name}" is closed`, { retryable: false }),
      );
    }
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(toStorageError(error, this.name));
    }
  }

  readBoot() {
    return this.#run(
      (): BootRows => ({
        meta: decodeOptional<MetaRow>(this.#sql.meta.get(keyBytes('reactor'))),
        jobLog: this.#sql.jobLog.all().map(decodeValue<JobLogRow>),
        lanes: this.#sql.lanes.all().map(decodeValue<LaneRow>),
        streams: this.#sql.streams.all().map(decodeValue<StreamRow>),
      }),
    );
  }

  readSync() {
    return this.#run(
      (): SyncRows => ({
        remotes: this.#sql.remotes.all().map(decodeValue<RemoteRow>),
        cursors: this.#sql.cursors.all().map(decodeValue<CursorRow>),
        deadLetters: this.#sql.deadLetters.all().map(decodeValue<DeadLetterRow>),
      }),
    );
  }

  findOperations(ids: readonly string[]) {
    return this.#run(() => {
      const rows: OperationRow[] = [];
      for (const id of ids) {
        const columns = this.#sql.byId.get(keyBytes(id)) as OperationColumns | undefined;
        if (columns !== undefined) rows.push(operationRow(columns));
      }
      return rows;
    });
  }

  streamTail(stream: string) {
    return this.#run((): OrderKey | undefined => {
      const data = decodeOptional<OperationData>(this.#sql.tail.get(keyBytes(stream)));
      return data === undefined ? undefined : { timestamp: data.timestamp, id: data.id };
    });
  }

  readStream(stream: string, after?: OrderKey) {
    return this.#run(() => {
      const rows =
        after === undefined
          ? this.#sql.stream.all(keyBytes(stream))
          : this.#sql.streamAfter.all(keyBytes(stream), keyBytes(after.timestamp), keyBytes(after.id));
      return (rows as OperationColumns[]).map(operationRow);
    });
  }

  readSince(ordinal: number, limit: number) {
    return this.#run(() => (this.#sql.since.all(ordinal, limit) as OperationColumns[]).map(operationRow));
  }

  readKeyframes(stream: string) {
    return this.#run(() => this.#sql.keyframes.all(keyBytes(stream)).map(decodeValue<KeyframeRow>));
  }

  findWrites(ids: readonly string[]) {
    return this.#run(() => {
      const rows: WriteRow[] = [];
      for (const id of ids) {
        const row = decodeOptional<WriteRow>(this.#sql.write.get(keyBytes(id)));
        if (row !== undefined) rows.push(row);
      }
      return rows;
    });
  }

  claimEpoch() {
    return this.#run(() => this.#claim());
  }

  commit(batch: WriteBatch) {
    return this.#run(() => this.#commit(batch));
  }

  async close() {
    if (this.#db.open) this.#db.close();
  }
}

function decodeOptional<T>(column: unknown): T | undefined {
  return column === undefined ? undefined : decodeValue<T>(column);
}

/** Transient SQLite result codes: another attempt may succeed. */
const TRANSIENT = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_INTERRUPT',
  'SQLITE_PROTOCOL',
];

/**
 * SQLite's errors in the contract's terms: a unique-index violation is a
 * {@link StorageConstraintError}; other result codes are `storage` errors, retryable when
 * transient. Anything else (a `DataCloneError` from encoding) is left for `classifyError`.
 */
function toStorageError(error: unknown, name: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new StorageConstraintError(`${code}: ${message}`, { cause: error });
  }
  const retryable = TRANSIENT.some((prefix) => code === prefix || code.startsWith(`${prefix}_`));
  return new ReactorError('storage', `SQLite "${name}" failed (${code}): ${message}`, { retryable, cause: error });
}
