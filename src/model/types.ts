import type { ReactorErrorData } from './errors.js';
import type { SyncCursor } from './sync.js';
import type { OperationEnvelope, RejectedOperation } from './wire.js';

export type { OperationEnvelope } from './wire.js';

/** Scopes of a document's streams. `document` holds CREATE/DELETE; `local` is never synced by default. */
export const SCOPES = ['document', 'global', 'local'] as const;
/** One of {@link SCOPES}. */
export type Scope = (typeof SCOPES)[number];

/** The branch every stream is on unless told otherwise. */
export const DEFAULT_BRANCH = 'main';

/** Operation types of the `document` scope. */
export const CREATE_DOCUMENT = 'CREATE_DOCUMENT';
/** Marks a document deleted: later ops in canonical order change nothing. */
export const DELETE_DOCUMENT = 'DELETE_DOCUMENT';

/** What the app submits: a reducer name, its input, and the scope (default `global`). */
export interface Action {
  readonly type: string;
  readonly input?: unknown;
  readonly scope?: 'global' | 'local';
}

/**
 * An action once accepted into a stream. `id`, `timestamp` and `origin` are made once at the
 * origin reactor and never change; `index` is the position in canonical order on this reactor.
 * What travels between reactors is the {@link OperationEnvelope} (its schema: `operation` in the
 * wire module).
 */
export interface Operation extends OperationEnvelope {
  readonly index: number;
  /** Set when the reducer threw at this op's position: the op is kept and changes nothing. */
  readonly error?: string;
}

/** An envelope once stored here, with the arrival ordinal of this reactor. */
export interface StoredOperation extends OperationEnvelope {
  readonly ordinal: number;
}

/** Payload of a CREATE_DOCUMENT operation. */
export interface CreateDocumentInput {
  readonly model: string;
}

/** A document's materialised state on one branch. */
export interface DocumentSnapshot<TState = unknown> {
  readonly id: string;
  readonly type: string;
  readonly branch: string;
  /** State of the `global` scope. */
  readonly state: TState;
  /** State of the `local` scope (never synced by default). */
  readonly localState: TState;
  /** Number of operations in the `global` stream. */
  readonly revision: number;
  /** Stable hash of `state`: equal states hash equally on every reactor. */
  readonly hash: string;
  readonly deleted: boolean;
}

/** The key of one stream. */
export interface StreamRef {
  readonly documentId: string;
  readonly scope: Scope;
  readonly branch: string;
}

/** A job in the queue: local actions to turn into operations, or operations from elsewhere. */
export type Job = MutateJob | LoadJob;

/** Local actions on one document. */
export interface MutateJob {
  readonly kind: 'mutate';
  readonly id: string;
  readonly seq: number;
  readonly documentId: string;
  readonly branch: string;
  readonly actions: readonly Action[];
  /** Set for createDocument: the model type of the CREATE_DOCUMENT op. */
  readonly create?: string;
  /** Set for deleteDocument. */
  readonly delete?: true;
  /** Made in another tab: its id is a write id, recorded with its ops so a retry finds them. */
  readonly record?: true;
}

/** Operations that come from elsewhere, already carrying id, timestamp and origin. */
export interface LoadJob {
  readonly kind: 'load';
  readonly id: string;
  readonly seq: number;
  readonly documentId: string;
  readonly operations: readonly OperationEnvelope[];
  /** The remote the operations came from, if any. */
  readonly source?: string;
  /** Queue lane when not the document (a pull page spans documents and keeps its order). */
  readonly lane?: string;
  /** A sync cursor to commit in the same transaction as the ops. */
  readonly cursor?: SyncCursor;
  /** Where refused ops are filed: `pull` (we fetched them) or `receive` (they were pushed to us). */
  readonly direction?: 'pull' | 'receive';
  /** Dead letters this job retries: dropped when it commits (refiled if refused again). */
  readonly retrying?: readonly string[];
  /** Made in another tab: its id is a write id, recorded with its ops so a retry finds them. */
  readonly record?: true;
  /** Ops refused before the job was made (malformed, forged id, outside the filter): filed as dead letters with it. */
  readonly refused?: readonly { readonly operation: OperationEnvelope; readonly reason: ReactorErrorData }[];
}

/** The outcome of one job, as published on the event bus. */
export type JobOutcome =
  | {
      readonly jobId: string;
      readonly ok: true;
      /** Operations a mutate job made (empty for loads). */
      readonly operations: readonly Operation[];
      /** Operations newly stored. */
      readonly stored: number;
      /** Operations skipped because their id was already stored. */
      readonly duplicates: number;
      /** Operations refused (unknown model or action): filed as dead letters, not stored. */
      readonly rejected: readonly RejectedOperation[];
    }
  | { readonly jobId: string; readonly ok: false; readonly error: ReactorErrorData };
