import type { ReactorErrorData } from './errors.js';
import type { JobRef } from './jobs.js';
import type { OrderKey } from './order.js';
import type { CursorRow, DeadLetterRow, KeyframeRow, RemoteRow, WriteRow } from './rows.js';
import type { Job, OperationEnvelope, StoredOperation } from './types.js';

/**
 * One logical write sent to the operations store. A group commit applies many of these, in
 * arrival order, as one atomic batch.
 */
export interface StoreWrite {
  readonly writeId: string;
  /** Jobs to persist (one row of the job log). */
  readonly insertJobs?: readonly Job[];
  /** Jobs that finished (succeeded or failed), committed with their ops. */
  readonly completeJobs?: readonly JobRef[];
  readonly operations?: readonly OperationEnvelope[];
  /** Skip ops whose id is already stored (loads). Local ops have fresh ids and skip the lookup. */
  readonly dedupe?: boolean;
  readonly keyframes?: readonly KeyframeRow[];
  /** Drop keyframes of a stream that sort after a key (they no longer hold after a rebase). */
  readonly dropKeyframesAfter?: readonly { readonly stream: string; readonly after: OrderKey }[];
  /** The remote this write's ops came from. */
  readonly source?: string;
  /** Sync cursors to store with the ops (a pull page's cursor commits with its ops). */
  readonly cursors?: readonly CursorRow[];
  readonly deadLetters?: readonly DeadLetterRow[];
  readonly dropDeadLetters?: readonly string[];
  readonly remotes?: readonly RemoteRow[];
  readonly dropRemotes?: readonly string[];
  /** Writes to remember with this one's ops, so a retry of any of them is recognised (by id). */
  readonly recordWrites?: readonly WriteRow[];
  /** Forget recorded writes older than this (their `at`), before this write's own are recorded. */
  readonly pruneWritesBefore?: number;
}

/** What one write achieved. */
export interface WriteResult {
  readonly writeId: string;
  readonly stored: readonly StoredOperation[];
  readonly duplicates: readonly string[];
  /** Set when the write's ops were refused (the job completion still committed). */
  readonly error?: ReactorErrorData;
}
