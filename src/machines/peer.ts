import { type EventObject, enqueueActions, fromCallback, sendTo, setup } from 'xstate';
import type { PeerConnectionInput, PeerReport, PeerState } from '../model/connection.js';

/** A peer tab's context: plain data only. */
export interface PeerContext {
  readonly peerId: string;
  readonly heartbeatMs: number;
  readonly remote?: string;
  readonly resume?: PeerState;
}

/**
 * Events of the peer statechart, from the BroadcastChannel (through the `link` actor):
 * `peer.heard` for any message from the tab (`hello`, `here`, a frame), `peer.left` for its `bye`.
 * `connection.close` when the transport closes, `connection.release` when another statechart (the
 * remote the tab's channel was added to) takes the peer over.
 */
export type PeerEvent =
  | { type: 'peer.heard' }
  | { type: 'peer.left' }
  | { type: 'connection.close' }
  | { type: 'connection.release' };

const placeholder = fromCallback<EventObject, { remote?: string }>(() => {
  throw new Error('peer IO must be provided');
});

const report = (state: PeerState) => ({ type: 'report' as const, params: { state } });

/**
 * One other tab on the BroadcastChannel. Heard from, it is `present`; quiet for two heartbeat
 * periods it is `silent` (requests still go to it); quiet for one more, or after its `bye`, it is
 * `gone` (its requests in flight fail, `syncWithPeers` removes its remote). Any word from it makes
 * it `present` again. Without heartbeats (`heartbeatMs: 0`) only a `bye` makes it go.
 */
export const peerMachine = setup({
  types: {
    context: {} as PeerContext,
    events: {} as PeerEvent,
    input: {} as PeerConnectionInput,
  },
  actors: { link: placeholder },
  guards: {
    watchesHeartbeats: ({ context }) => context.heartbeatMs > 0,
    resumes: ({ context }, params: { state: PeerState }) => context.resume === params.state,
  },
  delays: {
    quiet: ({ context }) => 2 * context.heartbeatMs,
    grace: ({ context }) => context.heartbeatMs,
  },
  actions: {
    report: sendTo(
      'link',
      (_, params: { state: PeerState }): PeerReport => ({ type: 'peer.changed', state: params.state }),
    ),
  },
}).createMachine({
  id: 'peer',
  context: ({ input }) => ({
    peerId: input.peerId,
    heartbeatMs: input.heartbeatMs,
    ...(input.remote === undefined ? {} : { remote: input.remote }),
    ...(input.resume === undefined ? {} : { resume: input.resume }),
  }),
  invoke: {
    id: 'link',
    src: 'link',
    input: ({ context }) => (context.remote === undefined ? {} : { remote: context.remote }),
    onError: '.detached',
  },
  on: {
    'connection.close': '.closed',
    'connection.release': '.detached',
  },
  initial: 'starting',
  states: {
    starting: {
      always: [
        { guard: { type: 'resumes', params: { state: 'present' } }, target: 'present' },
        { guard: { type: 'resumes', params: { state: 'silent' } }, target: 'silent' },
        { guard: { type: 'resumes', params: { state: 'gone' } }, target: 'gone' },
        { guard: { type: 'resumes', params: { state: 'closed' } }, target: 'closed' },
        { target: 'unheard' },
      ],
    },
    unheard: {
      entry: report('unheard'),
      on: { 'peer.heard': 'present', 'peer.left': 'gone' },
    },
    present: {
      entry: report('present'),
      on: { 'peer.left': 'gone' },
      initial: 'listening',
      states: {
        // Each word restarts the quiet timer.
        listening: {
          on: { 'peer.heard': { target: 'listening', reenter: true } },
          after: { quiet: { guard: 'watchesHeartbeats', target: '#peer.silent' } },
        },
      },
    },
    silent: {
      entry: report('silent'),
      on: { 'peer.heard': 'present', 'peer.left': 'gone' },
      after: { grace: { guard: 'watchesHeartbeats', target: 'gone' } },
    },
    gone: {
      entry: report('gone'),
      on: { 'peer.heard': 'present' },
    },
    closed: {
      type: 'final',
      // One that starts closed has no one to tell: its link stops with it at once.
      entry: enqueueActions(({ context, enqueue }) => {
        if (context.resume !== 'closed') enqueue(report('closed'));
      }),
    },
    detached: { type: 'final' },
  },
});
