import { matchesFilter, type SyncFilter } from '../model/sync.js';
import type { OperationEnvelope } from '../model/types.js';
import type { StorageBackend } from './backend.js';

/** Strips storage fields (ordinal, stream, source) from a stored op. */
export function toEnvelope(row: OperationEnvelope): OperationEnvelope {
  return {
    id: row.id,
    documentId: row.documentId,
    scope: row.scope,
    branch: row.branch,
    type: row.type,
    input: row.input,
    timestamp: row.timestamp,
    origin: row.origin,
  };
}

/** Ops past a cursor that match a filter and did not come from a remote in `exclude`. */
export type ScanOperations = (
  cursor: number,
  limit: number,
  filter: SyncFilter | undefined,
  exclude: readonly (string | undefined)[],
) => Promise<ScannedPage>;

/** A page of ops past an ordinal: those that match, and how far the scan got. */
export interface ScannedPage {
  readonly operations: OperationEnvelope[];
  /** Every op with an ordinal up to here was considered. */
  readonly cursor: number;
}

/**
 * Scans ops in arrival order past `cursor`, keeping those that match `filter` and did not come
 * from a remote in `exclude` (the one we would send them to), until `limit` are kept or the log ends. The returned cursor never skips an op
 * that was not considered, so the next scan resumes exactly there.
 */
export async function scanSince(
  storage: StorageBackend,
  cursor: number,
  limit: number,
  filter: SyncFilter | undefined,
  exclude: string | readonly (string | undefined)[] | undefined,
): Promise<ScannedPage> {
  const excluded = new Set(typeof exclude === 'string' ? [exclude] : (exclude ?? []));
  const operations: OperationEnvelope[] = [];
  let position = cursor;
  const chunk = Math.max(64, limit * 2);
  while (operations.length < limit) {
    const rows = await storage.readSince(position, chunk);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (operations.length >= limit) break;
      position = row.ordinal;
      if (row.source !== undefined && excluded.has(row.source)) continue;
      if (matchesFilter(row, filter)) operations.push(toEnvelope(row));
    }
    if (rows.length < chunk) break;
  }
  return { operations, cursor: position };
}
