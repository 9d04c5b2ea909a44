import { assign, type EventObject, enqueueActions, setup } from 'xstate';
import type { Job } from '../model/types.js';
import { addJobs, EMPTY_QUEUE, finishRun, pendingCount, planRuns, type QueueState } from './queuePlan.js';
import { SYSTEM_IDS } from './systemIds.js';

/** Events the queue accepts. */
export type QueueEvent =
  | { type: 'queue.enqueue'; jobs: readonly Job[] }
  | { type: 'queue.restore'; jobs: readonly Job[] }
  | { type: 'queue.runFinished'; documentId: string }
  | { type: 'queue.halt' };

/** Queue settings. */
export interface QueueInput {
  readonly concurrency: number;
  readonly maxBatch: number;
}

export interface QueueContext extends QueueState {
  readonly concurrency: number;
  readonly maxBatch: number;
  readonly waiting: number;
}

const queueSetup = setup({
  types: {
    context: {} as QueueContext,
    events: {} as QueueEvent,
    input: {} as QueueInput,
  },
  actions: {
    persistJobs: enqueueActions(({ system, enqueue }, params: { jobs: readonly Job[] }) => {
      const write = { writeId: `enqueue:${params.jobs[0]?.id ?? ''}`, insertJobs: params.jobs };
      enqueue.sendTo(system.get(SYSTEM_IDS.operationsStore), { type: 'store.write', write } as EventObject);
    }),
    startRun: enqueueActions(({ system, enqueue }, params: { documentId: string; jobs: readonly Job[] }) => {
      enqueue.sendTo(system.get(SYSTEM_IDS.jobExecutor), { type: 'executor.run', ...params } as EventObject);
    }),
  },
});

/** Starts what may start now, through the named `startRun` (so `.provide()` can replace it). */
const dispatch = queueSetup.enqueueActions(({ context, enqueue }) => {
  const [next, runs] = planRuns(context, context.concurrency, context.maxBatch);
  if (runs.length === 0) return;
  enqueue.assign({ ...next, waiting: pendingCount(next) });
  for (const run of runs) enqueue({ type: 'startRun', params: run });
});

/**
 * The persistent job queue. FIFO per document, at most one running batch per document, documents
 * concurrently up to `concurrency`. New jobs are persisted (through the operations store) unless
 * they start at once: those become durable when their operations commit. `halted` keeps jobs
 * queued (persisted) without starting more, for a stop that does not drain.
 */
export const queueMachine = queueSetup.createMachine({
  id: 'queue',
  context: ({ input }) => ({ ...EMPTY_QUEUE, concurrency: input.concurrency, maxBatch: input.maxBatch, waiting: 0 }),
  initial: 'active',
  states: {
    active: {
      entry: dispatch,
      on: {
        'queue.enqueue': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const added = addJobs(context, event.jobs);
            const [next, runs] = planRuns(added, context.concurrency, context.maxBatch);
            const started = new Set(runs.flatMap((run) => run.jobs.map((job) => job.id)));
            const toPersist = event.jobs.filter((job) => !started.has(job.id));
            enqueue.assign({ ...next, waiting: pendingCount(next) });
            if (toPersist.length > 0) enqueue({ type: 'persistJobs', params: { jobs: toPersist } });
            for (const run of runs) enqueue({ type: 'startRun', params: run });
          }),
        },
        'queue.restore': {
          actions: [
            assign(({ context, event }) => {
              const next = addJobs(context, event.jobs);
              return { ...next, waiting: pendingCount(next) };
            }),
            dispatch,
          ],
        },
        'queue.runFinished': {
          actions: [
            assign(({ context, event }) => {
              const next = finishRun(context, event.documentId);
              return { ...next, waiting: pendingCount(next) };
            }),
            dispatch,
          ],
        },
        'queue.halt': { target: 'halted' },
      },
    },
    halted: {
      on: {
        'queue.enqueue': {
          actions: [
            assign(({ context, event }) => {
              const next = addJobs(context, event.jobs);
              return { ...next, waiting: pendingCount(next) };
            }),
            { type: 'persistJobs', params: ({ event }) => ({ jobs: event.jobs }) },
          ],
        },
        'queue.runFinished': {
          actions: assign(({ context, event }) => {
            const next = finishRun(context, event.documentId);
            return { ...next, waiting: pendingCount(next) };
          }),
        },
      },
    },
  },
});
