import type { HlcState } from '../model/hlc.js';
import { compareOrder, type OrderKey, streamKey } from '../model/order.js';
import type { MetaRow, StreamRow } from '../model/rows.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';
import type { OperationEnvelope } from '../model/types.js';
import { isConstraintError, type StorageBackend } from './backend.js';
import type { JobLog, JobLogPlan } from './jobLog.js';
import { planOperations, planSideChanges, streamRows } from './writePlan.js';

/** Counters that a commit advances; they move in memory only after the batch commits. */
export interface CommitCounters {
  ordinal: number;
  jobSeq: number;
  readonly knownStreams: Set<string>;
  readonly jobLog: JobLog;
  /** The last op (canonical order) of each stream, as far as known: lets loads skip id lookups. */
  readonly tails: Map<string, OrderKey | null>;
  /** The reactor's meta row as last written (kept in memory so a commit need not read it). */
  meta: MetaRow;
  /**
   * The writer's epoch (`StorageBackend.claimEpoch`), when other writers may take the database
   * over (tabs): every batch carries it, so once another claimed a newer epoch this writer's
   * commits fail with `StorageFencedError` instead of landing counters that are no longer current.
   */
  fence?: number;
}

/**
 * Commits a group of writes as one atomic batch: job log rows, operations (with ordinals),
 * keyframes, sync rows, recorded writes, the stream list and the reactor's counters, fenced with
 * `counters.fence` when set. A job inserted and completed within the same group never touches the
 * job log.
 */
export async function commitGroup(
  storage: StorageBackend,
  writes: readonly StoreWrite[],
  counters: CommitCounters,
  hlc: () => HlcState,
  thorough = false,
): Promise<WriteResult[]> {
  try {
    return await commitOnce(storage, writes, counters, hlc, thorough);
  } catch (error) {
    // A reused id that sorts after its stream's tail skips the lookup and trips the unique index:
    // run the group again, looking every incoming id up, so it is reported as the protocol error it is.
    if (!thorough && isConstraintError(error) && writes.some((write) => write.dedupe === true)) {
      return commitOnce(storage, writes, counters, hlc, true);
    }
    throw error;
  }
}

/**
 * Which incoming ids of the group's loads are stored already. An op that sorts after the last op
 * stored in its stream cannot be (a stored copy has the same timestamp and id), so only the others
 * are looked up. With `thorough`, every id is looked up.
 */
async function findStored(
  storage: StorageBackend,
  writes: readonly StoreWrite[],
  counters: CommitCounters,
  thorough: boolean,
): Promise<Map<string, OperationEnvelope>> {
  const existing = new Map<string, OperationEnvelope>();
  const incoming: OperationEnvelope[] = [];
  for (const write of writes) {
    if (write.dedupe === true) for (const op of write.operations ?? []) incoming.push(op);
  }
  if (incoming.length === 0) return existing;
  let lookups: string[];
  if (thorough) {
    lookups = incoming.map((op) => op.id);
  } else {
    // Consecutive ops mostly share a stream: reuse its key instead of re-encoding it.
    const streams: string[] = [];
    let last: OperationEnvelope | undefined;
    for (const op of incoming) {
      const same =
        last !== undefined && op.documentId === last.documentId && op.scope === last.scope && op.branch === last.branch;
      streams.push(same ? (streams[streams.length - 1] as string) : streamKey(op));
      last = op;
    }
    const unknown = [...new Set(streams)].filter((stream) => !counters.tails.has(stream));
    await Promise.all(unknown.map((stream) => loadTail(storage, counters, stream)));
    lookups = [];
    incoming.forEach((op, i) => {
      const tail = counters.tails.get(streams[i] as string) ?? null;
      if (tail !== null && compareOrder(op, tail) <= 0) lookups.push(op.id);
    });
  }
  for (const row of await storage.findOperations(lookups)) existing.set(row.id, row);
  return existing;
}

/** Caches the last op of a stream in canonical order (the store is the only writer). */
async function loadTail(storage: StorageBackend, counters: CommitCounters, stream: string): Promise<void> {
  const tail = await storage.streamTail(stream);
  counters.tails.set(stream, tail === undefined ? null : { timestamp: tail.timestamp, id: tail.id });
}

async function commitOnce(
  storage: StorageBackend,
  writes: readonly StoreWrite[],
  counters: CommitCounters,
  hlc: () => HlcState,
  thorough: boolean,
): Promise<WriteResult[]> {
  // The operations store is the only writer and commits one group at a time, so nothing can change
  // between these lookups and the batch below: reading first and then writing one atomic batch is
  // as good as doing both in one transaction, and lets every backend offer a plain atomic write.
  // Where another writer may take over (tabs), the fence makes that hold: the batch commits only
  // if no one claimed the database since this writer did, before it read anything.
  const existing = await findStored(storage, writes, counters, thorough);
  const ops = planOperations(writes, existing, counters.ordinal, counters.knownStreams);
  const jobPlan: JobLogPlan = counters.jobLog.plan(
    writes.flatMap((write) => (write.insertJobs === undefined ? [] : [write.insertJobs])),
    writes.flatMap((write) => write.completeJobs ?? []),
  );
  const jobSeq = Math.max(counters.jobSeq, jobPlan.maxSeq);
  const meta: MetaRow = { ...counters.meta, hlc: hlc(), ordinal: ops.ordinal, jobSeq };
  const streams: StreamRow[] = streamRows(ops.newStreams);
  await storage.commit({
    operations: ops.rows,
    jobLog: { put: jobPlan.putRows, delete: jobPlan.deleteRows },
    lanes: jobPlan.lanes,
    ...planSideChanges(writes),
    streams,
    meta,
    ...(counters.fence === undefined ? {} : { fence: counters.fence }),
  });
  // In memory, nothing moves before the batch is committed.
  counters.jobLog.apply(jobPlan);
  for (const row of ops.rows) {
    const tail = counters.tails.get(row.stream);
    if (tail !== undefined && (tail === null || compareOrder(row, tail) > 0)) {
      counters.tails.set(row.stream, { timestamp: row.timestamp, id: row.id });
    }
  }
  counters.meta = meta;
  counters.ordinal = ops.ordinal;
  counters.jobSeq = jobSeq;
  for (const stream of ops.newStreams) counters.knownStreams.add(stream);
  return ops.results;
}
