import { assign } from 'xstate';
import { probingState, remoteSetup } from './remoteSetup.js';

/**
 * The pull region: on an interval, on pokes and on request, pulls pages past the pull cursor until
 * `hasMore` is false (each page commits with its cursor). A request that arrives mid-round is
 * served by another round. Failures back off, go `offline` and probe, like the push region.
 */
export const pullRegion = remoteSetup.createStateConfig({
  initial: 'starting',
  states: {
    starting: {
      always: [{ guard: 'pulls', target: 'pulling' }, { target: 'disabled' }],
    },
    disabled: {},
    idle: {
      always: { guard: 'pullWanted', target: 'pulling' },
      after: { pullInterval: { target: 'pulling', actions: 'requestPull' } },
      on: {
        'sync.poked': { target: 'pulling', actions: 'requestPull' },
        'sync.pullNow': { target: 'pulling', actions: 'requestPull' },
      },
    },
    pulling: {
      entry: assign({ pullRoundFor: ({ context }) => context.pullRequested }),
      on: { 'sync.poked': { actions: 'requestPull' }, 'sync.pullNow': { actions: 'requestPull' } },
      initial: 'fetching',
      states: {
        fetching: {
          invoke: {
            src: 'pullPage',
            input: ({ context }) => ({
              name: context.name,
              cursor: context.pullCursor,
              batchSize: context.batchSize,
              epoch: context.epoch,
              ...(context.filter === undefined ? {} : { filter: context.filter }),
            }),
            onDone: [
              {
                guard: { type: 'remoteReset', params: ({ event }) => ({ output: event.output }) },
                target: 'fetching',
                reenter: true,
                actions: { type: 'restartCursors', params: ({ event }) => ({ reason: event.output.reset ?? '' }) },
              },
              {
                guard: { type: 'staleAnswer', params: ({ event }) => ({ output: event.output }) },
                target: 'fetching',
                reenter: true,
              },
              {
                guard: ({ event }) => event.output.hasMore,
                target: 'fetching',
                reenter: true,
                actions: assign(({ context, event }) => ({
                  pullCursor: event.output.cursor,
                  pulled: context.pulled + event.output.received,
                  pullFailures: 0,
                })),
              },
              {
                target: '#remote.pull.idle',
                actions: assign(({ context, event }) => ({
                  pullCursor: event.output.cursor,
                  pulled: context.pulled + event.output.received,
                  pullFailures: 0,
                  pullServed: context.pullRoundFor,
                })),
              },
            ],
            onError: [
              {
                guard: { type: 'isFatal', params: ({ event }) => ({ error: event.error }) },
                target: '#remote.pull.stopped',
                actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
              },
              {
                guard: 'pullGoesOffline',
                target: '#remote.pull.offline',
                actions: [
                  { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
                  { type: 'scheduleRetry', params: { region: 'pull' } },
                ],
              },
              {
                target: '#remote.pull.backingOff',
                actions: [
                  { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
                  { type: 'scheduleRetry', params: { region: 'pull' } },
                ],
              },
            ],
          },
        },
      },
    },
    backingOff: {
      on: { 'sync.poked': { actions: 'requestPull' }, 'sync.pullNow': { actions: 'requestPull' } },
      after: { pullBackoff: 'pulling' },
    },
    offline: {
      // A poke proves the remote is reachable again (a transport reconnected): probe at once.
      on: { 'sync.poked': { target: 'probing', actions: 'requestPull' }, 'sync.pullNow': { actions: 'requestPull' } },
      after: { probeInterval: 'probing' },
    },
    probing: probingState('pulling'),
    stopped: {},
  },
});
