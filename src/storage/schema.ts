import { Dexie, type EntityTable } from 'dexie';
import type { HlcState } from '../model/hlc.js';
import type { Job, StoredOperation } from '../model/types.js';

/** Where a reactor keeps its data. Injected so every test and simulated reactor has its own. */
export interface StorageOptions {
  /** Database name; default `xstate-reactor`. */
  readonly dbName?: string;
  /** An `IDBFactory`; default the global `indexedDB`. */
  readonly indexedDB?: IDBFactory;
  /** The matching `IDBKeyRange`; default the global one. */
  readonly IDBKeyRange?: typeof IDBKeyRange;
}

/** A stored op: the envelope, its arrival ordinal and the key of its stream. */
export interface OperationRow extends StoredOperation {
  readonly stream: string;
}

/** A state snapshot of a stream after the op `(timestamp, id)`: the fold of its first `count` ops. */
export interface KeyframeRow {
  readonly stream: string;
  readonly timestamp: string;
  readonly id: string;
  readonly count: number;
  readonly state: unknown;
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

/** The Dexie database of one reactor. Versions are numbered; never edit an old one. */
export class ReactorDatabase extends Dexie {
  operations!: EntityTable<OperationRow, 'ordinal'>;
  jobs!: EntityTable<Job, 'id'>;
  keyframes!: Dexie.Table<KeyframeRow, [string, string, string]>;
  streams!: EntityTable<StreamRow, 'stream'>;
  meta!: EntityTable<MetaRow, 'key'>;

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
  }
}
