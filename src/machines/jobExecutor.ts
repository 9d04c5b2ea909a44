import { assign, type EventObject, enqueueActions, setup, stopChild } from 'xstate';
import { nextRandom } from '../model/random.js';
import type { Job, JobOutcome } from '../model/types.js';
import { type JobRunFinished, jobRunMachine, type RetryPolicy } from './jobRun.js';
import { SYSTEM_IDS } from './systemIds.js';

/** Events the executor accepts. */
export type JobExecutorEvent = { type: 'executor.run'; documentId: string; jobs: readonly Job[] } | JobRunFinished;

/** Executor settings. */
export interface JobExecutorInput {
  readonly retry: RetryPolicy;
  readonly seed: number;
}

export interface JobExecutorContext extends JobExecutorInput {
  readonly nextRun: number;
  readonly active: number;
  /** Ids of the runs in progress. */
  readonly running: readonly string[];
  readonly succeeded: number;
  readonly failed: number;
}

/**
 * The job executor: spawns one `jobRun` child per batch the queue starts, and when it ends,
 * publishes the outcomes and frees the document in the queue.
 */
export const jobExecutorMachine = setup({
  types: {
    context: {} as JobExecutorContext,
    events: {} as JobExecutorEvent,
    input: {} as JobExecutorInput,
  },
  actors: { jobRun: jobRunMachine },
  actions: {
    publishOutcomes: (_, _params: { outcomes: readonly JobOutcome[] }) => {},
  },
  guards: {
    // A report from a run that is not running (a duplicate, a stranger) must not free its document.
    isRunning: ({ context, event }) => event.type === 'jobRun.finished' && context.running.includes(event.runId),
  },
}).createMachine({
  id: 'jobExecutor',
  context: ({ input }) => ({ ...input, nextRun: 0, active: 0, running: [], succeeded: 0, failed: 0 }),
  on: {
    'executor.run': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const [, seed] = nextRandom(context.seed);
        const runId = `run-${context.nextRun}`;
        enqueue.spawnChild('jobRun', {
          id: runId,
          input: { runId, documentId: event.documentId, jobs: event.jobs, retry: context.retry, seed: context.seed },
        });
        enqueue.assign({
          nextRun: context.nextRun + 1,
          active: context.active + 1,
          running: [...context.running, runId],
          seed,
        });
      }),
    },
    'jobRun.finished': {
      guard: 'isRunning',
      actions: enqueueActions(({ context, event, enqueue, system }) => {
        enqueue(stopChild(event.runId));
        enqueue({ type: 'publishOutcomes', params: { outcomes: event.outcomes } });
        const ok = event.outcomes.filter((outcome) => outcome.ok).length;
        enqueue(
          assign({
            active: context.active - 1,
            running: context.running.filter((id) => id !== event.runId),
            succeeded: context.succeeded + ok,
            failed: context.failed + event.outcomes.length - ok,
          }),
        );
        const queue = system.get(SYSTEM_IDS.queue);
        if (queue !== undefined)
          enqueue.sendTo(queue, { type: 'queue.runFinished', documentId: event.documentId } as EventObject);
      }),
    },
  },
});
