import { assign, type EventObject, enqueueActions, fromCallback, sendTo, setup } from 'xstate';
import type { ConnectionReport, WebSocketConnectionInput } from '../model/connection.js';
import { classifyError, type ReactorErrorData } from '../model/errors.js';
import { backoffDelay, nextRandom } from '../model/random.js';
import type { ConnectionState } from '../model/sync.js';

/** The WebSocket connection's context: plain data only (no socket, no token). */
export interface ConnectionContext {
  readonly url: string;
  readonly reconnect: { readonly baseMs: number; readonly maxMs: number };
  readonly seed: number;
  readonly remote?: string;
  /** Failed attempts since the last welcome. */
  readonly attempts: number;
  /** The backoff before the next attempt. */
  readonly delayMs: number;
  /** Where the statechart starts when an earlier one of the channel was refused or closed. */
  readonly resume?: 'refused' | 'closed';
  readonly serverId?: string;
  readonly maxFrameBytes?: number;
  readonly lastError?: ReactorErrorData | undefined;
}

/**
 * Events of the connection statechart. `socket.*` are facts the socket actor reports;
 * `connection.close` comes from the channel's `close()`, `connection.release` when another
 * statechart (the remote the channel was added to) takes the channel over.
 */
export type ConnectionEvent =
  | { type: 'socket.opened' }
  | { type: 'socket.welcomed'; serverId: string; maxFrameBytes: number }
  /** A connection-level error frame (one without a request id). */
  | { type: 'socket.errorReceived'; error: ReactorErrorData }
  /** A frame that could not be read. */
  | { type: 'socket.unreadable'; error: ReactorErrorData }
  | { type: 'socket.closed'; error: ReactorErrorData }
  /** The socket could not even be made (bad URL for the WebSocket class, no WebSocket at all). */
  | { type: 'socket.failed'; error: ReactorErrorData }
  | { type: 'connection.close' }
  | { type: 'connection.release' };

const placeholder = fromCallback<EventObject, { remote?: string; url?: string }>(() => {
  throw new Error('connection IO must be provided');
});

const errorOf = (error: unknown): ReactorErrorData => classifyError(error).toData();

const recordFrom = {
  type: 'recordError',
  params: ({ event }: { event: { error: ReactorErrorData } }) => event,
} as const;

/** Errors the server may send while a socket is open; `state` is what the channel shows meanwhile. */
function frameErrors(state: ConnectionState) {
  return {
    'socket.errorReceived': [
      {
        guard: { type: 'isRefusal' as const, params: ({ event }: { event: { error: ReactorErrorData } }) => event },
        target: '#connection.refused',
        actions: recordFrom,
      },
      { actions: [recordFrom, { type: 'report' as const, params: { state } }] },
    ],
    'socket.unreadable': { actions: [recordFrom, { type: 'report' as const, params: { state } }] },
  };
}

/**
 * A WebSocket client connection to a switchboard. One `session` is one socket (the `socket` actor):
 * `connecting` until it opens (the socket actor sends `hello` then), `handshaking` until the server
 * welcomes it, then `online`. A socket that closes or cannot be made leads to `backingOff` (jittered
 * exponential backoff from the seeded PRNG in context) and a new session. An `auth` or `protocol`
 * error from the server is a refusal: no reconnecting. `closed` is the end; `detached` means
 * another statechart runs the channel now. Every change is reported to the `link` actor, which is
 * the channel side: it decides nothing, it follows.
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as WebSocketConnectionInput,
  },
  actors: { link: placeholder, socket: placeholder },
  guards: {
    isRefusal: (_, params: { error: ReactorErrorData }) =>
      params.error.kind === 'auth' || params.error.kind === 'protocol',
    resumesClosed: ({ context }) => context.resume === 'closed',
    resumesRefused: ({ context }) => context.resume === 'refused',
  },
  delays: {
    reconnect: ({ context }) => context.delayMs,
  },
  actions: {
    recordError: assign({ lastError: (_, params: { error: ReactorErrorData }) => params.error }),
    // One failed attempt more, and the jittered, capped delay before the next one.
    scheduleReconnect: assign(({ context }) => {
      const [draw, seed] = nextRandom(context.seed);
      const { baseMs, maxMs } = context.reconnect;
      return { seed, attempts: context.attempts + 1, delayMs: backoffDelay(context.attempts, draw, baseMs, maxMs) };
    }),
    report: sendTo(
      'link',
      ({ context }, params: { state: ConnectionState }): ConnectionReport => ({
        type: 'connection.changed',
        state: params.state,
        attempts: context.attempts,
        ...(context.serverId === undefined ? {} : { serverId: context.serverId }),
        ...(context.maxFrameBytes === undefined ? {} : { maxFrameBytes: context.maxFrameBytes }),
        ...(context.lastError === undefined ? {} : { lastError: context.lastError }),
      }),
    ),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    url: input.url,
    reconnect: input.reconnect,
    seed: input.seed,
    attempts: 0,
    delayMs: 0,
    ...(input.remote === undefined ? {} : { remote: input.remote }),
    ...(input.serverId === undefined ? {} : { serverId: input.serverId }),
    ...(input.maxFrameBytes === undefined ? {} : { maxFrameBytes: input.maxFrameBytes }),
    ...(input.resume === undefined ? {} : { resume: input.resume.state }),
    ...(input.resume?.lastError === undefined ? {} : { lastError: input.resume.lastError }),
  }),
  invoke: {
    id: 'link',
    src: 'link',
    input: ({ context }) => (context.remote === undefined ? {} : { remote: context.remote }),
    // Without its channel there is nothing to run.
    onError: {
      target: '.detached',
      actions: { type: 'recordError', params: ({ event }) => ({ error: errorOf(event.error) }) },
    },
  },
  on: {
    'connection.close': '.closed',
    'connection.release': '.detached',
  },
  initial: 'starting',
  states: {
    starting: {
      always: [
        { guard: 'resumesClosed', target: 'closed' },
        { guard: 'resumesRefused', target: 'refused' },
        { target: 'session' },
      ],
    },
    session: {
      invoke: {
        id: 'socket',
        src: 'socket',
        input: ({ context }) => ({
          url: context.url,
          ...(context.remote === undefined ? {} : { remote: context.remote }),
        }),
        onError: {
          target: 'backingOff',
          actions: [
            { type: 'recordError', params: ({ event }) => ({ error: errorOf(event.error) }) },
            'scheduleReconnect',
          ],
        },
      },
      on: {
        'socket.closed': { target: 'backingOff', actions: [recordFrom, 'scheduleReconnect'] },
        'socket.failed': { target: 'backingOff', actions: [recordFrom, 'scheduleReconnect'] },
      },
      initial: 'connecting',
      states: {
        connecting: {
          entry: { type: 'report', params: { state: 'connecting' } },
          on: { 'socket.opened': 'handshaking' },
        },
        handshaking: {
          on: {
            ...frameErrors('connecting'),
            'socket.welcomed': {
              target: 'online',
              actions: assign(({ event }) => ({
                serverId: event.serverId,
                maxFrameBytes: event.maxFrameBytes,
                attempts: 0,
                lastError: undefined,
              })),
            },
          },
        },
        online: {
          entry: { type: 'report', params: { state: 'online' } },
          on: frameErrors('online'),
        },
      },
    },
    backingOff: {
      entry: { type: 'report', params: { state: 'offline' } },
      after: { reconnect: 'session' },
    },
    refused: {
      entry: { type: 'report', params: { state: 'refused' } },
    },
    closed: {
      type: 'final',
      // One that starts closed has no one to tell: its link stops with it at once.
      entry: enqueueActions(({ context, enqueue }) => {
        if (context.resume !== 'closed') enqueue({ type: 'report', params: { state: 'closed' } });
      }),
    },
    detached: { type: 'final' },
  },
});
