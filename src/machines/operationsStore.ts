import { type AnyActorRef, assign, enqueueActions, fromPromise, setup } from 'xstate';
import { classifyError, type ReactorErrorData } from '../model/errors.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';

/** A write waiting for a transaction, with whom to tell the outcome. */
export interface PendingWrite {
  readonly write: StoreWrite;
  readonly replyTo?: AnyActorRef;
}

/** Events the operations store accepts and sends. */
export type OperationsStoreEvent =
  | { type: 'store.write'; write: StoreWrite; replyTo?: AnyActorRef }
  | { type: 'store.flush' };

/** Replies sent to a write's `replyTo`. */
export type StoreReply =
  | { type: 'store.committed'; result: WriteResult }
  | { type: 'store.failed'; writeId: string; error: ReactorErrorData };

/** Input of the store: how many writes one transaction may carry at most. */
export interface OperationsStoreInput {
  readonly maxGroupSize?: number;
}

export interface OperationsStoreContext {
  readonly pending: readonly PendingWrite[];
  readonly inflight: readonly PendingWrite[];
  readonly maxGroupSize: number;
  /** Writes that must commit alone, after a group failed permanently. */
  readonly isolate: number;
  readonly commits: number;
  readonly failures: number;
}

/**
 * The operations store: the only writer of IndexedDB. **Group commit**: writes that arrive while a
 * transaction is in flight are coalesced into the next one. After a commit it publishes the stored
 * ops and answers each writer. A group that fails permanently is retried one write at a time, so one
 * bad write cannot fail its neighbours.
 */
export const operationsStoreMachine = setup({
  types: {
    context: {} as OperationsStoreContext,
    events: {} as OperationsStoreEvent,
    input: {} as OperationsStoreInput,
  },
  actors: {
    commitGroup: fromPromise<WriteResult[], { writes: readonly StoreWrite[] }>(async () => {
      throw new Error('commitGroup must be provided');
    }),
  },
  actions: {
    publishWritten: (_, _params: { results: readonly WriteResult[]; writes: readonly PendingWrite[] }) => {},
    replyCommitted: enqueueActions(
      ({ enqueue }, params: { results: readonly WriteResult[]; writes: readonly PendingWrite[] }) => {
        params.writes.forEach((pending, i) => {
          const result = params.results[i];
          if (pending.replyTo !== undefined && result !== undefined) {
            enqueue.sendTo(pending.replyTo, { type: 'store.committed', result } satisfies StoreReply);
          }
        });
      },
    ),
    replyFailed: enqueueActions(({ enqueue }, params: { error: ReactorErrorData; writes: readonly PendingWrite[] }) => {
      for (const pending of params.writes) {
        if (pending.replyTo === undefined) continue;
        const reply: StoreReply = { type: 'store.failed', writeId: pending.write.writeId, error: params.error };
        enqueue.sendTo(pending.replyTo, reply);
      }
    }),
    reportFailure: (_, _params: { error: ReactorErrorData }) => {},
  },
  guards: {
    hasPending: ({ context }) => context.pending.length > 0,
    canIsolate: ({ context, event }) =>
      context.inflight.length > 1 && !classifyError((event as { error?: unknown }).error).retryable,
  },
}).createMachine({
  id: 'operationsStore',
  context: ({ input }) => ({
    pending: [],
    inflight: [],
    maxGroupSize: input.maxGroupSize ?? 2000,
    isolate: 0,
    commits: 0,
    failures: 0,
  }),
  on: {
    'store.write': {
      actions: assign({
        pending: ({ context, event }) => [
          ...context.pending,
          event.replyTo === undefined ? { write: event.write } : { write: event.write, replyTo: event.replyTo },
        ],
      }),
    },
  },
  initial: 'idle',
  states: {
    idle: {
      always: { guard: 'hasPending', target: 'committing' },
    },
    committing: {
      entry: assign(({ context }) => {
        const size = context.isolate > 0 ? 1 : context.maxGroupSize;
        return {
          inflight: context.pending.slice(0, size),
          pending: context.pending.slice(size),
          isolate: Math.max(0, context.isolate - 1),
        };
      }),
      invoke: {
        src: 'commitGroup',
        input: ({ context }) => ({ writes: context.inflight.map((pending) => pending.write) }),
        onDone: {
          target: 'idle',
          actions: [
            {
              type: 'publishWritten',
              params: ({ context, event }) => ({ results: event.output, writes: context.inflight }),
            },
            {
              type: 'replyCommitted',
              params: ({ context, event }) => ({ results: event.output, writes: context.inflight }),
            },
            assign({ inflight: [], commits: ({ context }) => context.commits + 1 }),
          ],
        },
        onError: [
          {
            guard: 'canIsolate',
            target: 'idle',
            actions: assign(({ context }) => ({
              pending: [...context.inflight, ...context.pending],
              isolate: context.inflight.length,
              inflight: [],
              failures: context.failures + 1,
            })),
          },
          {
            target: 'idle',
            actions: [
              {
                type: 'replyFailed',
                params: ({ context, event }) => ({ error: toErrorData(event.error), writes: context.inflight }),
              },
              { type: 'reportFailure', params: ({ event }) => ({ error: toErrorData(event.error) }) },
              assign({ inflight: [], failures: ({ context }) => context.failures + 1 }),
            ],
          },
        ],
      },
    },
  },
});

function toErrorData(error: unknown): ReactorErrorData {
  return classifyError(error).toData();
}
