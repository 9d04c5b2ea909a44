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

/**
 * Where a reactor keeps its data: a few primitive reads and one atomic write. The repository logic
 * (group commit, dedupe, boot, sync scans) is written once against this interface; Dexie
 * (`createDexieStorage`) and SQLite (`xstate-reactor/sqlite`) implement it, and every
 * implementation passes the same contract test suite.
 *
 * A database has one writer at a time: a reactor's operations store. Several tabs may open one
 * database, but only one of them (the leader) writes, and fencing makes that hold even for a
 * leader that lost its lock without knowing: the writer claims an epoch
 * ({@link StorageBackend.claimEpoch}) and names it in every batch ({@link WriteBatch.fence}); a
 * batch whose epoch is no longer the database's is refused whole. Rows come back equal to what
 * went in (a structured clone or better). The reactor that is given a backend owns it and closes
 * it when it stops.
 */
export interface StorageBackend {
  /** Names the database in messages (an IndexedDB name, a file path). */
  readonly name: string;
  /** Everything a reactor reads once at start-up. */
  readBoot(): Promise<BootRows>;
  /** Every persisted remote, cursor and dead letter. */
  readSync(): Promise<SyncRows>;
  /** The stored ops among `ids` (unknown ids are left out; order not specified). */
  findOperations(ids: readonly string[]): Promise<OperationRow[]>;
  /** The key of a stream's last op in canonical order, or `undefined` for an empty stream. */
  streamTail(stream: string): Promise<OrderKey | undefined>;
  /** Ops of a stream in canonical order `(timestamp, id)`, optionally strictly after a key. */
  readStream(stream: string, after?: OrderKey): Promise<OperationRow[]>;
  /** At most `limit` ops with an ordinal greater than `ordinal`, in ordinal order. */
  readSince(ordinal: number, limit: number): Promise<OperationRow[]>;
  /** A stream's keyframes in canonical order. */
  readKeyframes(stream: string): Promise<KeyframeRow[]>;
  /** The recorded writes among `ids` (unknown ids are left out; order not specified). */
  findWrites(ids: readonly string[]): Promise<WriteRow[]>;
  /**
   * Makes the caller the database's only writer: in one write transaction, reads the fence epoch
   * (0 when there is none), stores the next one and returns it. Every batch committed with an
   * older epoch as its {@link WriteBatch.fence} is refused from then on. Call it while holding
   * whatever elects the writer (a Web Lock), before reading anything the writer will build on.
   */
  claimEpoch(): Promise<number>;
  /**
   * Applies a whole batch atomically: all of it or, when it rejects, none of it. Within one store
   * deletes (and keyframe drops) apply before puts, and later puts of a key win. An op whose
   * `ordinal` or `id` is stored already rejects the batch with a {@link StorageConstraintError};
   * a batch whose `fence` is not the stored epoch rejects with a {@link StorageFencedError}.
   */
  commit(batch: WriteBatch): Promise<void>;
  /** Releases the database; reads and commits after this reject. Closing twice is harmless. */
  close(): Promise<void>;
}

/** Rows read at start-up; `meta` is `undefined` on a fresh database. */
export interface BootRows {
  readonly meta: MetaRow | undefined;
  readonly jobLog: readonly JobLogRow[];
  readonly lanes: readonly LaneRow[];
  readonly streams: readonly StreamRow[];
}

/** Persisted sync state. */
export interface SyncRows {
  readonly remotes: readonly RemoteRow[];
  readonly cursors: readonly CursorRow[];
  readonly deadLetters: readonly DeadLetterRow[];
}

/** Rows to put into a store and keys to delete from it (deletes first). */
export interface StoreChanges<Row, Key> {
  readonly put?: readonly Row[];
  readonly delete?: readonly Key[];
}

/** The key of a cursor row. */
export interface CursorKey {
  readonly remote: string;
  readonly direction: CursorRow['direction'];
}

/** Keyframes of a stream that sort strictly after `after` (they no longer hold after a rebase). */
export interface KeyframeDrop {
  readonly stream: string;
  readonly after: OrderKey;
}

/** Changes to the recorded writes: first the rows older than `deleteBefore` go, then the puts land. */
export interface WriteRowChanges {
  readonly put?: readonly WriteRow[];
  /** Deletes every row whose `at` is less than this. */
  readonly deleteBefore?: number;
}

/** One atomic write: every change a group commit makes, store by store. */
export interface WriteBatch {
  /**
   * The writer's epoch (from {@link StorageBackend.claimEpoch}). When set, the backend reads the
   * fence inside the batch's own transaction and, unless the stored epoch equals this one, writes
   * nothing and rejects with a {@link StorageFencedError}.
   *
   * This is also what makes it safe to commit counters (ordinal, job sequence, clock) that were
   * read earlier and advanced in memory: the writer claimed its epoch before it read them, and a
   * fenced batch commits only if no one has claimed since, so no other writer's batch can have
   * landed in between. Every writer that another may replace must set it on every batch; without
   * it (one reactor per database, the only writer there is) a batch is not checked.
   */
  readonly fence?: number;
  /** New ops; never overwrites (a stored `ordinal` or `id` fails the batch). */
  readonly operations?: readonly OperationRow[];
  readonly jobLog?: StoreChanges<JobLogRow, string>;
  readonly lanes?: readonly LaneRow[];
  readonly keyframes?: { readonly drop?: readonly KeyframeDrop[]; readonly put?: readonly KeyframeRow[] };
  readonly streams?: readonly StreamRow[];
  readonly remotes?: StoreChanges<RemoteRow, string>;
  readonly cursors?: StoreChanges<CursorRow, CursorKey>;
  readonly deadLetters?: StoreChanges<DeadLetterRow, string>;
  readonly meta?: MetaRow;
  /** Recorded writes (see {@link WriteRow}), committed with the ops they made. */
  readonly writes?: WriteRowChanges;
}

/**
 * A commit broke a unique index: an op whose id (or ordinal) is stored already. Every backend
 * reports it as this error; it is named like IndexedDB's so `classifyError` treats it as the
 * permanent storage error it is.
 */
export class StorageConstraintError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConstraintError';
  }
}

/** Whether a commit failed on a unique index (see {@link StorageConstraintError}). */
export function isConstraintError(error: unknown): error is StorageConstraintError {
  return error instanceof StorageConstraintError;
}

/**
 * A fenced commit was refused: since the writer claimed its epoch, another one claimed a newer
 * one (a tab took over as leader), so this writer's view of the database may be stale and nothing
 * of its batch was written. `classifyError` makes it a non-retryable `conflict`: retrying cannot
 * help, the writer must stop writing.
 */
export class StorageFencedError extends Error {
  /** The epoch the batch named. */
  readonly fence: number;
  /** The epoch the database holds. */
  readonly epoch: number;

  constructor(fence: number, epoch: number, options?: { cause?: unknown }) {
    super(
      `commit refused: this writer holds epoch ${fence}, but the database is at epoch ${epoch} (another writer claimed it); nothing was written`,
      options,
    );
    this.name = 'StorageFencedError';
    this.fence = fence;
    this.epoch = epoch;
  }
}

/** Whether a commit was refused by the fence (see {@link StorageFencedError}). */
export function isFencedError(error: unknown): error is StorageFencedError {
  return error instanceof StorageFencedError;
}

/** Where a reactor keeps its data. Injected so every test and simulated reactor has its own. */
export interface StorageOptions {
  /**
   * A storage backend to use instead of IndexedDB, e.g. `createSqliteStorage({ path })` from
   * `xstate-reactor/sqlite`. When given, the other options are ignored; the reactor closes it on stop.
   */
  readonly backend?: StorageBackend;
  /** Database name; default `xstate-reactor`. */
  readonly dbName?: string;
  /** An `IDBFactory`; default the global `indexedDB`. */
  readonly indexedDB?: IDBFactory;
  /** The matching `IDBKeyRange`; default the global one. */
  readonly IDBKeyRange?: typeof IDBKeyRange;
}
