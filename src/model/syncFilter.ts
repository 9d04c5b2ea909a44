import type { OperationEnvelope, Scope } from './types.js';
import type { SyncFilter } from './wire.js';

export type { SyncFilter } from './wire.js';

/** Scopes synced when a filter names none: `local` stays local. */
export const DEFAULT_SYNC_SCOPES: readonly Scope[] = ['document', 'global'];

/** True when an op passes a filter. */
export function matchesFilter(
  op: Pick<OperationEnvelope, 'documentId' | 'scope' | 'branch'>,
  filter: SyncFilter | undefined,
): boolean {
  const scopes = filter?.scopes ?? DEFAULT_SYNC_SCOPES;
  if (!scopes.includes(op.scope)) return false;
  // CREATE and DELETE (document scope) hold for every branch, so a branch filter lets them through.
  if (filter?.branch !== undefined && op.scope !== 'document' && op.branch !== filter.branch) return false;
  if (filter?.documentIds !== undefined && !filter.documentIds.includes(op.documentId)) return false;
  return true;
}

/** Whether a filter lets `local`-scope ops through (a remote that asked for them accepts them). */
export function includesLocal(filter: SyncFilter | undefined): boolean {
  return (filter?.scopes ?? DEFAULT_SYNC_SCOPES).includes('local');
}
