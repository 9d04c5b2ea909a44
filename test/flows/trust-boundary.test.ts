import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  connect,
  decodeHlc,
  defineDocumentModel,
  encodeHlc,
  type OperationEnvelope,
  type Reactor,
} from '../../src/index.js';
import { envelope, freshStorage, idleStatus, reactorsPerTest } from '../support.js';

/**
 * What a hostile peer or a careless caller sends can neither crash, stall, poison nor split a
 * reactor: one test per way it used to (see docs/sync.md, "The trust boundary").
 */

const reactor = reactorsPerTest({ retry: { baseMs: 5, maxMs: 40 } });

const T0 = Date.UTC(2026, 0, 1);

/** A clock that stands at T0 until a test moves it. */
function standingClock(): SimulatedClock {
  const clock = new SimulatedClock();
  clock.set(T0);
  return clock;
}

let seq = 0;
/** An op by `origin` as a peer would send it, stamped at `wall`. */
function op(content: Partial<Omit<OperationEnvelope, 'id'>> & { wall?: number } = {}): OperationEnvelope {
  seq += 1;
  const { wall = T0 - 60_000 + seq, ...rest } = content;
  const origin = rest.origin ?? 'peer';
  return envelope({
    documentId: 'c',
    scope: 'global',
    branch: 'main',
    type: 'INCREMENT',
    input: { by: 1 },
    timestamp: encodeHlc({ wall, logical: 0 }, origin),
    origin,
    ...rest,
  });
}
const create = (documentId = 'c', model = 'counter', wall = T0 - 120_000) =>
  op({ documentId, scope: 'document', type: 'CREATE_DOCUMENT', input: { model }, wall });

const countOf = (r: Reactor, id = 'c') => (r.documents.get(id)?.state as { count: number } | undefined)?.count;

describe('one id, one content', () => {
  it('a peer that sends one id with two contents to two replicas cannot split them; their sync carries on', async () => {
    const a = await reactor({ id: 'a' });
    const b = await reactor({ id: 'b' });
    const honest = op({ input: { by: 1 } });
    const forged = { ...honest, input: { by: 1_000 } };
    // The hostile peer delivers the honest op to a and the forgery (same id) to b.
    await a.endpoint.push({ from: 'evil', operations: [create(), honest], cursor: 2 }, { peer: 'evil' });
    const toB = await b.endpoint.push({ from: 'evil', operations: [create(), forged], cursor: 2 }, { peer: 'evil' });
    expect(toB.rejected).toEqual([
      {
        id: honest.id,
        reason: expect.objectContaining({ kind: 'protocol', message: expect.stringMatching(/does not match/) }),
      },
    ]);
    expect(countOf(b)).toBe(0);

    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'ping-pong' });
    await a.sync.settled();
    const ids = async (r: Reactor) => (await r.operations('c')).map((o) => o.id);
    expect(await ids(b)).toEqual(await ids(a));
    expect(b.documents.get('c')).toEqual(a.documents.get('c'));
    expect(countOf(a)).toBe(1);
    // Later honest writes still arrive both ways.
    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 10 } }]);
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 100 } }]);
    await a.sync.settled();
    await a.sync.settled();
    expect(countOf(a)).toBe(111);
    expect(b.documents.get('c')).toEqual(a.documents.get('c'));
    expect((await idleStatus(a, 'b'))?.phase).toBe('idle');
  });
});

describe('the clock', () => {
  it('an op stamped far ahead is not applied and does not move the clock; the rest of its batch is', async () => {
    const clock = standingClock();
    const r = await reactor({ clock });
    const future = op({ wall: Date.UTC(9999, 0, 1), input: { by: 1_000 } });
    const response = await r.endpoint.push(
      { from: 'peer', operations: [create(), future, op({ input: { by: 2 } })], cursor: 3 },
      { peer: 'peer' },
    );
    expect(response).toMatchObject({
      accepted: 2,
      rejected: [{ id: future.id, reason: { kind: 'clock-drift', retryable: true } }],
    });
    expect(countOf(r)).toBe(2);
    const { operations } = await r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    expect(decodeHlc(operations[0]?.timestamp as string).wall).toBe(T0);
    expect(r.sync.deadLetters()).toEqual([
      expect.objectContaining({
        direction: 'receive',
        operation: future,
        reason: expect.objectContaining({
          kind: 'clock-drift',
          message: expect.stringMatching(/maxClockDrift is 86400000 ms/),
        }),
      }),
    ]);
  });

  it('a clock-drift dead letter can be taken again once its time has come (maxClockDrift option)', async () => {
    const clock = standingClock();
    const r = await reactor({ clock, maxClockDrift: 60_000 });
    const soon = op({ wall: T0 + 5 * 60_000, input: { by: 7 } });
    await r.endpoint.push({ from: 'peer', operations: [create(), soon], cursor: 2 }, { peer: 'peer' });
    const [letter] = r.sync.deadLetters();
    expect(letter?.reason.kind).toBe('clock-drift');
    expect(await r.sync.retry(letter?.id as string)).toMatchObject({
      resolved: false,
      reason: { kind: 'clock-drift' },
    });
    clock.increment(5 * 60_000);
    expect(await r.sync.retry(letter?.id as string)).toEqual({ resolved: true });
    expect(countOf(r)).toBe(7);
    expect(r.sync.deadLetters()).toEqual([]);
  });

  it('the largest encodable timestamp is refused, so the next local op is well formed and sorts last', async () => {
    const clock = standingClock();
    const r = await reactor({ clock });
    const last = op({ wall: Number.MAX_SAFE_INTEGER });
    // Eleven base-36 digits past the largest exact number are not a timestamp at all.
    const beyond = { ...last, timestamp: `zzzzzzzzzzz:zzzzz:peer` };
    const response = await r.endpoint.push(
      { from: 'peer', operations: [create(), last, beyond], cursor: 3 },
      { peer: 'peer' },
    );
    expect(response.rejected.map((refusal) => refusal.reason.kind)).toEqual(['protocol', 'clock-drift']);
    const { operations } = await r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    expect(operations[0]?.timestamp).toMatch(/^[0-9a-z]{11}:[0-9a-z]{5}:/);
    expect((await r.operations('c')).map((o) => o.id)).toEqual([operations[0]?.id]);
  });

  it('an op this reactor refuses (unknown model) never moves the clock', async () => {
    const clock = standingClock();
    const r = await reactor({ clock });
    const hour = T0 + 3_600_000;
    await r.endpoint.push({ from: 'peer', operations: [create('x', 'unknown', hour)], cursor: 1 }, { peer: 'peer' });
    expect(r.sync.deadLetters().map((letter) => letter.reason.kind)).toEqual(['unknown-model']);
    await r.createDocument('counter', { id: 'mine' });
    const { operations } = await r.mutate('mine', [{ type: 'INCREMENT', input: { by: 1 } }]);
    expect(decodeHlc(operations[0]?.timestamp as string).wall).toBe(T0);
  });

  it('refuses a maxClockDrift that is not a whole number of milliseconds', async () => {
    await expect(reactor({ maxClockDrift: -1 })).rejects.toMatchObject({
      kind: 'validation',
      message: expect.stringMatching(/"maxClockDrift" must be a whole number of milliseconds/),
    });
    await expect(reactor({ maxClockDrift: Number.POSITIVE_INFINITY })).rejects.toMatchObject({ kind: 'validation' });
  });
});

describe('reducers cannot corrupt state', () => {
  type Items = { items: number[] };
  const sloppy = defineDocumentModel({
    type: 'sloppy',
    initialState: (): Items => ({ items: [] }),
    reducers: {
      ADD: (state: Items, input: { n: number }): Items => ({ items: [...state.items, input.n] }),
      // Changes the state it is given instead of returning a new one.
      PUSH: (state: Items, input: { n: number }): Items => {
        state.items.push(input.n);
        return state;
      },
      NOTHING: (): Items => undefined as unknown as Items,
      LATER: ((state: Items) => Promise.resolve(state)) as unknown as (state: Items) => Items,
      DATED: (state: Items) => ({ ...state, at: new Date(0) }),
      CLASSY: (state: Items) => ({ ...state, tags: new Set([1]) }),
    },
  });
  const models = [sloppy];

  it('a reducer that changes its state in place is refused at submit: live view, restart and peer agree', async () => {
    const storage = freshStorage();
    const a = await reactor({ models, storage });
    const b = await reactor({ models });
    await a.createDocument('sloppy', { id: 's' });
    await a.mutate('s', [{ type: 'ADD', input: { n: 1 } }]);
    await expect(a.mutate('s', [{ type: 'PUSH', input: { n: 2 } }])).rejects.toMatchObject({
      kind: 'validation',
      message: expect.stringMatching(/states are frozen: a reducer must return a new state/),
    });
    await a.mutate('s', [{ type: 'ADD', input: { n: 3 } }]);
    expect(a.documents.get('s')?.state).toEqual({ items: [1, 3] });
    // Even the snapshot an app reads is frozen: changing it cannot reach the view.
    const snapshot = a.documents.get('s')?.state as Items | undefined;
    expect(() => snapshot?.items.push(9)).toThrow(TypeError);
    expect(Object.isFrozen(a.documents.get('s'))).toBe(true);
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'push' });
    await a.sync.settled();
    expect(b.documents.get('s')).toEqual(a.documents.get('s'));
    const live = a.documents.get('s');
    await a.stop();
    const again = await reactor({ models, storage });
    expect(again.documents.get('s')).toEqual(live);
  });

  it('undefined, a Promise, a Date or a Set as the next state is a reducer error: refused at submit, marked when loaded', async () => {
    const a = await reactor({ models });
    await a.createDocument('sloppy', { id: 's' });
    const cases: [string, RegExp][] = [
      ['NOTHING', /returned undefined/],
      ['LATER', /state is a Promise/],
      ['DATED', /state\.at is a Date/],
      ['CLASSY', /state\.tags is a Set/],
    ];
    for (const [type, message] of cases) {
      await expect(a.mutate('s', [{ type }])).rejects.toMatchObject({
        kind: 'validation',
        message: expect.stringMatching(message),
      });
    }
    expect(await a.operations('s')).toEqual([]);
    // The same ops made elsewhere are kept and marked, and the next local write folds from the same state.
    const b = await reactor({ models });
    const ops = [
      op({ documentId: 's', scope: 'document', type: 'CREATE_DOCUMENT', input: { model: 'sloppy' } }),
      ...cases.map(([type]) => op({ documentId: 's', type, input: undefined })),
      op({ documentId: 's', type: 'ADD', input: { n: 5 } }),
    ];
    await b.load(ops);
    const log = await b.operations('s');
    expect(log.map((o) => o.error === undefined)).toEqual([false, false, false, false, true]);
    await b.mutate('s', [{ type: 'ADD', input: { n: 6 } }]);
    expect(b.documents.get('s')?.state).toEqual({ items: [5, 6] });
    expect((await b.operations('s')).at(-1)?.error).toBeUndefined();
  });

  it('a cyclic input is refused at submit, and the reactor goes on working', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'c' });
    const input: Record<string, unknown> = { by: 1 };
    input.self = input;
    await expect(r.mutate('c', [{ type: 'INCREMENT', input }])).rejects.toMatchObject({ kind: 'validation' });
    await r.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    expect(countOf(r)).toBe(2);
  });
});

describe('the endpoint boundary', () => {
  it('the source of a push is the peer that delivered it, not the "from" its body claims', async () => {
    const hub = await reactor({ id: 'hub' });
    const alice = await reactor({ id: 'alice' });
    const mallory = await reactor({ id: 'mallory' });
    await hub.createDocument('counter', { id: 'c' });
    await alice.sync.add({ name: 'hub', channel: connect(alice, hub), mode: 'ping-pong' });
    await alice.sync.settled();
    // Mallory's pushes claim to come from alice, so they would never be sent to her.
    const spoof = {
      push: (request: Parameters<Reactor['endpoint']['push']>[0]) =>
        hub.endpoint.push({ ...(request as object), from: 'alice' }, { peer: 'mallory' }),
      pull: (request: unknown) => hub.endpoint.pull(request, { peer: 'mallory' }),
      close: () => {},
    };
    await mallory.sync.add({ name: 'hub', channel: spoof as never, mode: 'ping-pong' });
    await mallory.sync.settled();
    await mallory.mutate('c', [{ type: 'INCREMENT', input: { by: 5 } }]);
    await mallory.sync.settled();
    await alice.sync.settled();
    expect(countOf(alice)).toBe(5);
  });
});
