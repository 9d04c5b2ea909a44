import { laneOf } from '../model/jobs.js';
import { copyRecord, emptyRecord, own } from '../model/keys.js';
import type { Job } from '../model/types.js';

/**
 * The queue's bookkeeping: FIFO of jobs per document and which documents are running. Lanes are
 * document ids (any string), so the records have no prototype (see `src/model/keys.ts`).
 */
export interface QueueState {
  readonly pending: Readonly<Record<string, readonly Job[]>>;
  /** Documents with pending jobs and nothing running, in the order they became ready. */
  readonly ready: readonly string[];
  readonly running: Readonly<Record<string, number>>;
  readonly runningCount: number;
}

/** A batch handed to the executor: consecutive jobs of one document, all of one kind. */
export interface RunRequest {
  readonly documentId: string;
  readonly jobs: readonly Job[];
}

/** The empty queue. */
export const EMPTY_QUEUE: QueueState = Object.freeze({
  pending: emptyRecord<readonly Job[]>(),
  ready: [],
  running: emptyRecord<number>(),
  runningCount: 0,
});

/** Adds jobs at the tail of their documents' FIFOs. */
export function addJobs(state: QueueState, jobs: readonly Job[]): QueueState {
  const pending = copyRecord(state.pending);
  const added = new Map<string, Job[]>();
  const ready = [...state.ready];
  for (const job of jobs) {
    const lane = laneOf(job);
    let list = added.get(lane);
    if (list === undefined) {
      list = [];
      added.set(lane, list);
      const known = own(state.pending, lane);
      if ((known === undefined || known.length === 0) && own(state.running, lane) === undefined) {
        ready.push(lane);
      }
    }
    list.push(job);
  }
  for (const [documentId, list] of added) {
    pending[documentId] = [...(own(state.pending, documentId) ?? []), ...list];
  }
  return { ...state, pending, ready };
}

/**
 * Starts as many documents as `concurrency` allows, each with a batch of up to `maxBatch`
 * consecutive jobs of the same kind (a mutate must see the state the loads before it produced).
 */
export function planRuns(state: QueueState, concurrency: number, maxBatch: number): [QueueState, RunRequest[]] {
  if (state.ready.length === 0 || state.runningCount >= concurrency) return [state, []];
  const pending = copyRecord(state.pending);
  const running = copyRecord(state.running);
  const ready = [...state.ready];
  const runs: RunRequest[] = [];
  let runningCount = state.runningCount;
  while (runningCount < concurrency && ready.length > 0) {
    const documentId = ready.shift() as string;
    const list = own(pending, documentId) ?? [];
    const kind = list[0]?.kind;
    let take = 0;
    while (take < list.length && take < maxBatch && list[take]?.kind === kind) take += 1;
    if (take === 0) continue;
    runs.push({ documentId, jobs: list.slice(0, take) });
    const rest = list.slice(take);
    if (rest.length === 0) delete pending[documentId];
    else pending[documentId] = rest;
    running[documentId] = take;
    runningCount += 1;
  }
  return [{ pending, ready, running, runningCount }, runs];
}

/** Marks a document's run finished; it becomes ready again if more jobs wait. */
export function finishRun(state: QueueState, documentId: string): QueueState {
  if (own(state.running, documentId) === undefined) return state;
  const running = copyRecord(state.running);
  delete running[documentId];
  const more = (own(state.pending, documentId)?.length ?? 0) > 0;
  return {
    ...state,
    running,
    runningCount: state.runningCount - 1,
    ready: more ? [...state.ready, documentId] : state.ready,
  };
}

/** Number of jobs waiting (not running). */
export function pendingCount(state: QueueState): number {
  let count = 0;
  for (const list of Object.values(state.pending)) count += list.length;
  return count;
}
