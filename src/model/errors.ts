import type { ReactorErrorData } from './wire.js';

/** The kinds of failure a reactor reports; `classifyError` maps anything thrown onto one. */
export const ERROR_KINDS = [
  'validation',
  'unknown-model',
  'not-found',
  'conflict',
  'storage',
  'network',
  'timeout',
  'auth',
  'protocol',
  'stopped',
  'clock-drift',
  'internal',
] as const;

/** One of {@link ERROR_KINDS}. */
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Serialisable form of a {@link ReactorError}: its schema is `errorData` in the wire module. */
export type { ReactorErrorData } from './wire.js';

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorKind> = new Set(['storage', 'network', 'timeout', 'clock-drift']);

/** The single error class of xstate-reactor: every rejection a user sees is one of these. */
export class ReactorError extends Error {
  readonly kind: ErrorKind;
  readonly retryable: boolean;

  constructor(kind: ErrorKind, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReactorError';
    this.kind = kind;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(kind);
  }

  /** Plain data for events and context. */
  toData(): ReactorErrorData {
    return { kind: this.kind, message: this.message, retryable: this.retryable };
  }

  /** Rebuilds an error from its plain data form. */
  static fromData(data: ReactorErrorData): ReactorError {
    return new ReactorError(data.kind, data.message, { retryable: data.retryable });
  }
}

const TRANSIENT_DOM_ERRORS = new Set([
  'AbortError',
  'TimeoutError',
  'UnknownError',
  'QuotaExceededError',
  'TransactionInactiveError',
  'DatabaseClosedError',
]);
const PERMANENT_DOM_ERRORS = new Set([
  'ConstraintError',
  'DataError',
  'DataCloneError',
  'InvalidStateError',
  'NotFoundError',
  'SchemaError',
  'VersionError',
]);

/** The name of a commit refused by the write fence (`StorageFencedError` in storage/backend.ts). */
const FENCED_ERROR = 'StorageFencedError';

function errorName(error: object): string | undefined {
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/** Whether a storage error of this name is worth retrying; `undefined` when the name is not a storage error. */
function retryableByName(name: string | undefined): boolean | undefined {
  if (name === undefined) return undefined;
  if (TRANSIENT_DOM_ERRORS.has(name)) return true;
  if (PERMANENT_DOM_ERRORS.has(name)) return false;
  return undefined;
}

/** Where an error came from, when that changes what an unknown error means. */
export interface ClassifyContext {
  /**
   * `channel`: thrown by a transport. An error the classifier does not know (a `TypeError: fetch
   * failed`, a socket reset) is then a retryable `network` error, not an `internal` one.
   */
  readonly origin?: 'channel';
  /** What was being done, for the message of an error that is not a ReactorError yet. */
  readonly what?: string;
}

/**
 * Turns anything thrown into a {@link ReactorError}. This is the one place that decides what is
 * retryable: storage errors that a later attempt may not hit (aborts, time-outs, quota) are; a
 * constraint or data error is not; a commit refused by the write fence is a `conflict` that no
 * retry fixes (a newer leader owns the database); an unknown error from a channel is a retryable
 * network error; any other unknown error is a non-retryable `internal` one.
 */
export function classifyError(error: unknown, context: ClassifyContext = {}): ReactorError {
  if (error instanceof ReactorError) return error;
  const prefix = context.what === undefined ? '' : `${context.what} failed: `;
  const text =
    typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string'
      ? ((error as { message: string }).message as string)
      : String(error);
  if (typeof error === 'object' && error !== null) {
    const name = errorName(error);
    if (name === FENCED_ERROR) {
      return new ReactorError(
        'conflict',
        `${prefix}the database was taken over by a newer leader; this one can no longer write (${text})`,
        { retryable: false, cause: error },
      );
    }
    if (name !== undefined) {
      // Dexie's BulkError carries the per-item failures instead of an inner error.
      const failures = (error as { failures?: unknown }).failures;
      const firstFailure = Array.isArray(failures) ? (failures[0] as unknown) : undefined;
      const inner = (error as { inner?: unknown }).inner ?? firstFailure;
      const innerName = typeof inner === 'object' && inner !== null ? errorName(inner) : undefined;
      // Dexie wraps the cause (an AbortError around a ConstraintError): the cause decides when known.
      const byInner = retryableByName(innerName);
      const retryable = byInner ?? retryableByName(name);
      const effective = byInner === undefined ? name : (innerName as string);
      if (retryable !== undefined && context.origin !== 'channel') {
        return new ReactorError(
          'storage',
          retryable
            ? `${prefix}storage failed (${effective}): ${text}`
            : `${prefix}storage rejected the write (${effective}): ${text}`,
          { retryable, cause: error },
        );
      }
    }
  }
  if (context.origin === 'channel') {
    return new ReactorError('network', `${prefix}${text}`, { retryable: true, cause: error });
  }
  return new ReactorError('internal', `${prefix}${text}`, { retryable: false, cause: error });
}
