import { assign, enqueueActions, setup } from 'xstate';
import { pingPongMachine, pullMachine, pushMachine } from './remote/remote.js';
import type { RemoteInput } from './remote/remoteSetup.js';

/** Events the sync manager accepts. */
export type SyncManagerEvent = { type: 'sync.attach'; remote: RemoteInput } | { type: 'sync.detach'; name: string };

/** The actor id of a remote's child. */
export function remoteActorId(name: string): string {
  return `remote:${name}`;
}

/**
 * The sync manager: one child per attached remote, running the statechart of its mode. Attaching
 * a remote that runs already restarts it with the new settings.
 */
export const syncManagerMachine = setup({
  types: {
    context: {} as { attached: readonly string[] },
    events: {} as SyncManagerEvent,
  },
  actors: { push: pushMachine, pull: pullMachine, pingPong: pingPongMachine },
}).createMachine({
  id: 'syncManager',
  context: { attached: [] },
  on: {
    'sync.attach': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const id = remoteActorId(event.remote.name);
        if (context.attached.includes(event.remote.name)) enqueue.stopChild(id);
        const src = event.remote.mode === 'push' ? 'push' : event.remote.mode === 'pull' ? 'pull' : 'pingPong';
        enqueue.spawnChild(src, { id, input: event.remote });
        enqueue.assign({ attached: [...context.attached.filter((n) => n !== event.remote.name), event.remote.name] });
      }),
    },
    'sync.detach': {
      actions: [
        enqueueActions(({ context, event, enqueue }) => {
          if (context.attached.includes(event.name)) enqueue.stopChild(remoteActorId(event.name));
        }),
        assign({ attached: ({ context, event }) => context.attached.filter((n) => n !== event.name) }),
      ],
    },
  },
});
