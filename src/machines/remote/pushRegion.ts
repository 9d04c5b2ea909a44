import { assign } from 'xstate';
import { probingState, remoteSetup } from './remoteSetup.js';

/**
 * The push region: woken by `sync.written` (debounced), sends the ops past the acknowledged
 * cursor in batches until none are left; on failure backs off (exponential, jittered, capped),
 * goes `offline` after repeated failures and comes back when a probe succeeds; a fatal error
 * (auth, protocol) stops it.
 */
export const pushRegion = remoteSetup.createStateConfig({
  initial: 'starting',
  states: {
    starting: {
      always: [{ guard: 'pushes', target: 'idle' }, { target: 'disabled' }],
    },
    disabled: {},
    idle: {
      always: { guard: 'hasPushBacklog', target: 'sending' },
      on: { 'sync.written': { target: 'debouncing', actions: 'noteWritten' } },
    },
    debouncing: {
      after: { debounce: 'sending' },
      on: { 'sync.written': { actions: 'noteWritten' } },
    },
    sending: {
      on: { 'sync.written': { actions: 'noteWritten' } },
      invoke: {
        src: 'pushBatch',
        input: ({ context }) => ({
          name: context.name,
          cursor: context.pushCursor,
          batchSize: context.batchSize,
          epoch: context.epoch,
          ...(context.filter === undefined ? {} : { filter: context.filter }),
        }),
        onDone: [
          {
            guard: { type: 'remoteReset', params: ({ event }) => ({ output: event.output }) },
            target: 'idle',
            actions: { type: 'restartCursors', params: ({ event }) => ({ reason: event.output.reset ?? '' }) },
          },
          { guard: { type: 'staleAnswer', params: ({ event }) => ({ output: event.output }) }, target: 'idle' },
          {
            target: 'idle',
            actions: assign(({ context, event }) => ({
              pushCursor: event.output.cursor,
              localOrdinal: Math.max(context.localOrdinal, event.output.cursor),
              pushed: context.pushed + event.output.sent,
              pushFailures: 0,
            })),
          },
        ],
        onError: [
          {
            guard: { type: 'isFatal', params: ({ event }) => ({ error: event.error }) },
            target: 'stopped',
            actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
          },
          {
            guard: 'pushGoesOffline',
            target: 'offline',
            actions: [
              { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
              { type: 'scheduleRetry', params: { region: 'push' } },
            ],
          },
          {
            target: 'backingOff',
            actions: [
              { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
              { type: 'scheduleRetry', params: { region: 'push' } },
            ],
          },
        ],
      },
    },
    backingOff: {
      on: { 'sync.written': { actions: 'noteWritten' } },
      after: { pushBackoff: 'sending' },
    },
    offline: {
      // A poke proves the remote is reachable again (a transport reconnected): probe at once.
      on: { 'sync.written': { actions: 'noteWritten' }, 'sync.poked': 'probing' },
      after: { probeInterval: 'probing' },
    },
    probing: {
      ...probingState('sending'),
      on: { 'sync.written': { actions: 'noteWritten' } },
    },
    stopped: {},
  },
});
