import { Dexie } from 'dexie';
import { ReactorError, type ReactorErrorData } from '../model/errors.js';
import { canonicalJson } from '../model/hash.js';
import type { HlcState } from '../model/hlc.js';
import type { JobRef } from '../model/jobs.js';
import { compareOrder, type OrderKey, streamKey } from '../model/order.js';
import type { Job, OperationEnvelope, StoredOperation } from '../model/types.js';
import type { JobLog } from './jobLog.js';
import type {
  CursorRow,
  DeadLetterRow,
  KeyframeRow,
  MetaRow,
  OperationRow,
  ReactorDatabase,
  RemoteRow,
} from './schema.js';

/**
 * One logical write sent to the operations store. A group commit applies many of these, in
 * arrival order, in one transaction.
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
}

/** What one write achieved. */
export interface WriteResult {
  readonly writeId: string;
  readonly stored: readonly StoredOperation[];
  readonly duplicates: readonly string[];
  /** Set when the write's ops were refused (the job completion still committed). */
  readonly error?: ReactorErrorData;
}

/** Counters that a commit advances; they move in memory only after the transaction commits. */
export interface CommitCounters {
  ordinal: number;
  jobSeq: number;
  readonly knownStreams: Set<string>;
  readonly jobLog: JobLog;
  /** The last op (canonical order) of each stream, as far as known: lets loads skip id lookups. */
  readonly tails: Map<string, OrderKey | null>;
  /** The reactor's meta row as last written (kept in memory so a commit need not read it). */
  meta: MetaRow;
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
 * Commits a group of writes in one transaction: job rows, operations (with ordinals), keyframes,
 * the stream list and the reactor's counters. A job inserted and completed within the same group
 * never touches the jobs table.
 */
export async function commitGroup(
  db: ReactorDatabase,
  writes: readonly StoreWrite[],
  counters: CommitCounters,
  hlc: () => HlcState,
  thorough = false,
): Promise<WriteResult[]> {
  try {
    return await commitOnce(db, writes, counters, hlc, thorough);
  } catch (error) {
    // A reused id that sorts after its stream's tail skips the lookup and trips the unique index:
    // run the group again, looking every incoming id up, so it is reported as the protocol error it is.
    if (!thorough && isConstraintError(error) && writes.some((write) => write.dedupe === true)) {
      return commitOnce(db, writes, counters, hlc, true);
    }
    throw error;
  }
}

/** A unique-index violation, as IndexedDB or Dexie (a bulk write's `BulkError`) reports it. */
function isConstraintError(error: unknown): boolean {
  const e = error as { name?: string; inner?: { name?: string }; failures?: readonly { name?: string }[] };
  return (
    e?.name === 'ConstraintError' ||
    e?.inner?.name === 'ConstraintError' ||
    (e?.name === 'BulkError' && (e.failures ?? []).some((failure) => failure?.name === 'ConstraintError'))
  );
}

/**
 * Which incoming ids of the group's loads are stored already. An op that sorts after the last op
 * stored in its stream cannot be (a stored copy has the same timestamp and id), so only the others
 * are looked up — one index read each. With `thorough`, every id is looked up.
 */
async function findStored(
  db: ReactorDatabase,
  writes: readonly StoreWrite[],
  counters: CommitCounters,
  thorough: boolean,
): Promise<Map<string, OperationEnvelope>> {
  const existing = new Map<string, OperationEnvelope>();
  const lookups: string[] = [];
  const tails = new Map<string, OrderKey | null>();
  for (const write of writes) {
    if (write.dedupe !== true) continue;
    for (const op of write.operations ?? []) {
      if (!thorough) {
        const stream = streamKey(op);
        let tail = tails.get(stream);
        if (tail === undefined) {
          tail = await streamTail(db, counters, stream);
          tails.set(stream, tail);
        }
        if (tail === null || compareOrder(op, tail) > 0) continue;
      }
      lookups.push(op.id);
    }
  }
  const found = await Promise.all(lookups.map((id) => db.operations.where('id').equals(id).first()));
  for (const row of found) if (row !== undefined) existing.set(row.id, row);
  return existing;
}

/** The last op of a stream in canonical order (cached; the store is the only writer). */
async function streamTail(db: ReactorDatabase, counters: CommitCounters, stream: string): Promise<OrderKey | null> {
  const cached = counters.tails.get(stream);
  if (cached !== undefined) return cached;
  const last = await db.operations
    .where('[stream+timestamp+id]')
    .between([stream, Dexie.minKey, Dexie.minKey], [stream, Dexie.maxKey, Dexie.maxKey])
    .last();
  const tail = last === undefined ? null : { timestamp: last.timestamp, id: last.id };
  counters.tails.set(stream, tail);
  return tail;
}

async function commitOnce(
  db: ReactorDatabase,
  writes: readonly StoreWrite[],
  counters: CommitCounters,
  hlc: () => HlcState,
  thorough: boolean,
): Promise<WriteResult[]> {
  const tables = [
    db.operations,
    db.jobLog,
    db.lanes,
    db.keyframes,
    db.streams,
    db.meta,
    db.remotes,
    db.cursors,
    db.deadLetters,
  ];
  const outcome = await db.transaction('rw', tables, async () => {
    let ordinal = counters.ordinal;
    let jobSeq = counters.jobSeq;
    const newStreams: string[] = [];
    const rows: OperationRow[] = [];
    const results: WriteResult[] = [];

    const existing = await findStored(db, writes, counters, thorough);

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
            if (!counters.knownStreams.has(lastKey) && !newStreams.includes(lastKey)) newStreams.push(lastKey);
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

    const jobPlan = counters.jobLog.plan(
      writes.flatMap((write) => (write.insertJobs === undefined ? [] : [write.insertJobs])),
      writes.flatMap((write) => write.completeJobs ?? []),
    );
    jobSeq = Math.max(jobSeq, jobPlan.maxSeq);
    await counters.jobLog.write(db, jobPlan);
    if (rows.length > 0) await db.operations.bulkAdd(rows);
    for (const write of writes) {
      for (const drop of write.dropKeyframesAfter ?? []) {
        await db.keyframes
          .where('[stream+timestamp+id]')
          .between(
            [drop.stream, drop.after.timestamp, drop.after.id],
            [drop.stream, Dexie.maxKey, Dexie.maxKey],
            false,
            true,
          )
          .delete();
      }
      if (write.keyframes !== undefined && write.keyframes.length > 0) await db.keyframes.bulkPut([...write.keyframes]);
    }
    const cursors = new Map<string, CursorRow>();
    for (const write of writes) {
      for (const cursor of write.cursors ?? []) cursors.set(`${cursor.remote}\u0000${cursor.direction}`, cursor);
      if (write.remotes !== undefined && write.remotes.length > 0) await db.remotes.bulkPut([...write.remotes]);
      if (write.dropRemotes !== undefined && write.dropRemotes.length > 0) {
        await db.remotes.bulkDelete([...write.dropRemotes]);
        await db.cursors.bulkDelete(
          write.dropRemotes.flatMap((name): [string, string][] => [
            [name, 'push'],
            [name, 'pull'],
          ]),
        );
      }
      if (write.dropDeadLetters !== undefined && write.dropDeadLetters.length > 0) {
        await db.deadLetters.bulkDelete([...write.dropDeadLetters]);
      }
      if (write.deadLetters !== undefined && write.deadLetters.length > 0)
        await db.deadLetters.bulkPut([...write.deadLetters]);
    }
    if (cursors.size > 0) await db.cursors.bulkPut([...cursors.values()]);
    if (newStreams.length > 0) {
      await db.streams.bulkPut(
        newStreams.map((stream) => {
          const [documentId, scope, branch] = JSON.parse(stream) as [string, string, string];
          return { stream, documentId, scope, branch };
        }),
      );
    }
    const meta: MetaRow = { ...counters.meta, hlc: hlc(), ordinal, jobSeq };
    await db.meta.put(meta);
    return { results, ordinal, jobSeq, newStreams, jobPlan, meta, rows };
  });
  counters.jobLog.apply(outcome.jobPlan);
  for (const row of outcome.rows) {
    const tail = counters.tails.get(row.stream);
    if (tail !== undefined && (tail === null || compareOrder(row, tail) > 0)) {
      counters.tails.set(row.stream, { timestamp: row.timestamp, id: row.id });
    }
  }
  counters.meta = outcome.meta;
  counters.ordinal = outcome.ordinal;
  counters.jobSeq = outcome.jobSeq;
  for (const stream of outcome.newStreams) counters.knownStreams.add(stream);
  return outcome.results;
}

/** Ops of a stream in canonical order, optionally strictly after a key. */
export async function readStream(db: ReactorDatabase, stream: string, after?: OrderKey): Promise<OperationRow[]> {
  const lower = after === undefined ? [stream, Dexie.minKey, Dexie.minKey] : [stream, after.timestamp, after.id];
  return db.operations
    .where('[stream+timestamp+id]')
    .between(lower, [stream, Dexie.maxKey, Dexie.maxKey], after === undefined, true)
    .toArray();
}

/** The latest keyframe of a stream strictly before `before` (or the latest of all). */
export async function nearestKeyframe(
  db: ReactorDatabase,
  stream: string,
  before?: OrderKey,
): Promise<KeyframeRow | undefined> {
  const upper = before === undefined ? [stream, Dexie.maxKey, Dexie.maxKey] : [stream, before.timestamp, before.id];
  return db.keyframes
    .where('[stream+timestamp+id]')
    .between([stream, Dexie.minKey, Dexie.minKey], upper, true, before === undefined)
    .last();
}

/** Stored ops with an ordinal greater than `ordinal`, in arrival order. */
export async function readSince(db: ReactorDatabase, ordinal: number, limit: number): Promise<OperationRow[]> {
  return db.operations.where('ordinal').above(ordinal).limit(limit).toArray();
}

/** How many ops a stream holds. */
export async function countStream(db: ReactorDatabase, stream: string): Promise<number> {
  return db.operations
    .where('[stream+timestamp+id]')
    .between([stream, Dexie.minKey, Dexie.minKey], [stream, Dexie.maxKey, Dexie.maxKey])
    .count();
}
