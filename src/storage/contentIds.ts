import { operationId } from '../model/operationId.js';
import type { DeadLetterRow } from '../model/rows.js';
import type { Job, OperationEnvelope } from '../model/types.js';

/**
 * The migration to content-derived op ids (Dexie schema v4, SQLite schema v2). Before it, op ids
 * were random; now an op's id is a hash of its content, and every reactor checks it on receipt.
 * Stored ops get the id their content derives, so two reactors that held the same op under a
 * random id hold it under the same new id after upgrading, and sync on as before: cursors are
 * ordinals and do not change. Keyframes, dead letters and queued load jobs follow their ops.
 * @internal
 */

/** The content id of a stored op, or `undefined` when its content cannot be hashed (a cyclic legacy input). */
export function contentIdOf(op: OperationEnvelope): string | undefined {
  try {
    // operationId reads the content fields only (a row's ordinal, stream and source are not content).
    return operationId(op);
  } catch {
    return undefined;
  }
}

/** An op with its content id (unchanged when that cannot be computed). */
export function withContentId<T extends OperationEnvelope>(op: T): T {
  const id = contentIdOf(op);
  return id === undefined || id === op.id ? op : { ...op, id };
}

/** Queued jobs with their load jobs' ops renamed (mutate jobs hold actions, not ops). */
export function jobsWithContentIds(jobs: readonly Job[]): Job[] {
  return jobs.map((job) => (job.kind === 'load' ? { ...job, operations: job.operations.map(withContentId) } : job));
}

/** A dead letter whose op is renamed; its own id names the op, so it is renamed too. */
export function deadLetterWithContentId(row: DeadLetterRow): DeadLetterRow {
  const operation = withContentId(row.operation);
  if (operation === row.operation) return row;
  return { ...row, id: `${row.direction}:${row.remote}:${operation.id}`, operation };
}

/**
 * Plans the renaming of a log, in ordinal order: the new id of each op whose id changes, and the
 * ordinals of ops that turn out to be copies of an earlier one (same content under two random
 * ids: only possible for ops loaded by hand; the first is kept).
 */
export class ContentIdPlan {
  readonly renamed = new Map<string, string>();
  readonly copies: number[] = [];
  readonly #seen = new Set<string>();

  /** Considers the next op (call in ordinal order); returns its new id, or `null` to drop it as a copy. */
  add(op: OperationEnvelope & { readonly ordinal: number }): string | null {
    const id = contentIdOf(op) ?? op.id;
    if (this.#seen.has(id)) {
      this.copies.push(op.ordinal);
      return null;
    }
    this.#seen.add(id);
    if (id !== op.id) this.renamed.set(op.id, id);
    return id;
  }
}
