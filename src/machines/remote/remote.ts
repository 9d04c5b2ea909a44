import { pullRegion } from './pullRegion.js';
import { pushRegion } from './pushRegion.js';
import { initialRemoteContext, remoteSetup } from './remoteSetup.js';

// A listener that errors (a transport's poke stream failing) is recorded; the regions go on, and
// the pull interval still wakes the remote.
const onError = {
  actions: {
    type: 'recordError' as const,
    params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }),
  },
};
const listeners = [
  { src: 'writtenOrdinals' as const, onError },
  {
    src: 'pokes' as const,
    input: ({ context }: { context: { name: string } }) => ({ name: context.name }),
    onError,
  },
];

/** Push only: sends our ops past the acknowledged cursor when `operations.written` wakes it. */
export const pushMachine = remoteSetup.createMachine({
  id: 'remote',
  context: ({ input }) => initialRemoteContext({ ...input, mode: 'push' }),
  entry: 'spawnConnection',
  invoke: listeners,
  type: 'parallel',
  states: { push: pushRegion },
});

/** Pull only: fetches the remote's ops on an interval and on pokes. */
export const pullMachine = remoteSetup.createMachine({
  id: 'remote',
  context: ({ input }) => initialRemoteContext({ ...input, mode: 'pull' }),
  entry: 'spawnConnection',
  invoke: listeners,
  type: 'parallel',
  states: { pull: pullRegion },
});

/** Ping-pong: push and pull as parallel regions of one machine. */
export const pingPongMachine = remoteSetup.createMachine({
  id: 'remote',
  context: ({ input }) => initialRemoteContext({ ...input, mode: 'ping-pong' }),
  entry: 'spawnConnection',
  invoke: listeners,
  type: 'parallel',
  states: { push: pushRegion, pull: pullRegion },
});
