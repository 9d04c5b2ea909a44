import type { JobRef } from '../model/jobs.js';
import { laneOf } from '../model/jobs.js';
import type { JobLogRow, LaneRow } from '../model/rows.js';
import type { Job } from '../model/types.js';

/**
 * The persistent queue as a log: each enqueue batch is one row, and each lane (a document, or a
 * sync lane) keeps the sequence number of its last completed job. Jobs complete in sequence order
 * within a lane, so a job is done exactly when its `seq` is at or below its lane's watermark. A row
 * is deleted once all its jobs are done. Writing one row per batch (not per job) keeps a burst of
 * thousands of mutations from costing thousands of extra row writes.
 */
export class JobLog {
  /** Row id → ids of its jobs not yet done. */
  readonly #open = new Map<string, Set<string>>();
  /** Job id → its row. */
  readonly #rowOf = new Map<string, string>();

  /** Registers the rows read at start-up and returns the jobs still to run, in sequence order. */
  restore(rows: readonly JobLogRow[], lanes: readonly LaneRow[]): { jobs: Job[]; finishedRows: string[] } {
    const watermark = new Map(lanes.map((row) => [row.lane, row.seq]));
    const jobs: Job[] = [];
    const finishedRows: string[] = [];
    for (const row of rows) {
      const open = row.jobs.filter((job) => job.seq > (watermark.get(laneOf(job)) ?? 0));
      if (open.length === 0) {
        finishedRows.push(row.id);
        continue;
      }
      this.#open.set(row.id, new Set(open.map((job) => job.id)));
      for (const job of open) this.#rowOf.set(job.id, row.id);
      jobs.push(...open);
    }
    jobs.sort((a, b) => a.seq - b.seq);
    return { jobs, finishedRows };
  }

  /**
   * Plans the job part of a group commit: rows to insert, rows to delete, lane watermarks. Nothing
   * in memory changes until `apply` (after the batch commits).
   */
  plan(inserts: readonly (readonly Job[])[], completions: readonly JobRef[]): JobLogPlan {
    const newRows = new Map<string, Job[]>();
    const rowOfNew = new Map<string, string>();
    for (const jobs of inserts) {
      const first = jobs[0];
      if (first === undefined) continue;
      const id = `jobs:${first.seq}:${first.id}`;
      newRows.set(id, [...jobs]);
      for (const job of jobs) rowOfNew.set(job.id, id);
    }
    const lanes = new Map<string, number>();
    const removed = new Map<string, string[]>();
    for (const ref of completions) {
      lanes.set(ref.lane, Math.max(lanes.get(ref.lane) ?? 0, ref.seq));
      const row = rowOfNew.get(ref.id) ?? this.#rowOf.get(ref.id);
      if (row === undefined) continue;
      const list = removed.get(row) ?? [];
      list.push(ref.id);
      removed.set(row, list);
    }
    const deleteRows: string[] = [];
    for (const [row, ids] of removed) {
      const size = newRows.get(row)?.length ?? this.#open.get(row)?.size ?? 0;
      if (ids.length < size) continue;
      if (newRows.has(row)) newRows.delete(row);
      else deleteRows.push(row);
    }
    return {
      putRows: [...newRows].map(([id, jobs]) => ({ id, jobs })),
      deleteRows,
      lanes: [...lanes].map(([lane, seq]) => ({ lane, seq })),
      maxSeq: maxSeq(inserts, completions),
      rowOfNew,
      removed,
    };
  }

  /** Makes a committed plan the in-memory truth. */
  apply(plan: JobLogPlan): void {
    for (const row of plan.putRows) {
      this.#open.set(row.id, new Set(row.jobs.map((job) => job.id)));
    }
    for (const [jobId, row] of plan.rowOfNew) if (this.#open.has(row)) this.#rowOf.set(jobId, row);
    for (const [row, ids] of plan.removed) {
      const open = this.#open.get(row);
      for (const id of ids) {
        open?.delete(id);
        this.#rowOf.delete(id);
      }
      if (open !== undefined && open.size === 0) this.#open.delete(row);
    }
  }
}

/** The job part of one group commit. */
export interface JobLogPlan {
  readonly putRows: JobLogRow[];
  readonly deleteRows: string[];
  readonly lanes: LaneRow[];
  readonly maxSeq: number;
  readonly rowOfNew: Map<string, string>;
  readonly removed: Map<string, string[]>;
}

function maxSeq(inserts: readonly (readonly Job[])[], completions: readonly JobRef[]): number {
  let max = 0;
  for (const jobs of inserts) for (const job of jobs) if (job.seq > max) max = job.seq;
  for (const ref of completions) if (ref.seq > max) max = ref.seq;
  return max;
}
