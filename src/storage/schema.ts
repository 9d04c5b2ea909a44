import { Dexie, type EntityTable, type Transaction } from 'dexie';
import type {
  CursorRow,
  DeadLetterRow,
  FenceRow,
  JobLogRow,
  KeyframeRow,
  LaneRow,
  MetaRow,
  OperationRow,
  RemoteRow,
  StreamRow,
  WriteRow,
} from '../model/rows.js';
import type { Job } from '../model/types.js';
import type { StorageOptions } from './backend.js';

export type { StorageOptions } from './backend.js';

import { ContentIdPlan, deadLetterWithContentId, jobsWithContentIds } from './contentIds.js';

/** The Dexie database of one reactor (see `createDexieStorage`). Versions are numbered; never edit an old one. */
export class ReactorDatabase extends Dexie {
  operations!: EntityTable<OperationRow, 'ordinal'>;
  jobLog!: EntityTable<JobLogRow, 'id'>;
  lanes!: EntityTable<LaneRow, 'lane'>;
  keyframes!: Dexie.Table<KeyframeRow, [string, string, string]>;
  streams!: EntityTable<StreamRow, 'stream'>;
  /** The reactor's {@link MetaRow} (key `reactor`) and the write fence (key `fence`). */
  meta!: Dexie.Table<MetaRow | FenceRow, (MetaRow | FenceRow)['key']>;
  remotes!: EntityTable<RemoteRow, 'name'>;
  cursors!: Dexie.Table<CursorRow, [string, string]>;
  deadLetters!: EntityTable<DeadLetterRow, 'id'>;
  writes!: EntityTable<WriteRow, 'id'>;

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
    // v5: recorded writes, so a retried forwarded write is applied once (the fence row needs no
    // schema: it lives in `meta`).
    this.version(5).stores({ writes: 'id, at' });
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
