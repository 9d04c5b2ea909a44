import { sendTo, setup } from 'xstate';
import { documentViewMachine } from './documentView.js';
import { jobExecutorMachine } from './jobExecutor.js';
import type { RetryPolicy } from './jobRun.js';
import { operationsStoreMachine } from './operationsStore.js';
import { queueMachine } from './queue.js';
import { syncManagerMachine } from './syncManager.js';

/** Settings of the root machine (plain data). */
export interface ReactorMachineInput {
  readonly reactorId: string;
  readonly concurrency: number;
  readonly maxBatch: number;
  readonly maxGroupSize: number;
  readonly retry: RetryPolicy;
  readonly seed: number;
}

/** Events the root accepts. */
export type ReactorEvent = { type: 'reactor.stop'; drain: boolean } | { type: 'reactor.stopped' };

/**
 * The root `reactor` machine: invokes the long-lived actors with their systemIds. `stopping` stops
 * new work (or lets the queue drain) while the store flushes; the factory then stops the system.
 */
export const reactorMachine = setup({
  types: {
    context: {} as ReactorMachineInput,
    events: {} as ReactorEvent,
    input: {} as ReactorMachineInput,
  },
  actors: {
    operationsStore: operationsStoreMachine,
    documentView: documentViewMachine,
    jobExecutor: jobExecutorMachine,
    queue: queueMachine,
    syncManager: syncManagerMachine,
  },
  guards: {
    keepsQueue: ({ event }) => event.type === 'reactor.stop' && !event.drain,
  },
}).createMachine({
  id: 'reactor',
  context: ({ input }) => input,
  invoke: [
    {
      id: 'operationsStore',
      systemId: 'operationsStore',
      src: 'operationsStore',
      input: ({ context }) => ({ maxGroupSize: context.maxGroupSize }),
    },
    { id: 'documentView', systemId: 'documentView', src: 'documentView' },
    {
      id: 'jobExecutor',
      systemId: 'jobExecutor',
      src: 'jobExecutor',
      input: ({ context }) => ({ retry: context.retry, seed: context.seed }),
    },
    {
      id: 'queue',
      systemId: 'queue',
      src: 'queue',
      input: ({ context }) => ({
        concurrency: context.concurrency,
        maxBatch: context.maxBatch,
      }),
    },
    { id: 'syncManager', systemId: 'syncManager', src: 'syncManager' },
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
