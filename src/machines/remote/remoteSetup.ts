import {
  assign,
  type EventObject,
  enqueueActions,
  fromEventObservable,
  fromPromise,
  type Subscribable,
  setup,
} from 'xstate';
import type { LinkChart } from '../../model/connection.js';
import { classifyError, type ReactorErrorData } from '../../model/errors.js';
import { backoffDelay, nextRandom } from '../../model/random.js';
import type { SyncFilter, SyncMode } from '../../model/sync.js';
import { connectionMachine } from '../connection.js';
import { peerMachine } from '../peer.js';

/** Settings and restored cursors of one remote (plain data). */
export interface RemoteInput {
  readonly name: string;
  readonly mode: SyncMode;
  readonly filter?: SyncFilter;
  readonly batchSize: number;
  readonly debounceMs: number;
  readonly pullIntervalMs: number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  /** Consecutive network failures after which the remote is `offline`. */
  readonly offlineAfter: number;
  readonly pushCursor: number;
  readonly pullCursor: number;
  /** The last ordinal stored locally when the remote started. */
  readonly localOrdinal: number;
  readonly seed: number;
  /** The channel's connection statechart, run as this remote's child `connection`. */
  readonly link?: LinkChart;
}

/** A remote's context: its input plus progress, failures and the last error. */
export interface RemoteContext extends RemoteInput {
  readonly pushFailures: number;
  readonly pullFailures: number;
  readonly pushDelayMs: number;
  readonly pullDelayMs: number;
  readonly pushed: number;
  readonly pulled: number;
  readonly retries: number;
  /** Pull requests made (interval, poke, `settled()`), and the last one a finished round served. */
  readonly pullRequested: number;
  readonly pullRoundFor: number;
  readonly pullServed: number;
  /** Times the remote turned out to have lost its data or been replaced (both cursors restart). */
  readonly epoch: number;
  readonly lastError?: ReactorErrorData;
}

/** Events a remote accepts. */
export type RemoteEvent = { type: 'sync.written'; ordinal: number } | { type: 'sync.poked' } | { type: 'sync.pullNow' };

/** Output of one push batch. */
export interface PushBatchOutput {
  readonly cursor: number;
  readonly sent: number;
  /** The `epoch` the batch was sent in (an answer from before a reset is stale). */
  readonly epoch?: number;
  /** Set when the answer shows the remote lost its data or is another reactor: why. */
  readonly reset?: string;
}

/** Output of one pulled page. */
export interface PullPageOutput {
  readonly cursor: number;
  readonly received: number;
  readonly hasMore: boolean;
  /** The `epoch` the page was asked for in. */
  readonly epoch?: number;
  /** Set when the answer shows the remote lost its data or is another reactor: why. */
  readonly reset?: string;
}

const never = (name: string) => async () => {
  throw new Error(`${name} must be provided`);
};

function errorData(error: unknown): ReactorErrorData {
  return classifyError(error).toData();
}

/** Fatal errors stop a remote: auth, protocol and anything not retryable. */
function isFatal(error: unknown): boolean {
  const data = errorData(error);
  return data.kind === 'auth' || data.kind === 'protocol' || !data.retryable;
}

/**
 * The shared contract of the push, pull and ping-pong statecharts: IO actors (provided per
 * reactor), guards, delays and the bookkeeping actions both regions use.
 */
export const remoteSetup = setup({
  types: {
    context: {} as RemoteContext,
    events: {} as RemoteEvent,
    input: {} as RemoteInput,
  },
  actors: {
    pushBatch: fromPromise<PushBatchOutput, { name: string; cursor: number; filter?: SyncFilter; batchSize: number }>(
      never('pushBatch'),
    ),
    pullPage: fromPromise<PullPageOutput, { name: string; cursor: number; filter?: SyncFilter; batchSize: number }>(
      never('pullPage'),
    ),
    probe: fromPromise<void, { name: string }>(never('probe')),
    writtenOrdinals: fromEventObservable(
      (): Subscribable<EventObject> => ({ subscribe: () => ({ unsubscribe: () => {} }) }),
    ),
    pokes: fromEventObservable(
      (_: { input: { name: string } }): Subscribable<EventObject> => ({ subscribe: () => ({ unsubscribe: () => {} }) }),
    ),
    websocketConnection: connectionMachine,
    peerConnection: peerMachine,
  },
  guards: {
    pushes: ({ context }) => context.mode !== 'pull',
    pulls: ({ context }) => context.mode !== 'push',
    hasPushBacklog: ({ context }) => context.localOrdinal > context.pushCursor,
    isFatal: (_, params: { error: unknown }) => isFatal(params.error),
    pushGoesOffline: ({ context }) => context.pushFailures + 1 >= context.offlineAfter,
    pullGoesOffline: ({ context }) => context.pullFailures + 1 >= context.offlineAfter,
    remoteReset: (_, params: { output: { reset?: string } }) => params.output.reset !== undefined,
    // An answer to a request made before both cursors restarted must not move them again.
    staleAnswer: ({ context }, params: { output: { epoch?: number } }) =>
      params.output.epoch !== undefined && params.output.epoch !== context.epoch,
    pullWanted: ({ context }) => context.pullRequested > context.pullServed,
  },
  delays: {
    debounce: ({ context }) => context.debounceMs,
    pullInterval: ({ context }) => context.pullIntervalMs,
    pushBackoff: ({ context }) => context.pushDelayMs,
    pullBackoff: ({ context }) => context.pullDelayMs,
    probeInterval: ({ context }) => context.retry.maxMs,
  },
  actions: {
    // The channel's connection lives and dies with the remote; it finds its channel by the remote's name.
    spawnConnection: enqueueActions(({ context, enqueue }) => {
      const link = context.link;
      if (link?.kind === 'websocket') {
        enqueue.spawnChild('websocketConnection', { id: 'connection', input: { ...link.input, remote: context.name } });
      } else if (link?.kind === 'peer') {
        enqueue.spawnChild('peerConnection', { id: 'connection', input: { ...link.input, remote: context.name } });
      }
    }),
    noteWritten: assign({
      localOrdinal: ({ context, event }) =>
        event.type === 'sync.written' ? Math.max(context.localOrdinal, event.ordinal) : context.localOrdinal,
    }),
    requestPull: assign({ pullRequested: ({ context }) => context.pullRequested + 1 }),
    // The remote lost what we sent it or is another reactor now: send and fetch everything again
    // (both sides skip what they hold already), and say why in lastError.
    restartCursors: assign(({ context }, params: { reason: string }) => ({
      pushCursor: 0,
      pullCursor: 0,
      epoch: context.epoch + 1,
      lastError: { kind: 'conflict' as const, message: params.reason, retryable: true },
    })),
    recordError: assign({ lastError: (_, params: { error: unknown }) => errorData(params.error) }),
    // One failure more in a region, and the jittered, capped backoff before its next attempt.
    scheduleRetry: assign(({ context }, params: { region: 'push' | 'pull' }) => {
      const [draw, seed] = nextRandom(context.seed);
      const failures = params.region === 'push' ? context.pushFailures : context.pullFailures;
      const delayMs = backoffDelay(failures, draw, context.retry.baseMs, context.retry.maxMs);
      return params.region === 'push'
        ? { seed, retries: context.retries + 1, pushFailures: failures + 1, pushDelayMs: delayMs }
        : { seed, retries: context.retries + 1, pullFailures: failures + 1, pullDelayMs: delayMs };
    }),
  },
});

/** The initial context of a remote. */
export function initialRemoteContext(input: RemoteInput): RemoteContext {
  return {
    ...input,
    pushFailures: 0,
    pullFailures: 0,
    pushDelayMs: 0,
    pullDelayMs: 0,
    pushed: 0,
    pulled: 0,
    retries: 0,
    pullRequested: 1,
    pullRoundFor: 0,
    pullServed: 0,
    epoch: 0,
  };
}

/**
 * The `probing` state both regions share: a cheap request to the remote; success goes back to
 * work (`target`) with the failure count reset, a fatal error stops, anything else stays offline.
 */
export function probingState(target: 'sending' | 'pulling') {
  return remoteSetup.createStateConfig({
    invoke: {
      src: 'probe',
      input: ({ context }) => ({ name: context.name }),
      onDone: {
        target,
        actions: target === 'sending' ? assign({ pushFailures: 0 }) : assign({ pullFailures: 0 }),
      },
      onError: [
        {
          guard: { type: 'isFatal', params: ({ event }) => ({ error: event.error }) },
          target: 'stopped',
          actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) },
        },
        { target: 'offline', actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) } },
      ],
    },
  });
}
