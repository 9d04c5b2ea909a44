import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  type AnyStateMachine,
  createActor,
  type EventObject,
  fromEventObservable,
  fromPromise,
  SimulatedClock,
  type Subscribable,
} from 'xstate';
import { pingPongMachine, pullMachine, pushMachine } from '../../src/machines/remote/remote.js';
import type {
  PullPageOutput,
  PushBatchOutput,
  RemoteContext,
  RemoteEvent,
  RemoteInput,
} from '../../src/machines/remote/remoteSetup.js';
import { ReactorError } from '../../src/model/errors.js';
import { backoffDelay, nextRandom } from '../../src/model/random.js';
import { remoteInput } from '../support.js';

type RegionInput = { name: string; cursor: number; batchSize: number };

/** One scripted answer of a fake IO actor: a value, or an error to throw. */
type Answer<T> = { ok: T } | { fail: unknown };

/** A promise the test resolves by hand, to hold an invoked actor mid-flight. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const networkError = (message = 'request lost') => new ReactorError('network', message, { retryable: true });

const baseInput: RemoteInput = remoteInput();

/**
 * A remote statechart on a SimulatedClock with fake IO:
 * - `local` is the local log's last ordinal; by default `pushBatch` sends up to `batchSize` ops past
 *   the cursor and acknowledges them;
 * - `remote` is the remote log's last ordinal; by default `pullPage` returns pages until it is reached;
 * - scripted answers (`pushAnswers`, `pullAnswers`, `probeAnswers`) are used first, in order;
 * - `hold` makes the next call of an actor wait for a hand-resolved promise.
 */
function harness(machine: AnyStateMachine, input: Partial<RemoteInput> = {}) {
  const clock = new SimulatedClock();
  const written = new Subject<RemoteEvent>();
  const pokes = new Subject<RemoteEvent>();
  const state = { local: input.localOrdinal ?? 0, remote: 0 };
  const pushCalls: RegionInput[] = [];
  const pullCalls: RegionInput[] = [];
  const probeCalls: { name: string }[] = [];
  const pushAnswers: Answer<PushBatchOutput>[] = [];
  const pullAnswers: Answer<PullPageOutput>[] = [];
  const probeAnswers: Answer<undefined>[] = [];
  const held: { pull?: Promise<void> } = {};

  const answer = <T>(answers: Answer<T>[], fallback: () => T): T => {
    const next = answers.shift();
    if (next === undefined) return fallback();
    if ('fail' in next) throw next.fail;
    return next.ok;
  };

  const provided = machine.provide({
    actors: {
      pushBatch: fromPromise<PushBatchOutput, RegionInput>(async ({ input: call }) => {
        pushCalls.push(call);
        return answer(pushAnswers, () => {
          const cursor = Math.min(state.local, call.cursor + call.batchSize);
          return { cursor, sent: cursor - call.cursor };
        });
      }),
      pullPage: fromPromise<PullPageOutput, RegionInput>(async ({ input: call }) => {
        pullCalls.push(call);
        const gate = held.pull;
        delete held.pull;
        if (gate !== undefined) await gate;
        return answer(pullAnswers, () => {
          const cursor = Math.min(state.remote, call.cursor + call.batchSize);
          return { cursor, received: cursor - call.cursor, hasMore: cursor < state.remote };
        });
      }),
      probe: fromPromise<undefined, { name: string }>(async ({ input: call }) => {
        probeCalls.push(call);
        return answer(probeAnswers, () => undefined);
      }),
      writtenOrdinals: fromEventObservable(() => written as Subscribable<EventObject>),
      pokes: fromEventObservable(() => pokes as Subscribable<EventObject>),
    },
  });
  const actor = createActor(provided, { input: { ...baseInput, ...input }, clock });

  /** Lets promises of invoked actors settle. */
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  const flush = async () => {
    for (let i = 0; i < 3; i++) await tick();
  };
  /** Advances simulated time in 5 ms steps, letting promises settle after each. */
  const advance = async (ms: number) => {
    for (let elapsed = 0; elapsed < ms; elapsed += 5) {
      clock.increment(Math.min(5, ms - elapsed));
      await tick();
    }
    await flush();
  };
  const value = () => actor.getSnapshot().value as Record<string, string | Record<string, string>>;
  const context = () => actor.getSnapshot().context as RemoteContext;
  /** A local write committed: the bus reports its ordinal. */
  const write = (ordinal: number) => {
    state.local = ordinal;
    written.next({ type: 'sync.written', ordinal });
  };
  /** The path each region took, one entry per change, as the inspector would show it. */
  const paths: Record<string, string[]> = { push: [], pull: [] };
  const record = () => {
    for (const [region, state] of Object.entries(value())) {
      const name = typeof state === 'string' ? state : (Object.keys(state)[0] ?? '');
      const path = paths[region] ?? [];
      paths[region] = path;
      if (path.at(-1) !== name) path.push(name);
    }
  };
  actor.subscribe(record);
  /** Starts the actor (configure `state` and scripted answers first: the first pull starts at once). */
  const start = () => {
    actor.start();
    record();
    return h;
  };
  const h = {
    actor,
    start,
    clock,
    state,
    pokes,
    pushCalls,
    pullCalls,
    probeCalls,
    pushAnswers,
    pullAnswers,
    probeAnswers,
    held,
    flush,
    advance,
    value,
    context,
    paths,
    write,
  };
  return h;
}

/** The delay `scheduleRetry` draws for the given attempt, replaying the seeded PRNG from `seed`. */
function expectedDelays(seed: number, attempts: number, baseMs: number, maxMs: number): number[] {
  const delays: number[] = [];
  let current = seed;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const [draw, next] = nextRandom(current);
    current = next;
    delays.push(backoffDelay(attempt, draw, baseMs, maxMs));
  }
  return delays;
}

describe('push statechart', () => {
  it('stays idle until a write, debounces, then sends until the cursor reaches the local ordinal', async () => {
    const h = harness(pushMachine).start();
    await h.flush();
    expect(h.value()).toEqual({ push: 'idle' });
    expect(h.pushCalls).toEqual([]);

    h.write(3);
    expect(h.value()).toEqual({ push: 'debouncing' });
    h.write(25);
    await h.advance(4);
    expect(h.value()).toEqual({ push: 'debouncing' });
    expect(h.pushCalls).toEqual([]);
    expect(h.context().localOrdinal).toBe(25);

    await h.advance(1);
    await h.flush();
    // One batch per `batchSize` ops, each from the previous batch's acknowledged cursor.
    expect(h.pushCalls.map((c) => c.cursor)).toEqual([0, 10, 20]);
    expect(h.value()).toEqual({ push: 'idle' });
    expect(h.context()).toMatchObject({ pushCursor: 25, pushed: 25, pushFailures: 0, localOrdinal: 25 });
    h.actor.stop();
  });

  it('starts sending at once when restored behind the local log, and a write during a send gets another batch', async () => {
    const h = harness(pushMachine, { localOrdinal: 4, pushCursor: 1 }).start();
    expect(h.value()).toEqual({ push: 'sending' });
    h.write(7);
    await h.flush();
    expect(h.pushCalls.map((c) => c.cursor)).toEqual([1, 4]);
    expect(h.value()).toEqual({ push: 'idle' });
    expect(h.context().pushCursor).toBe(7);
    h.actor.stop();
  });

  it('the cursor follows the batch output even when the scan skipped ops (filtered or echoed)', async () => {
    const h = harness(pushMachine).start();
    h.pushAnswers.push({ ok: { cursor: 9, sent: 2 } });
    h.write(9);
    await h.advance(5);
    expect(h.value()).toEqual({ push: 'idle' });
    expect(h.context()).toMatchObject({ pushCursor: 9, pushed: 2 });
    h.actor.stop();
  });

  it('a retryable network error backs off with an exponential, jittered delay, then retries and succeeds', async () => {
    const h = harness(pushMachine).start();
    const [first, second] = expectedDelays(baseInput.seed, 2, 20, 200) as [number, number];
    expect(first).toBeGreaterThanOrEqual(10);
    expect(first).toBeLessThanOrEqual(20);
    expect(second).toBeGreaterThanOrEqual(20);
    expect(second).toBeLessThanOrEqual(40);

    h.pushAnswers.push({ fail: networkError() }, { fail: networkError('response lost') });
    h.write(5);
    await h.advance(5);
    expect(h.value()).toEqual({ push: 'backingOff' });
    expect(h.context()).toMatchObject({
      pushFailures: 1,
      retries: 1,
      pushDelayMs: first,
      pushCursor: 0,
      lastError: { kind: 'network', message: 'request lost', retryable: true },
    });
    expect(h.context().seed).not.toBe(baseInput.seed);

    await h.advance(first - 5);
    expect(h.value()).toEqual({ push: 'backingOff' });
    expect(h.pushCalls).toHaveLength(1);
    await h.advance(5);
    expect(h.pushCalls).toHaveLength(2);
    expect(h.value()).toEqual({ push: 'backingOff' });
    expect(h.context()).toMatchObject({ pushFailures: 2, retries: 2, pushDelayMs: second });

    await h.advance(second);
    expect(h.pushCalls.map((c) => c.cursor)).toEqual([0, 0, 0]);
    expect(h.value()).toEqual({ push: 'idle' });
    expect(h.context()).toMatchObject({ pushCursor: 5, pushed: 5, pushFailures: 0, retries: 2 });
    h.actor.stop();
  });

  it('the backoff is capped at retry.maxMs', async () => {
    const h = harness(pushMachine, { retry: { baseMs: 20, maxMs: 30 }, offlineAfter: 10 }).start();
    for (let i = 0; i < 4; i++) h.pushAnswers.push({ fail: networkError() });
    h.write(1);
    await h.advance(5);
    const delays: number[] = [];
    while (h.value().push === 'backingOff') {
      delays.push(h.context().pushDelayMs);
      await h.advance(h.context().pushDelayMs);
    }
    expect(delays).toEqual(expectedDelays(baseInput.seed, 4, 20, 30));
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(30);
    expect(h.value()).toEqual({ push: 'idle' });
    h.actor.stop();
  });

  it('goes offline after 3 consecutive failures, probes after retry.maxMs, and a successful probe sends again', async () => {
    const h = harness(pushMachine).start();
    for (let i = 0; i < 3; i++) h.pushAnswers.push({ fail: networkError() });
    h.probeAnswers.push({ fail: networkError('still down') });
    h.write(12);
    await h.advance(5);
    await h.advance(h.context().pushDelayMs);
    await h.advance(h.context().pushDelayMs);
    expect(h.pushCalls).toHaveLength(3);
    expect(h.value()).toEqual({ push: 'offline' });
    expect(h.context()).toMatchObject({ pushFailures: 3, retries: 3 });

    // A write while offline is noted, not sent.
    h.write(15);
    expect(h.context().localOrdinal).toBe(15);
    await h.advance(195);
    expect(h.value()).toEqual({ push: 'offline' });
    expect(h.probeCalls).toHaveLength(0);

    // First probe fails: back to offline, with the error recorded; the next one succeeds.
    await h.advance(5);
    expect(h.probeCalls).toEqual([{ name: 'hub' }]);
    expect(h.value()).toEqual({ push: 'offline' });
    expect(h.context().lastError).toMatchObject({ message: 'still down' });
    await h.advance(200);
    expect(h.probeCalls).toHaveLength(2);
    expect(h.value()).toEqual({ push: 'idle' });
    expect(h.context()).toMatchObject({ pushCursor: 15, pushFailures: 0 });
    expect(h.pushCalls.length).toBe(5);
    expect(h.paths.push).toEqual([
      'idle',
      'debouncing',
      'sending',
      'backingOff',
      'sending',
      'backingOff',
      'sending',
      'offline',
      'probing',
      'offline',
      'probing',
      'sending',
      'idle',
    ]);
    h.actor.stop();
  });

  it.each([
    ['auth', new ReactorError('auth', 'token expired', { retryable: true })],
    ['protocol', new ReactorError('protocol', 'push response: "accepted" must be a count', { retryable: false })],
    ['a non-retryable network error', new ReactorError('network', 'channel closed', { retryable: false })],
    ['a plain Error (internal, not retryable)', new Error('boom')],
  ])('a fatal error (%s) stops the region with lastError', async (_, error) => {
    const h = harness(pushMachine).start();
    h.pushAnswers.push({ fail: error });
    h.write(2);
    await h.advance(5);
    expect(h.value()).toEqual({ push: 'stopped' });
    const data = h.context().lastError;
    expect(data?.message).toBe((error as Error).message);
    expect(data?.kind).toBe(error instanceof ReactorError ? error.kind : 'internal');
    // Stopped means stopped: neither time nor writes wake it.
    h.write(3);
    await h.advance(1000);
    expect(h.value()).toEqual({ push: 'stopped' });
    expect(h.pushCalls).toHaveLength(1);
    expect(h.probeCalls).toHaveLength(0);
    h.actor.stop();
  });

  it.each([
    ['push', pushMachine, 'push'],
    ['pull', pullMachine, 'pull'],
  ] as const)('a poke while %s is offline probes at once (a transport reconnected)', async (_, machine, region) => {
    const h = harness(machine);
    const fail = region === 'push' ? h.pushAnswers : h.pullAnswers;
    for (let i = 0; i < 3; i++) fail.push({ fail: networkError() });
    h.start();
    if (region === 'push') h.write(4);
    const offline = () => (h.value() as Record<string, unknown>)[region] === 'offline';
    for (let step = 0; step < 10 && !offline(); step++) {
      await h.flush();
      if (!offline())
        await h.advance(Math.max(5, region === 'push' ? h.context().pushDelayMs : h.context().pullDelayMs));
    }
    expect(h.value()).toEqual({ [region]: 'offline' });
    h.pokes.next({ type: 'sync.poked' });
    await h.flush();
    expect(h.probeCalls).toHaveLength(1);
    expect(h.value()[region]).not.toBe('offline');
    h.actor.stop();
  });

  it('a fatal probe error stops an offline region', async () => {
    const h = harness(pushMachine, { offlineAfter: 1 }).start();
    h.pushAnswers.push({ fail: networkError() });
    h.probeAnswers.push({ fail: new ReactorError('auth', 'forbidden') });
    h.write(1);
    await h.advance(5);
    expect(h.value()).toEqual({ push: 'offline' });
    await h.advance(200);
    expect(h.value()).toEqual({ push: 'stopped' });
    expect(h.context().lastError).toMatchObject({ kind: 'auth', message: 'forbidden' });
    h.actor.stop();
  });
});

describe('pull statechart', () => {
  it('pulls on start, keeps pulling while the remote has more, then idles with the round served', async () => {
    const h = harness(pullMachine);
    h.state.remote = 23;
    h.start();
    expect(h.value()).toEqual({ pull: { pulling: 'fetching' } });
    await h.flush();
    expect(h.pullCalls.map((c) => c.cursor)).toEqual([0, 10, 20]);
    expect(h.value()).toEqual({ pull: 'idle' });
    expect(h.context()).toMatchObject({ pullCursor: 23, pulled: 23, pullRequested: 1, pullServed: 1 });
    h.actor.stop();
  });

  it('pulls again after pullIntervalMs, and at once on a poke', async () => {
    const h = harness(pullMachine).start();
    await h.flush();
    expect(h.pullCalls).toHaveLength(1);

    h.state.remote = 4;
    await h.advance(95);
    expect(h.pullCalls).toHaveLength(1);
    expect(h.value()).toEqual({ pull: 'idle' });
    await h.advance(5);
    expect(h.pullCalls).toHaveLength(2);
    expect(h.value()).toEqual({ pull: 'idle' });
    expect(h.context()).toMatchObject({ pullCursor: 4, pullRequested: 2, pullServed: 2 });

    h.state.remote = 6;
    h.pokes.next({ type: 'sync.poked' });
    expect(h.value()).toEqual({ pull: { pulling: 'fetching' } });
    await h.flush();
    expect(h.pullCalls).toHaveLength(3);
    expect(h.context()).toMatchObject({ pullCursor: 6, pullRequested: 3, pullServed: 3 });

    // The poke restarted the interval: the next timed pull is a full interval after it.
    await h.advance(95);
    expect(h.pullCalls).toHaveLength(3);
    await h.advance(5);
    expect(h.pullCalls).toHaveLength(4);
    h.actor.stop();
  });

  it('a pullNow that arrives mid-round is served by another round', async () => {
    const h = harness(pullMachine).start();
    await h.flush();
    const gate = deferred<void>();
    h.held.pull = gate.promise;
    h.actor.send({ type: 'sync.pullNow' });
    expect(h.context()).toMatchObject({ pullRequested: 2, pullRoundFor: 2, pullServed: 1 });
    await h.flush();
    expect(h.pullCalls).toHaveLength(2);

    // Arrives while the round for request 2 is fetching: that round cannot serve it.
    h.state.remote = 3;
    h.actor.send({ type: 'sync.pullNow' });
    expect(h.context()).toMatchObject({ pullRequested: 3, pullRoundFor: 2 });
    gate.resolve();
    await h.flush();

    expect(h.pullCalls).toHaveLength(3);
    expect(h.value()).toEqual({ pull: 'idle' });
    expect(h.context()).toMatchObject({ pullRequested: 3, pullServed: 3, pullCursor: 3 });
    // The extra round starts from `idle` by an eventless transition, in the same macrostep: no idle snapshot between.
    expect(h.paths.pull).toEqual(['pulling', 'idle', 'pulling', 'idle']);
    h.actor.stop();
  });

  it('a failed page backs off and resumes from the last committed cursor', async () => {
    const h = harness(pullMachine);
    h.state.remote = 15;
    h.pullAnswers.push({ ok: { cursor: 10, received: 10, hasMore: true } }, { fail: networkError() });
    h.start();
    await h.flush();
    expect(h.value()).toEqual({ pull: 'backingOff' });
    const [delay] = expectedDelays(baseInput.seed, 1, 20, 200);
    expect(h.context()).toMatchObject({ pullCursor: 10, pullFailures: 1, pullDelayMs: delay, pullServed: 0 });

    // A request while backing off is remembered and served by the resumed round.
    h.actor.send({ type: 'sync.pullNow' });
    await h.advance(delay as number);
    expect(h.pullCalls.map((c) => c.cursor)).toEqual([0, 10, 10]);
    expect(h.value()).toEqual({ pull: 'idle' });
    expect(h.context()).toMatchObject({ pullCursor: 15, pullFailures: 0, pullRequested: 2, pullServed: 2 });
    h.actor.stop();
  });

  it('goes offline after 3 failed pulls and a successful probe pulls again', async () => {
    const h = harness(pullMachine);
    for (let i = 0; i < 3; i++) h.pullAnswers.push({ fail: networkError() });
    h.state.remote = 2;
    h.start();
    await h.flush();
    await h.advance(h.context().pullDelayMs);
    await h.advance(h.context().pullDelayMs);
    expect(h.value()).toEqual({ pull: 'offline' });
    expect(h.context()).toMatchObject({ pullFailures: 3, retries: 3 });
    await h.advance(200);
    expect(h.probeCalls).toHaveLength(1);
    expect(h.value()).toEqual({ pull: 'idle' });
    expect(h.context()).toMatchObject({ pullCursor: 2, pullFailures: 0, pullServed: 1 });
    expect(h.paths.pull).toEqual([
      'pulling',
      'backingOff',
      'pulling',
      'backingOff',
      'pulling',
      'offline',
      'probing',
      'pulling',
      'idle',
    ]);
    h.actor.stop();
  });

  it('a fatal pull error stops the region', async () => {
    const h = harness(pullMachine);
    h.pullAnswers.push({ fail: new ReactorError('protocol', 'pull response: "hasMore" must be a boolean') });
    h.start();
    await h.flush();
    expect(h.value()).toEqual({ pull: 'stopped' });
    expect(h.context().lastError).toMatchObject({ kind: 'protocol', retryable: false });
    h.pokes.next({ type: 'sync.poked' });
    await h.advance(500);
    expect(h.value()).toEqual({ pull: 'stopped' });
    expect(h.pullCalls).toHaveLength(1);
    h.actor.stop();
  });
});

describe('modes', () => {
  it('push mode has no pull region: it never pulls, whatever the events', async () => {
    const h = harness(pushMachine).start();
    h.pokes.next({ type: 'sync.poked' });
    h.actor.send({ type: 'sync.pullNow' });
    await h.advance(300);
    expect(Object.keys(h.value())).toEqual(['push']);
    expect(h.context().mode).toBe('push');
    expect(h.pullCalls).toEqual([]);
    h.actor.stop();
  });

  it('pull mode has no push region: writes are never sent', async () => {
    const h = harness(pullMachine, { localOrdinal: 5 }).start();
    h.write(9);
    await h.advance(300);
    expect(Object.keys(h.value())).toEqual(['pull']);
    expect(h.context().mode).toBe('pull');
    expect(h.pushCalls).toEqual([]);
    h.actor.stop();
  });

  it('ping-pong runs both regions in parallel: a push backing off does not hold up pulls', async () => {
    const h = harness(pingPongMachine);
    h.state.remote = 3;
    h.start();
    await h.flush();
    expect(h.value()).toEqual({ push: 'idle', pull: 'idle' });
    expect(h.context()).toMatchObject({ mode: 'ping-pong', pullCursor: 3 });

    h.pushAnswers.push({ fail: networkError() });
    h.write(4);
    h.state.remote = 5;
    h.pokes.next({ type: 'sync.poked' });
    expect(h.value()).toEqual({ push: 'debouncing', pull: { pulling: 'fetching' } });
    await h.advance(5);
    expect(h.value()).toEqual({ push: 'backingOff', pull: 'idle' });
    expect(h.context()).toMatchObject({ pullCursor: 5, pushCursor: 0, pushFailures: 1, pullFailures: 0 });

    await h.advance(h.context().pushDelayMs);
    expect(h.value()).toEqual({ push: 'idle', pull: 'idle' });
    expect(h.context()).toMatchObject({ pushCursor: 4, pullCursor: 5 });
    h.actor.stop();
  });
});

describe('a remote that lost its data or was replaced', () => {
  it('a push answer saying so restarts both cursors, records why, and sends everything again', async () => {
    const h = harness(pushMachine, { localOrdinal: 12, pushCursor: 12, pullCursor: 9 });
    h.pushAnswers.push({ ok: { cursor: 0, sent: 0, reset: 'remote "hub" is reactor "h2" now' } });
    h.start();
    h.write(14);
    await h.advance(5);
    await h.flush();
    expect(h.pushCalls.map((call) => call.cursor)).toEqual([12, 0, 10]);
    expect(h.context()).toMatchObject({ epoch: 1, pushCursor: 14, pullCursor: 0 });
    expect(h.context().lastError).toMatchObject({ kind: 'conflict', message: 'remote "hub" is reactor "h2" now' });
    expect(h.value()).toEqual({ push: 'idle' });
    h.actor.stop();
  });

  it('a pulled page saying so fetches again from the start', async () => {
    const h = harness(pullMachine, { pullCursor: 30 });
    h.state.remote = 5;
    h.pullAnswers.push({ ok: { cursor: 0, received: 0, hasMore: true, reset: 'lost data' } });
    h.start();
    await h.flush();
    expect(h.pullCalls.map((call) => call.cursor)).toEqual([30, 0]);
    expect(h.context()).toMatchObject({ pullCursor: 5, epoch: 1 });
    expect(h.value()).toEqual({ pull: 'idle' });
    h.actor.stop();
  });

  it('an answer to a request made before the restart does not move the cursor back up', async () => {
    const h = harness(pingPongMachine, { localOrdinal: 20, pushCursor: 20, pullCursor: 8 });
    h.state.remote = 8;
    let release: () => void = () => {};
    h.held.pull = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The pull (epoch 0) is held; meanwhile a push answer reports the reset.
    h.pullAnswers.push({ ok: { cursor: 8, received: 0, hasMore: false, epoch: 0 } });
    h.pushAnswers.push({ ok: { cursor: 0, sent: 0, reset: 'replaced', epoch: 0 } });
    h.start();
    h.write(21);
    await h.advance(5);
    expect(h.context()).toMatchObject({ epoch: 1, pullCursor: 0 });
    release();
    await h.flush();
    // The stale page was ignored and the region fetched again from 0.
    expect(h.pullCalls.map((call) => call.cursor)).toEqual([8, 0]);
    expect(h.context().pullCursor).toBe(8);
    h.actor.stop();
  });
});
