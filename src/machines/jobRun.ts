import { assign, fromPromise, sendParent, sendTo, setup } from 'xstate';
import { classifyError, type ReactorErrorData } from '../model/errors.js';
import { backoffDelay, nextRandom } from '../model/random.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';
import type { Job, JobOutcome } from '../model/types.js';
import type { StoreReply } from './operationsStore.js';
import { SYSTEM_IDS } from './systemIds.js';

/** Retry policy for transient storage failures. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/** What preparing a batch produces: one store write and a provisional outcome per job. */
export interface PreparedRun {
  readonly write: StoreWrite;
  readonly outcomes: readonly JobOutcome[];
}

/** Input of one run. */
export interface JobRunInput {
  readonly runId: string;
  readonly documentId: string;
  readonly jobs: readonly Job[];
  readonly retry: RetryPolicy;
  readonly seed: number;
}

/** What a run tells its parent when it ends. */
export interface JobRunFinished {
  readonly type: 'jobRun.finished';
  readonly runId: string;
  readonly documentId: string;
  readonly outcomes: readonly JobOutcome[];
}

export interface JobRunContext extends JobRunInput {
  readonly attempt: number;
  readonly delayMs: number;
  readonly prepared?: PreparedRun;
  readonly outcomes: readonly JobOutcome[];
  readonly lastError?: ReactorErrorData;
}

function failAll(jobs: readonly Job[], error: ReactorErrorData): JobOutcome[] {
  return jobs.map((job) => ({ jobId: job.id, ok: false as const, error }));
}

/**
 * Merges the store's answer into the prepared outcomes. For loads, each job is credited with the
 * ops of its own that were stored; an id seen earlier in the batch counts as a duplicate.
 */
export function settleOutcomes(prepared: PreparedRun, result: WriteResult, jobs: readonly Job[]): JobOutcome[] {
  if (result.error === undefined && result.duplicates.length === 0) {
    // Nothing was skipped: each load stored exactly the ops it did not refuse.
    return prepared.outcomes.map((outcome, i) => {
      const job = jobs[i];
      if (!outcome.ok || job?.kind !== 'load') return outcome;
      return { ...outcome, stored: job.operations.length - outcome.rejected.length, duplicates: 0 };
    });
  }
  const stored = new Set(result.stored.map((op) => op.id));
  const credited = new Set<string>();
  return prepared.outcomes.map((outcome, i) => {
    if (!outcome.ok) return outcome;
    if (result.error !== undefined) return { jobId: outcome.jobId, ok: false as const, error: result.error };
    const job = jobs[i];
    if (job?.kind !== 'load') return outcome;
    const refused = new Set(outcome.rejected.map((r) => r.id));
    let mine = 0;
    let duplicates = 0;
    for (const op of job.operations) {
      if (refused.has(op.id)) continue;
      if (stored.has(op.id) && !credited.has(op.id)) {
        credited.add(op.id);
        mine += 1;
      } else {
        duplicates += 1;
      }
    }
    return { ...outcome, stored: mine, duplicates };
  });
}

/**
 * One batch of jobs of one document: prepare (run reducers, build ops), commit through the
 * operations store, back off and retry on transient failures, then report to the executor.
 */
export const jobRunMachine = setup({
  types: {
    context: {} as JobRunContext,
    events: {} as StoreReply,
    input: {} as JobRunInput,
  },
  actors: {
    prepareRun: fromPromise<PreparedRun, { runId: string; jobs: readonly Job[] }>(async () => {
      throw new Error('prepareRun must be provided');
    }),
  },
  actions: {
    sendWrite: sendTo(
      ({ system }) => system.get(SYSTEM_IDS.operationsStore),
      ({ context, self }) => ({ type: 'store.write', write: (context.prepared as PreparedRun).write, replyTo: self }),
    ),
    reportFinished: sendParent(
      ({ context }): JobRunFinished => ({
        type: 'jobRun.finished',
        runId: context.runId,
        documentId: context.documentId,
        outcomes: context.outcomes,
      }),
    ),
  },
  guards: {
    isOwnReply: ({ context, event }) =>
      (event.type === 'store.committed' ? event.result.writeId : event.writeId) === context.prepared?.write.writeId,
    canRetryPreparing: ({ context, event }) =>
      classifyError((event as { error?: unknown }).error).retryable && context.attempt + 1 < context.retry.maxAttempts,
    canRetry: ({ context, event }) =>
      event.type === 'store.failed' &&
      event.writeId === context.prepared?.write.writeId &&
      event.error.retryable &&
      context.attempt + 1 < context.retry.maxAttempts,
  },
  delays: {
    retryDelay: ({ context }) => context.delayMs,
  },
}).createMachine({
  id: 'jobRun',
  context: ({ input }) => ({ ...input, attempt: 0, delayMs: 0, outcomes: [] }),
  initial: 'preparing',
  states: {
    preparing: {
      invoke: {
        src: 'prepareRun',
        input: ({ context }) => ({ runId: context.runId, jobs: context.jobs }),
        onDone: { target: 'committing', actions: assign({ prepared: ({ event }) => event.output }) },
        onError: [
          {
            // A transient read failure (storage) is retried like a failed commit.
            guard: 'canRetryPreparing',
            target: 'backingOffPreparing',
            actions: assign(({ context, event }) => {
              const [draw, seed] = nextRandom(context.seed);
              return {
                seed,
                lastError: classifyError(event.error).toData(),
                delayMs: backoffDelay(context.attempt, draw, context.retry.baseMs, context.retry.maxMs),
              };
            }),
          },
          {
            target: 'failed',
            actions: assign(({ context, event }) => {
              const error = classifyError(event.error).toData();
              return {
                lastError: error,
                outcomes: failAll(context.jobs, {
                  ...error,
                  message: `preparing jobs failed: ${error.message} (after ${context.attempt + 1} attempt${context.attempt === 0 ? '' : 's'}; nothing was written)`,
                }),
              };
            }),
          },
        ],
      },
    },
    backingOffPreparing: {
      after: {
        retryDelay: { target: 'preparing', actions: assign({ attempt: ({ context }) => context.attempt + 1 }) },
      },
    },
    committing: {
      entry: 'sendWrite',
      on: {
        'store.committed': {
          guard: 'isOwnReply',
          target: 'done',
          actions: assign({
            outcomes: ({ context, event }) =>
              settleOutcomes(context.prepared as PreparedRun, event.result, context.jobs),
          }),
        },
        'store.failed': [
          {
            guard: 'canRetry',
            target: 'backingOff',
            actions: assign(({ context, event }) => {
              const [draw, seed] = nextRandom(context.seed);
              return {
                seed,
                lastError: event.error,
                delayMs: backoffDelay(context.attempt, draw, context.retry.baseMs, context.retry.maxMs),
              };
            }),
          },
          {
            guard: 'isOwnReply',
            target: 'failed',
            actions: assign({
              lastError: ({ event }) => event.error,
              outcomes: ({ context, event }) =>
                failAll(context.jobs, {
                  ...event.error,
                  message: `${event.error.message} (after ${context.attempt + 1} attempt${context.attempt === 0 ? '' : 's'}; nothing was written)`,
                }),
            }),
          },
        ],
      },
    },
    backingOff: {
      after: {
        retryDelay: { target: 'committing', actions: assign({ attempt: ({ context }) => context.attempt + 1 }) },
      },
    },
    done: { type: 'final', entry: 'reportFinished' },
    failed: { type: 'final', entry: 'reportFinished' },
  },
});
