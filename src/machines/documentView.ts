import { assign, type EventObject, fromEventObservable, type Subscribable, setup } from 'xstate';
import { classifyError, type ReactorErrorData } from '../model/errors.js';
import type { StoredOperation } from '../model/types.js';

/** Events the document view receives: bus events bridged in, and reports from its projector. */
export type DocumentViewEvent =
  | { type: 'operations.written'; operations: readonly StoredOperation[] }
  | { type: 'view.rebased'; stream: string; replayed: number };

/**
 * The document view: subscribes to `operations.written` on the event bus and hands each group of
 * ops to the projector (the `project` action), which folds them into the read model.
 */
export const documentViewMachine = setup({
  types: {
    context: {} as { applied: number; rebases: number; lastReplayed: number; lastError?: ReactorErrorData },
    events: {} as DocumentViewEvent,
  },
  actors: {
    writtenOperations: fromEventObservable(
      (): Subscribable<EventObject> => ({
        subscribe: () => ({ unsubscribe: () => {} }),
      }),
    ),
  },
  actions: {
    project: (_, _params: { operations: readonly StoredOperation[] }) => {},
  },
}).createMachine({
  id: 'documentView',
  context: { applied: 0, rebases: 0, lastReplayed: 0 },
  // The bus completes only when the reactor stops; an error there is kept for the inspector.
  invoke: {
    src: 'writtenOperations',
    onError: { actions: assign({ lastError: ({ event }) => classifyError(event.error).toData() }) },
  },
  initial: 'live',
  states: {
    live: {
      on: {
        'operations.written': {
          actions: [
            { type: 'project', params: ({ event }) => ({ operations: event.operations }) },
            assign({ applied: ({ context, event }) => context.applied + event.operations.length }),
          ],
        },
        'view.rebased': {
          actions: assign({
            rebases: ({ context }) => context.rebases + 1,
            lastReplayed: ({ event }) => event.replayed,
          }),
        },
      },
    },
  },
});
