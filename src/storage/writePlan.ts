import { ReactorError, type ReactorErrorData } from '../model/errors.js';
import { canonicalJson } from '../model/hash.js';
import { compareOrder, streamKey } from '../model/order.js';
import type {
  CursorRow,
  DeadLetterRow,
  KeyframeRow,
  OperationRow,
  RemoteRow,
  StreamRow,
  WriteRow,
} from '../model/rows.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';
import type { OperationEnvelope, StoredOperation } from '../model/types.js';
import type { CursorKey, KeyframeDrop, WriteBatch } from './backend.js';

/**
 * The pure part of a group commit: which ops a group stores (ordinals, duplicates, refusals) and
 * the net effect of its other changes. Every backend gets the same plan as one atomic batch.
 */

/** The ops part of a group commit. */
export interface OperationsPlan {
  readonly results: WriteResult[];
  readonly rows: OperationRow[];
  /** Streams first seen in this group. */
  readonly newStreams: string[];
  /** The last ordinal assigned. */
  readonly ordinal: number;
}

function sameContent(a: OperationEnvelope, b: OperationEnvelope): boolean {
  return (
    a.documentId === b.documentId &&
    a.scope === b.scope &&
    a.branch === b.branch &&
    a.type === b.type &&
    a.timestamp === b.timestamp &&
    a.origin === b.origin &&
    canonicalJson(a.input) === canonicalJson(b.input)
  );
}

/**
 * Assigns ordinals to the group's ops in arrival order. Loads (`dedupe`) skip ops in `existing`
 * (ids already stored) or earlier in the group, and a load that reuses a stored id with other
 * contents is refused whole as a `protocol` error. `existing` is updated with the group's ops.
 */
export function planOperations(
  writes: readonly StoreWrite[],
  existing: Map<string, OperationEnvelope>,
  ordinal: number,
  knownStreams: ReadonlySet<string>,
): OperationsPlan {
  const newStreams: string[] = [];
  const rows: OperationRow[] = [];
  const results: WriteResult[] = [];
  let lastOp: OperationEnvelope | undefined;
  let lastKey = '';
  for (const write of writes) {
    const ops = write.operations ?? [];
    const stored: StoredOperation[] = [];
    const duplicates: string[] = [];
    let error: ReactorErrorData | undefined;
    if (write.dedupe === true) {
      const conflict = ops.find((op) => {
        const prior = existing.get(op.id);
        return prior !== undefined && !sameContent(prior, op);
      });
      if (conflict !== undefined) {
        error = new ReactorError(
          'protocol',
          `operation ${JSON.stringify(conflict.id)} is already stored with different contents; an op id must never be reused`,
        ).toData();
      }
    }
    if (error === undefined) {
      for (const op of ops) {
        if (write.dedupe === true) {
          if (existing.has(op.id)) {
            duplicates.push(op.id);
            continue;
          }
          existing.set(op.id, op);
        }
        ordinal += 1;
        // Consecutive ops mostly share a stream: reuse its key instead of re-encoding it.
        if (op.documentId !== lastOp?.documentId || op.scope !== lastOp.scope || op.branch !== lastOp.branch) {
          lastKey = streamKey(op);
          if (!knownStreams.has(lastKey) && !newStreams.includes(lastKey)) newStreams.push(lastKey);
        }
        lastOp = op;
        // One object serves as the stored row and as the published op (extra fields are harmless).
        const row: OperationRow = {
          id: op.id,
          documentId: op.documentId,
          scope: op.scope,
          branch: op.branch,
          type: op.type,
          input: op.input,
          timestamp: op.timestamp,
          origin: op.origin,
          ordinal,
          stream: lastKey,
          ...(write.source === undefined ? {} : { source: write.source }),
        };
        stored.push(row);
        rows.push(row);
      }
    }
    results.push(
      error === undefined
        ? { writeId: write.writeId, stored, duplicates }
        : { writeId: write.writeId, stored, duplicates, error },
    );
  }
  return { results, rows, newStreams, ordinal };
}

/** Rows of the stream list for stream keys. */
export function streamRows(streams: readonly string[]): StreamRow[] {
  return streams.map((stream) => {
    const [documentId, scope, branch] = JSON.parse(stream) as [string, string, string];
    return { stream, documentId, scope, branch };
  });
}

/**
 * The net effect of the group's keyframe, remote, cursor, dead-letter and recorded-write changes,
 * in the batch's "deletes before puts" form. Writes apply in arrival order: a keyframe drop also
 * drops keyframes that earlier writes of the group put, a dropped remote loses its cursors (the
 * group's cursor updates still land, as they always have), for remotes, dead letters and recorded
 * writes the last change of a key wins, and a prune also forgets older writes that earlier writes
 * of the group recorded. Prunes add up: the batch deletes below the highest (with prunes from one
 * clock, the latest), as applying the writes one by one would.
 */
export function planSideChanges(
  writes: readonly StoreWrite[],
): Pick<WriteBatch, 'keyframes' | 'remotes' | 'cursors' | 'deadLetters' | 'writes'> {
  const drops: KeyframeDrop[] = [];
  let keyframes: KeyframeRow[] = [];
  const remotes = new Map<string, RemoteRow | null>();
  const cursors = new Map<string, CursorRow>();
  const cursorDrops: CursorKey[] = [];
  const letters = new Map<string, DeadLetterRow | null>();
  const recorded = new Map<string, WriteRow>();
  let pruneBefore: number | undefined;
  for (const write of writes) {
    for (const drop of write.dropKeyframesAfter ?? []) {
      drops.push(drop);
      keyframes = keyframes.filter((row) => row.stream !== drop.stream || compareOrder(row, drop.after) <= 0);
    }
    if (write.keyframes !== undefined) keyframes.push(...write.keyframes);
    for (const row of write.remotes ?? []) remotes.set(row.name, row);
    for (const name of write.dropRemotes ?? []) {
      remotes.set(name, null);
      cursorDrops.push({ remote: name, direction: 'push' }, { remote: name, direction: 'pull' });
    }
    for (const row of write.cursors ?? []) cursors.set(`${row.remote}\u0000${row.direction}`, row);
    for (const id of write.dropDeadLetters ?? []) letters.set(id, null);
    for (const row of write.deadLetters ?? []) letters.set(row.id, row);
    const prune = write.pruneWritesBefore;
    if (prune !== undefined) {
      pruneBefore = pruneBefore === undefined ? prune : Math.max(pruneBefore, prune);
      for (const [id, row] of recorded) if (row.at < prune) recorded.delete(id);
    }
    for (const row of write.recordWrites ?? []) recorded.set(row.id, row);
  }
  const put = [...recorded.values()];
  return {
    keyframes: { drop: drops, put: keyframes },
    remotes: split(remotes),
    cursors: { delete: cursorDrops, put: [...cursors.values()] },
    deadLetters: split(letters),
    writes: pruneBefore === undefined ? { put } : { put, deleteBefore: pruneBefore },
  };
}

function split<Row>(changes: Map<string, Row | null>): { put: Row[]; delete: string[] } {
  const put: Row[] = [];
  const deleted: string[] = [];
  for (const [key, row] of changes) {
    if (row === null) deleted.push(key);
    else put.push(row);
  }
  return { put, delete: deleted };
}
