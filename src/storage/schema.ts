import { Dexie, type EntityTable, type Transaction } from 'dexie';
import type { ReactorErrorData } from '../model/errors.js';
import type { HlcState } from '../model/hlc.js';
import type { SyncCursor, SyncFilter, SyncMode } from '../model/sync.js';
import type { Job, OperationEnvelope, StoredOperation } from '../model/types.js';
import type { StorageBackend } from './backend.js';
import { ContentIdPlan, deadLetterWithContentId, jobsWithContentIds } from './contentIds.js';

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

/** A stored op: the envelope, its arrival ordinal, the key of its stream and the remote it came from. */
export interface OperationRow extends StoredOperation {
  readonly stream: string;
  /** The remote this op was received from, so push never echoes it back there. */
  readonly source?: string;
}

/** A persisted remote: everything but its channel, which the app supplies on each start. */
export interface RemoteRow {
  readonly name: string;
  readonly mode: SyncMode;
  readonly filter?: SyncFilter;
  readonly pullIntervalMs: number;
  readonly debounceMs: number;
  readonly batchSize: number;
}

/** How far sync got with a remote in one direction (an ordinal: ours for push, theirs for pull). */
export type CursorRow = SyncCursor;

/** An op a remote (or this reactor) refused, kept with the reason until retried or discarded. */
export interface DeadLetterRow {
  readonly id: string;
  readonly remote: string;
  /** `push`: the remote refused our op; `pull` / `receive`: we refused the remote's op. */
  readonly direction: 'push' | 'pull' | 'receive';
  readonly operation: OperationEnvelope;
  readonly reason: ReactorErrorData;
  readonly at: number;
}

/** A state snapshot of a stream after the op `(timestamp, id)`: the fold of its first `count` ops. */
export interface KeyframeRow {
  readonly stream: string;
  readonly timestamp: string;
  readonly id: string;
  readonly count: number;
  readonly state: unknown;
}

/** One enqueue batch of the persistent queue. */
export interface JobLogRow {
  readonly id: string;
  readonly jobs: readonly Job[];
}

/** The last completed job sequence number of a queue lane. */
export interface LaneRow {
  readonly lane: string;
  readonly seq: number;
}

/** A stream this reactor has seen. */
export interface StreamRow {
  readonly stream: string;
  readonly documentId: string;
  readonly scope: string;
  readonly branch: string;
}

/** Reactor-wide values: identity, clock and ordinal counter. */
export interface MetaRow {
  readonly key: 'reactor';
  readonly reactorId: string;
  readonly hlc: HlcState;
  /** The last ordinal assigned. */
  readonly ordinal: number;
  /** The last job sequence number assigned. */
  readonly jobSeq: number;
}

/** The Dexie database of one reactor (see `createDexieStorage`). Versions are numbered; never edit an old one. */
export class ReactorDatabase extends Dexie {
  operations!: EntityTable<OperationRow, 'ordinal'>;
  jobLog!: EntityTable<JobLogRow, 'id'>;
  lanes!: EntityTable<LaneRow, 'lane'>;
  keyframes!: Dexie.Table<KeyframeRow, [string, string, string]>;
  streams!: EntityTable<StreamRow, 'stream'>;
  meta!: EntityTable<MetaRow, 'key'>;
  remotes!: EntityTable<RemoteRow, 'name'>;
  cursors!: Dexie.Table<CursorRow, [string, string]>;
  deadLetters!: EntityTable<DeadLetterRow, 'id'>;

  constructor(options: StorageOptions = {}) {
    const dexieOptions: { indexedDB?: IDBFactory; IDBKeyRange?: typeof IDBKeyRange } = {};
    if (options.indexedDB !== undefined) dexieOptions.indexedDB = options.indexedDB;
    if (options.IDBKeyRange !== undefined) dexieOptions.IDBKeyRange = options.IDBKeyRange;
    super(options.dbName ?? 'xstate-reactor', dexieOptions);
    this.version(1).stores({
      operations: 'ordinal, &id, [stream+timestamp+id]',
      jobs: 'id, seq',
      keyframes: '[stream+timestamp+id]',
      streams: 'stream',
      meta: 'key',
    });
    // v2: sync storage.
    this.version(2).stores({
      remotes: 'name',
      cursors: '[remote+direction]',
      deadLetters: 'id, remote',
    });
    // v3: the queue is a log of enqueue batches with a watermark per lane (see JobLog).
    this.version(3).stores({ jobs: null, jobLog: 'id', lanes: 'lane' });
    // v4: op ids derive from content (see contentIds.ts); stored ops, keyframes, dead letters and
    // queued loads are renamed in the upgrade transaction.
    this.version(4)
      .stores({})
      .upgrade((tx) => upgradeToContentIds(tx));
  }
}

async function upgradeToContentIds(tx: Transaction): Promise<void> {
  const plan = new ContentIdPlan();
  await tx
    .table<OperationRow>('operations')
    .toCollection()
    .modify((row, ref) => {
      const id = plan.add(row);
      if (id === null) delete (ref as { value?: unknown }).value;
      else if (id !== row.id) (row as { id: string }).id = id;
    });
  if (plan.renamed.size > 0) {
    const keyframes = tx.table<KeyframeRow, [string, string, string]>('keyframes');
    const stale = (await keyframes.toArray()).filter((row) => plan.renamed.has(row.id));
    await keyframes.bulkDelete(stale.map((row): [string, string, string] => [row.stream, row.timestamp, row.id]));
    await keyframes.bulkPut(stale.map((row) => ({ ...row, id: plan.renamed.get(row.id) as string })));
  }
  const letters = tx.table<DeadLetterRow, string>('deadLetters');
  const rows = await letters.toArray();
  const renamed = rows.map(deadLetterWithContentId);
  await letters.bulkDelete(rows.filter((row, i) => renamed[i] !== row).map((row) => row.id));
  await letters.bulkPut(renamed.filter((row, i) => row !== rows[i]));
  await tx
    .table<JobLogRow>('jobLog')
    .toCollection()
    .modify((row) => {
      (row as { jobs: readonly Job[] }).jobs = jobsWithContentIds(row.jobs);
    });
}
