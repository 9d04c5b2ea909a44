import type { OperationEnvelope, Scope, StreamRef } from './types.js';

/** The position of an op in canonical order: `(timestamp, id)`. */
export interface OrderKey {
  readonly timestamp: string;
  readonly id: string;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Canonical order within a stream: by timestamp, then by id. */
export function compareOrder(a: OrderKey, b: OrderKey): number {
  return compareStrings(a.timestamp, b.timestamp) || compareStrings(a.id, b.id);
}

/** Sorts a copy of `ops` into canonical order. */
export function sortCanonical<T extends OrderKey>(ops: readonly T[]): T[] {
  return [...ops].sort(compareOrder);
}

/** The storage key of a stream (unambiguous for any strings). */
export function streamKey(ref: StreamRef): string {
  return JSON.stringify([ref.documentId, ref.scope, ref.branch]);
}

/** Inverse of {@link streamKey}. */
export function parseStreamKey(key: string): StreamRef {
  const [documentId, scope, branch] = JSON.parse(key) as [string, Scope, string];
  return { documentId, scope, branch };
}

/** The stream an op belongs to. */
export function streamOf(op: Pick<OperationEnvelope, 'documentId' | 'scope' | 'branch'>): StreamRef {
  return { documentId: op.documentId, scope: op.scope, branch: op.branch };
}
