import type { ReactorErrorData } from './errors.js';
import type { HlcState } from './hlc.js';
import type { SyncCursor, SyncFilter, SyncMode } from './sync.js';
import type { Job, Operation, OperationEnvelope, StoredOperation } from './types.js';

/**
 * The rows a reactor stores: one definition shared by every storage backend, the machines that
 * plan writes and the storage contract.
 */

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

/**
 * The write fence, kept in the `meta` store beside {@link MetaRow}: the epoch of the last writer
 * that claimed the database (`StorageBackend.claimEpoch`). No row means epoch 0. A batch that names
 * an epoch (`WriteBatch.fence`) commits only while this row still holds it.
 */
export interface FenceRow {
  readonly key: 'fence';
  readonly epoch: number;
}

/**
 * A write the reactor has applied, kept for a while under the id its sender gave it, so that a
 * retried write (say, forwarded again to a new leader after the old one died) is recognised and
 * answered with what it did the first time instead of being applied twice.
 */
export interface WriteRow {
  readonly id: string;
  /** When it was applied (ms, the reactor's clock); old rows are pruned by it. */
  readonly at: number;
  /** The ops the write made or loaded, with their `index`, as its caller got them. */
  readonly operations: readonly Operation[];
}
