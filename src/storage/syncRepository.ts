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

/**
 * Which ops a scan leaves out because the one it serves has them already: those that came from
 * one of `sources`, and, when `origin` is set, were also made by it. The serving side of a pull
 * sets `origin` to the requester, so that a peer claiming another's name cannot hide that
 * other's ops from it without also forging their origin.
 */
export interface EchoFilter {
  readonly sources: readonly string[];
  readonly origin?: string;
}

/** Whether an op with this source and origin is an echo (see {@link EchoFilter}). */
export function isEcho(echo: EchoFilter, source: string | undefined, origin: string): boolean {
  if (source === undefined || !echo.sources.includes(source)) return false;
  return echo.origin === undefined || echo.origin === origin;
}

/** Ops past a cursor that match a filter and are not echoes. */
export type ScanOperations = (
  cursor: number,
  limit: number,
  filter: SyncFilter | undefined,
  echo: EchoFilter,
) => Promise<ScannedPage>;

/** A page of ops past an ordinal: those that match, and how far the scan got. */
export interface ScannedPage {
  readonly operations: OperationEnvelope[];
  /** Every op with an ordinal up to here was considered. */
  readonly cursor: number;
}

/**
 * Scans ops in arrival order past `cursor`, keeping those that match `filter` and are not echoes
 * (ops the one we serve has already), until `limit` are kept or the log ends. The returned cursor
 * never skips an op that was not considered, so the next scan resumes exactly there.
 */
export async function scanSince(
  storage: StorageBackend,
  cursor: number,
  limit: number,
  filter: SyncFilter | undefined,
  echo: EchoFilter = { sources: [] },
): Promise<ScannedPage> {
  const operations: OperationEnvelope[] = [];
  let position = cursor;
  const chunk = Math.max(64, limit * 2);
  while (operations.length < limit) {
    const rows = await storage.readSince(position, chunk);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (operations.length >= limit) break;
      position = row.ordinal;
      if (isEcho(echo, row.source, row.origin)) continue;
      if (matchesFilter(row, filter)) operations.push(toEnvelope(row));
    }
    if (rows.length < chunk) break;
  }
  return { operations, cursor: position };
}
