import { assign, setup } from 'xstate';

/** Events of a tab's role statechart. */
export type TabEvent =
  | { type: 'tab.follow'; leader: string; epoch: number }
  | { type: 'tab.lead'; epoch: number }
  | { type: 'tab.stop' };

/**
 * A tab's role on a shared database, for the inspector and `reactor.system` in a follower tab:
 * `joining` until it knows who leads, `following` another tab, `leading` (then the reactor's own
 * actor system runs beside it), `stopped`. It only records: the tab layer drives it.
 */
export const tabMachine = setup({
  types: {
    context: {} as { readonly tab: string; readonly leader?: string; readonly epoch: number },
    events: {} as TabEvent,
    input: {} as { readonly tab: string },
  },
}).createMachine({
  id: 'tab',
  context: ({ input }) => ({ tab: input.tab, epoch: 0 }),
  initial: 'joining',
  on: {
    'tab.follow': {
      target: '.following',
      actions: assign(({ event }) => ({ leader: event.leader, epoch: event.epoch })),
    },
    'tab.lead': {
      target: '.leading',
      actions: assign(({ context, event }) => ({ leader: context.tab, epoch: event.epoch })),
    },
    'tab.stop': '.stopped',
  },
  states: {
    joining: {},
    following: {},
    leading: {},
    stopped: { type: 'final' },
  },
});
