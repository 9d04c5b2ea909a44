import { assign, fromCallback, sendTo, setup } from 'xstate';
import { classifyError, type ReactorErrorData } from '../model/errors.js';
import { documentViewMachine } from './documentView.js';
import { jobExecutorMachine } from './jobExecutor.js';
import type { RetryPolicy } from './jobRun.js';
import { operationsStoreMachine, type StoreReply } from './operationsStore.js';
import { queueMachine } from './queue.js';
import { syncManagerMachine } from './syncManager.js';
import { SYSTEM_IDS } from './systemIds.js';

/** Settings of the root machine (plain data). */
export interface ReactorMachineInput {
  readonly reactorId: string;
  readonly concurrency: number;
  readonly maxBatch: number;
  readonly maxGroupSize: number;
  readonly retry: RetryPolicy;
  readonly seed: number;
}

/** A long-lived child that failed (an uncaught error in one of its actions): its id and why. */
export interface ChildFailure {
  readonly child: string;
  readonly error: ReactorErrorData;
}

/** Events the root accepts. */
export type ReactorEvent = { type: 'reactor.stop'; drain: boolean } | { type: 'reactor.stopped' };

/** The `onError` of a long-lived child: kept in context (the inspector shows it), and reported. */
function failed(child: string) {
  const params = ({ event }: { event: { error: unknown } }): ChildFailure => ({
    child,
    error: classifyError(event.error).toData(),
  });
  return {
    actions: [
      { type: 'recordChildFailure' as const, params },
      { type: 'reportChildFailure' as const, params },
    ],
  };
}

/**
 * The root `reactor` machine: invokes the long-lived actors with their systemIds. `stopping` stops
 * new work (or lets the queue drain) while the store flushes; the factory then stops the system.
 */
export const reactorMachine = setup({
  types: {
    context: {} as ReactorMachineInput & { readonly failures?: readonly ChildFailure[] },
    events: {} as ReactorEvent,
    input: {} as ReactorMachineInput,
  },
  actors: {
    operationsStore: operationsStoreMachine,
    documentView: documentViewMachine,
    jobExecutor: jobExecutorMachine,
    queue: queueMachine,
    syncManager: syncManagerMachine,
    /** Answers to writes made from plain async code (provided: it settles their promises). */
    replies: fromCallback<StoreReply>(() => {}),
  },
  actions: {
    recordChildFailure: assign(({ context }, params: ChildFailure) => ({
      failures: [...(context.failures ?? []), params],
    })),
    /** Tells the outside world (the bus) that a child failed; provided by the reactor. */
    reportChildFailure: (_, _params: ChildFailure) => {},
  },
  guards: {
    keepsQueue: ({ event }) => event.type === 'reactor.stop' && !event.drain,
  },
}).createMachine({
  id: 'reactor',
  context: ({ input }) => input,
  // Every long-lived child reports a failure the same way (see `failed`). A failed child is gone.
  invoke: [
    {
      id: 'operationsStore',
      systemId: SYSTEM_IDS.operationsStore,
      src: 'operationsStore',
      input: ({ context }) => ({ maxGroupSize: context.maxGroupSize }),
    },
    { id: 'documentView', systemId: SYSTEM_IDS.documentView, src: 'documentView', onError: failed('documentView') },
    {
      id: 'jobExecutor',
      systemId: SYSTEM_IDS.jobExecutor,
      src: 'jobExecutor',
      input: ({ context }) => ({ retry: context.retry, seed: context.seed }),
      onError: failed('jobExecutor'),
    },
    {
      id: 'queue',
      systemId: SYSTEM_IDS.queue,
      src: 'queue',
      input: ({ context }) => ({
        concurrency: context.concurrency,
        maxBatch: context.maxBatch,
      }),
      onError: failed('queue'),
    },
    { id: 'syncManager', systemId: SYSTEM_IDS.syncManager, src: 'syncManager', onError: failed('syncManager') },
    { id: 'replies', systemId: SYSTEM_IDS.replies, src: 'replies', onError: failed('replies') },
  ],
  initial: 'running',
  states: {
    running: {
      on: {
        'reactor.stop': [
          { guard: 'keepsQueue', target: 'stopping', actions: sendTo('queue', { type: 'queue.halt' }) },
          { target: 'stopping' },
        ],
      },
    },
    stopping: {
      on: { 'reactor.stopped': 'stopped' },
    },
    stopped: { type: 'final' },
  },
});
