import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Channel,
  connect,
  createReactor,
  encodeHlc,
  type OperationEnvelope,
  type Reactor,
  ReactorError,
  type RemoteStatus,
} from '../../src/index.js';
import { advanceTo, SimClock } from '../../src/sim/index.js';
import { counter, envelope, freshStorage, list, openReactor } from '../support.js';

const open: Reactor[] = [];
const retry = { baseMs: 5, maxMs: 40 };
async function reactor(id: string) {
  const r = await openReactor({ id, retry });
  open.push(r);
  return r;
}
/** A reactor that knows only the counter model. */
async function counterOnly(id: string, storage = freshStorage()) {
  const r = await createReactor({ models: [counter], storage, id, retry });
  open.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.stop()));
});

let seq = 0;
function op(partial: Partial<Omit<OperationEnvelope, 'id'>> = {}): OperationEnvelope {
  seq += 1;
  return envelope({
    documentId: 'c',
    scope: 'global',
    branch: 'main',
    type: 'INCREMENT',
    input: { by: 1 },
    timestamp: encodeHlc({ wall: 1_000 + seq, logical: 0 }, 'x'),
    origin: 'x',
    ...partial,
  });
}

/** Every op `r` serves, in arrival order: the whole log, as a puller would see it. */
async function wholeLog(r: Reactor) {
  const page = await r.endpoint.pull({ cursor: 0, limit: 5000, filter: { scopes: ['document', 'global', 'local'] } });
  return page.operations;
}

/** The call rejects with a `protocol` ReactorError whose message matches, and `r` stores nothing. */
async function expectProtocolError(r: Reactor, call: () => Promise<unknown>, message: RegExp) {
  const before = await wholeLog(r);
  const documents = r.documents.list();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReactorError);
  expect(error).toMatchObject({ kind: 'protocol' });
  expect((error as Error).message).toMatch(message);
  await r.whenIdle();
  expect(await wholeLog(r)).toEqual(before);
  expect(r.documents.list()).toEqual(documents);
}

/** Wraps a channel: while `down`, every call fails as a lost connection would. */
function switchable(channel: Channel, options: { failFirst?: number } = {}) {
  let failures = options.failFirst ?? 0;
  const state = { down: false, calls: 0 };
  const gate = () => {
    state.calls += 1;
    if (state.down) throw new Error('connection refused');
    if (failures > 0) {
      failures -= 1;
      throw new Error('connection reset');
    }
  };
  const wrapped: Channel = {
    async push(request) {
      gate();
      return channel.push(request);
    },
    async pull(request) {
      gate();
      return channel.pull(request);
    },
    ...(channel.pokes === undefined ? {} : { pokes: channel.pokes }),
    close: () => channel.close(),
  };
  return { channel: wrapped, state };
}

/** Resolves with the first status of `name` that passes `test`. */
function statusWhere(r: Reactor, name: string, test: (status: RemoteStatus) => boolean) {
  return firstValueFrom(
    r.sync.status$.pipe(
      filter((all) => all.some((s) => s.name === name && test(s))),
      timeout(5_000),
    ),
  ).then((all) => all.find((s) => s.name === name) as RemoteStatus);
}

const count = (r: Reactor, documentId = 'c') =>
  (r.documents.get(documentId)?.state as { count: number } | undefined)?.count;

describe('malformed requests at the endpoint are protocol errors; a bad op is refused alone', () => {
  async function target() {
    const b = await reactor('b');
    await b.createDocument('counter', { id: 'c' });
    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    return b;
  }

  it('push requests that are not objects or lack fields', async () => {
    const b = await target();
    const good = op();
    const cases: [unknown, RegExp][] = [
      [null, /push request: expected an object, got null/],
      ['ops', /push request: expected an object/],
      [[good], /push request: expected an object, got an array/],
      [{}, /"from" must name the sending reactor/],
      [{ from: '', operations: [good], cursor: 1 }, /"from"/],
      [{ from: 'x', cursor: 1 }, /"operations" must be an array, got undefined/],
      [{ from: 'x', operations: { 0: good }, cursor: 1 }, /"operations" must be an array/],
      [{ from: 'x', operations: [good] }, /"cursor" must be a non-negative integer, got undefined/],
      [{ from: 'x', operations: [good], cursor: -1 }, /"cursor" must be a non-negative integer, got -1/],
      [{ from: 'x', operations: [good], cursor: 1.5 }, /"cursor"/],
      [{ from: 'x', operations: [good], cursor: '3' }, /"cursor"/],
    ];
    for (const [request, message] of cases) await expectProtocolError(b, () => b.endpoint.push(request), message);
    expect(count(b)).toBe(1);
  });

  /** Pushes `bad` between two good ops: the good ones are stored, `bad` is refused with a protocol reason. */
  async function expectRefusedAlone(b: Reactor, bad: unknown, message: RegExp) {
    const before = (await b.operations('c')).length;
    const request = { from: 'x', operations: [op(), bad, op({ documentId: 'other' })], cursor: 3 };
    const response = await b.endpoint.push(request);
    expect(response).toMatchObject({ accepted: 2, duplicates: 0, cursor: 3 });
    expect(response.rejected).toHaveLength(1);
    expect(response.rejected[0]?.reason).toMatchObject({ kind: 'protocol', retryable: false });
    expect(response.rejected[0]?.reason.message).toMatch(message);
    expect(await b.operations('c')).toHaveLength(before + 1);
    // Refused at the door: a dead letter on the sender's side, nothing filed here.
    expect(b.sync.deadLetters()).toEqual([]);
  }

  it('push requests with malformed operation envelopes, wherever they sit in the batch', async () => {
    const b = await target();
    const { id: _id, ...noId } = op();
    const { documentId: _documentId, ...noDocument } = op();
    const { origin: _origin, ...noOrigin } = op();
    const cases: [unknown, RegExp][] = [
      [null, /operation 1: expected an operation object, got null/],
      ['op', /operation 1: expected an operation object/],
      [noId, /operation 1: "id" must be a non-empty string .*, got undefined/],
      [{ ...op(), id: '' }, /operation 1: "id" must be a non-empty string/],
      [noDocument, /operation 1: "documentId" must be a non-empty string/],
      [{ ...op(), scope: 'shared' }, /operation 1: "scope" must be one of document, global, local, got "shared"/],
      [{ ...op(), branch: 7 }, /operation 1: "branch" must be a non-empty string .*, got 7/],
      [{ ...op(), type: null }, /operation 1: "type" must be a non-empty string/],
      [{ ...op(), timestamp: 'yesterday' }, /operation 1: "timestamp" must be an HLC timestamp/],
      [{ ...op(), timestamp: 12 }, /operation 1: "timestamp"/],
      [noOrigin, /operation 1: "origin" must be a non-empty string/],
      [{ ...op(), input: { by: Number.NaN } }, /operation 1: input\.by is NaN; inputs must be JSON data/],
    ];
    for (const [bad, message] of cases) await expectRefusedAlone(b, bad, message);
    expect(await b.operations('other')).toHaveLength(cases.length);
  });

  it('an op id twice in one push with different contents: the altered copy is refused; the same op twice is a duplicate', async () => {
    const b = await target();
    const first = op();
    const forged = { ...first, input: { by: 1_000 } };
    const response = await b.endpoint.push({ from: 'x', operations: [op(), first, forged], cursor: 3 });
    expect(response).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(response.rejected).toEqual([
      {
        id: first.id,
        reason: expect.objectContaining({
          kind: 'protocol',
          message: expect.stringMatching(/operation 2: id .* does not match the operation's contents/),
        }),
      },
    ]);
    await expect(b.endpoint.push({ from: 'x', operations: [first, { ...first }], cursor: 2 })).resolves.toEqual({
      from: b.id,
      accepted: 0,
      duplicates: 2,
      rejected: [],
      cursor: 2,
    });
    expect((await b.operations('c')).map((o) => o.id)).toContain(first.id);
    expect(await b.operations('c')).toHaveLength(3);
    expect(count(b)).toBe(3);
  });

  it('an op whose id is already stored, sent with different contents beside innocent ops', async () => {
    const b = await target();
    const [stored] = await b.operations('c');
    expect(stored).toBeDefined();
    const { index: _index, ...original } = stored as NonNullable<typeof stored>;
    const response = await b.endpoint.push({
      from: 'x',
      operations: [op(), { ...original, input: { by: 99 } }, op()],
      cursor: 3,
    });
    expect(response).toMatchObject({ accepted: 2, rejected: [{ id: original.id, reason: { kind: 'protocol' } }] });
    // Sent again unchanged, it is a harmless duplicate.
    await expect(b.endpoint.push({ from: 'x', operations: [original], cursor: 1 })).resolves.toMatchObject({
      accepted: 0,
      duplicates: 1,
    });
    expect(count(b)).toBe(3);
  });

  it('a batch over the limit of 5000 operations', async () => {
    const b = await target();
    const operations = Array.from({ length: 5001 }, () => op());
    await expectProtocolError(
      b,
      () => b.endpoint.push({ from: 'x', operations, cursor: 5001 }),
      /batch of 5001 operations exceeds the limit of 5000; send smaller batches/,
    );
  });

  it('pull requests that are not objects, or carry a bad limit, cursor, sender or filter', async () => {
    const b = await target();
    const cases: [unknown, RegExp][] = [
      [undefined, /pull request: expected an object, got undefined/],
      [42, /pull request: expected an object, got 42/],
      [{ cursor: 0 }, /"limit" must be an integer from 0 to 5000, got undefined/],
      [{ cursor: 0, limit: -1 }, /"limit" must be an integer from 0 to 5000, got -1/],
      [{ cursor: 0, limit: 5001 }, /"limit" must be an integer from 0 to 5000, got 5001/],
      [{ cursor: 0, limit: 2.5 }, /"limit"/],
      [{ limit: 10 }, /"cursor" must be a non-negative integer, got undefined/],
      [{ cursor: -3, limit: 10 }, /"cursor" must be a non-negative integer, got -3/],
      [{ cursor: 'start', limit: 10 }, /"cursor" must be a non-negative integer, got "start"/],
      [{ cursor: 0, limit: 10, from: 5 }, /"from" must be a string, got 5/],
      [{ cursor: 0, limit: 10, filter: 'all' }, /pull request filter: expected an object, got "all"/],
      [{ cursor: 0, limit: 10, filter: [] }, /filter: expected an object, got an array/],
      [{ cursor: 0, limit: 10, filter: { documentIds: 'c' } }, /"filter.documentIds" must be an array of strings/],
      [{ cursor: 0, limit: 10, filter: { documentIds: ['c', 1] } }, /"filter.documentIds"/],
      [{ cursor: 0, limit: 10, filter: { scopes: ['shared'] } }, /"filter.scopes" must be an array of document/],
      [{ cursor: 0, limit: 10, filter: { scopes: 'global' } }, /"filter.scopes"/],
      [{ cursor: 0, limit: 10, filter: { branch: '' } }, /"filter.branch" must be a non-empty string/],
      [{ cursor: 0, limit: 10, filter: { branch: 1 } }, /"filter.branch"/],
    ];
    for (const [request, message] of cases) await expectProtocolError(b, () => b.endpoint.pull(request), message);
    // The same endpoint serves a well-formed request.
    const page = await b.endpoint.pull({ cursor: 0, limit: 10, filter: { documentIds: ['c'] } });
    expect(page.operations.map((o) => o.type)).toEqual(['CREATE_DOCUMENT', 'INCREMENT']);
  });
});

describe('dead letters', () => {
  async function writeBoth(a: Reactor) {
    await a.createDocument('list', { id: 'l' });
    await a.mutate('l', [{ type: 'ADD', input: { item: 'one' } }]);
    await a.mutate('l', [{ type: 'ADD', input: { item: 'two' } }]);
    await a.createDocument('counter', { id: 'c' });
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 5 } }]);
  }

  it('push: a CREATE of a model the receiver lacks is refused and listed; the document’s ops wait there, nothing is blocked', async () => {
    const a = await reactor('a');
    const b = await counterOnly('b');
    await writeBoth(a);
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'push' });
    await a.sync.settled();

    expect(b.documents.get('c')).toEqual(a.documents.get('c'));
    expect(b.documents.get('l')).toBeUndefined();
    expect(await b.operations('l', { scope: 'document' })).toEqual([]);
    // Without their CREATE the list's ops can never be folded here, but they are kept (and synced
    // on): only a stored CREATE decides a document's type, never a refused one.
    expect((await b.operations('l')).map((o) => o.id)).toEqual((await a.operations('l')).map((o) => o.id));
    const [create] = await a.operations('l', { scope: 'document' });
    const letters = a.sync.deadLetters();
    expect(letters).toEqual([
      expect.objectContaining({
        remote: 'b',
        direction: 'push',
        operation: expect.objectContaining({ id: create?.id }),
        reason: expect.objectContaining({ kind: 'unknown-model', message: expect.stringMatching(/"l".*"list"/) }),
      }),
    ]);
    // The receiver files it too, as received.
    expect(b.sync.deadLetters().map((letter) => letter.direction)).toEqual(['receive']);

    // The counter keeps flowing, and the remote is healthy.
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    await a.mutate('l', [{ type: 'ADD', input: { item: 'three' } }]);
    await a.sync.settled();
    expect(count(b)).toBe(7);
    expect(a.sync.status('b')).toMatchObject({ phase: 'idle', pending: 0, lastError: undefined });
    expect(a.sync.deadLetters()).toHaveLength(1);
    expect(await b.operations('l')).toHaveLength(3);

    // A retry is refused again while b lacks the model, and the letter stays; discard drops it.
    expect(await a.sync.retry(letters[0]?.id as string)).toMatchObject({
      resolved: false,
      reason: { kind: 'unknown-model' },
    });
    expect(a.sync.deadLetters().map((letter) => letter.id)).toEqual([letters[0]?.id]);
    expect(b.documents.get('l')).toBeUndefined();
    await a.sync.discard(letters[0]?.id as string);
    expect(a.sync.deadLetters()).toEqual([]);
    await expect(a.sync.discard('no-such-letter')).rejects.toMatchObject({ kind: 'not-found' });
    await expect(a.sync.retry('no-such-letter')).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('push: once the receiver knows the model, retrying the CREATE materialises the document with every op', async () => {
    const a = await reactor('a');
    const storage = freshStorage();
    const b = await counterOnly('b', storage);
    await writeBoth(a);
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'push' });
    await a.sync.settled();
    expect(a.sync.deadLetters()).toHaveLength(1);
    await b.stop();

    const upgraded = await createReactor({ models: [counter, list], storage, id: 'b', retry });
    open.push(upgraded);
    await a.sync.add({ name: 'b', channel: connect(a, upgraded) });
    for (const letter of a.sync.deadLetters()) {
      expect(await a.sync.retry(letter.id)).toEqual({ resolved: true });
    }
    expect(a.sync.deadLetters()).toEqual([]);
    expect(upgraded.documents.get('l')).toEqual(a.documents.get('l'));
  });

  it('pull: a refused CREATE lands in the puller’s own dead letters, and a retry after upgrading resolves it', async () => {
    const a = await reactor('a');
    const storage = freshStorage();
    const b = await counterOnly('b', storage);
    await writeBoth(a);
    await b.sync.add({ name: 'a', channel: connect(b, a), mode: 'pull', pullIntervalMs: 30 });
    await b.sync.settled();

    expect(b.documents.get('c')).toEqual(a.documents.get('c'));
    expect(b.documents.get('l')).toBeUndefined();
    const letters = b.sync.deadLetters();
    expect(letters).toEqual([
      expect.objectContaining({
        remote: 'a',
        direction: 'pull',
        operation: expect.objectContaining({ documentId: 'l', type: 'CREATE_DOCUMENT' }),
        reason: expect.objectContaining({ kind: 'unknown-model' }),
      }),
    ]);
    expect(a.sync.deadLetters()).toEqual([]);
    // The cursor moved past it: the counter keeps flowing, the refused op is not pulled again.
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    await a.mutate('l', [{ type: 'ADD', input: { item: 'three' } }]);
    await b.sync.settled();
    expect(count(b)).toBe(7);
    expect(b.sync.deadLetters()).toHaveLength(1);
    expect(await b.operations('l')).toHaveLength(3);
    expect(await b.sync.retry(letters[0]?.id as string)).toMatchObject({
      resolved: false,
      reason: { kind: 'unknown-model' },
    });
    expect(b.sync.deadLetters()).toHaveLength(1);

    await b.stop();
    const upgraded = await createReactor({ models: [counter, list], storage, id: 'b', retry });
    open.push(upgraded);
    expect(await upgraded.sync.retry(letters[0]?.id as string)).toEqual({ resolved: true });
    expect(upgraded.sync.deadLetters()).toEqual([]);
    expect(upgraded.documents.get('l')).toEqual(a.documents.get('l'));
  });
});

describe('channel failures', () => {
  /** A channel that refuses every call as an expired credential would. */
  const expired: Channel = {
    push: () => Promise.reject(new ReactorError('auth', 'token expired')),
    pull: () => Promise.reject(new ReactorError('auth', 'token expired')),
    close: () => {},
  };

  it('a fatal error stops the remote, and settled() rejects instead of hanging', async () => {
    const a = await reactor('a');
    await a.createDocument('counter', { id: 'c' });
    await a.sync.add({ name: 'b', channel: expired, mode: 'ping-pong', pullIntervalMs: 30 });
    // Called while the first pull is in flight: it must reject once the remote stops.
    await expect(a.sync.settled()).rejects.toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/token expired/),
    });
    const status = await statusWhere(a, 'b', (s) => s.phase === 'stopped');
    expect(status.lastError).toMatchObject({ kind: 'auth', message: 'token expired' });
    // Called once it has stopped: rejects at once, and keeps rejecting.
    await expect(a.sync.settled()).rejects.toBeInstanceOf(ReactorError);
    await expect(a.sync.settled()).rejects.toMatchObject({ kind: 'auth', retryable: false });
  });

  it('a push-only remote stops on a fatal error too', async () => {
    const a = await reactor('a');
    await a.sync.add({ name: 'b', channel: expired, mode: 'push' });
    await a.createDocument('counter', { id: 'c' });
    await expect(a.sync.settled()).rejects.toMatchObject({ kind: 'auth' });
    expect(a.sync.status('b')).toMatchObject({ phase: 'stopped', push: 'stopped', pull: 'disabled' });
    expect(a.sync.status('b')?.pending).toBeGreaterThan(0);
  });

  it('a few network errors: the remote backs off, retries and converges', async () => {
    const a = await reactor('a');
    const b = await reactor('b');
    await a.createDocument('counter', { id: 'c' });
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 3 } }]);
    const phases: string[] = [];
    const subscription = a.sync.status$.subscribe((all) => {
      const phase = all.find((s) => s.name === 'b')?.phase;
      if (phase !== undefined && phases.at(-1) !== phase) phases.push(phase);
    });
    const wire = switchable(connect(a, b), { failFirst: 2 });
    await a.sync.add({ name: 'b', channel: wire.channel, mode: 'ping-pong', pullIntervalMs: 30 });
    await a.sync.settled();
    subscription.unsubscribe();

    expect(phases).toContain('backingOff');
    expect(phases).not.toContain('offline');
    const status = await statusWhere(a, 'b', (s) => s.phase === 'idle');
    expect(status).toMatchObject({ pending: 0, lastError: { kind: 'network', retryable: true } });
    expect(status.retries).toBeGreaterThanOrEqual(2);
    expect(b.documents.get('c')).toEqual(a.documents.get('c'));
  });

  it('repeated failures take the remote offline; it comes back and catches up when the channel works', async () => {
    const a = await reactor('a');
    const b = await reactor('b');
    const wire = switchable(connect(a, b));
    await a.sync.add({ name: 'b', channel: wire.channel, mode: 'ping-pong', pullIntervalMs: 20 });
    await a.createDocument('counter', { id: 'c' });
    await a.sync.settled();
    expect(b.documents.get('c')).toBeDefined();

    wire.state.down = true;
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 10 } }]);
    const offline = await statusWhere(a, 'b', (s) => s.phase === 'offline');
    expect(offline.retries).toBeGreaterThanOrEqual(3);
    expect(offline.lastError).toMatchObject({ kind: 'network', message: expect.stringMatching(/connection refused/) });
    expect(offline.pending).toBeGreaterThan(0);
    // Offline is not settled, and not an error either: settled() waits (here, until its time-out).
    await expect(a.sync.settled({ timeoutMs: 50 })).rejects.toMatchObject({ kind: 'timeout' });
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 100 } }]);

    const callsWhileDown = wire.state.calls;
    wire.state.down = false;
    await a.sync.settled();
    expect(wire.state.calls).toBeGreaterThan(callsWhileDown);
    expect(count(a)).toBe(111);
    expect(b.documents.get('c')).toEqual(a.documents.get('c'));
    expect(await statusWhere(a, 'b', (s) => s.phase === 'idle')).toMatchObject({ pending: 0 });
  });
});

describe('settled() with a time-out', () => {
  it("times out on the reactor's clock, not the wall clock", async () => {
    const T0 = Date.UTC(2026, 0, 1);
    const clock = new SimClock(T0);
    const a = await openReactor({ id: 'a', retry, clock });
    open.push(a);
    const silent: Channel = { push: () => new Promise(() => {}), pull: () => new Promise(() => {}), close() {} };
    await a.sync.add({ name: 'silent', channel: silent, mode: 'pull' });
    let outcome: unknown;
    const settled = a.sync.settled({ timeoutMs: 1000 }).catch((error: unknown) => {
      outcome = error;
    });
    await advanceTo(clock, T0 + 999);
    expect(outcome).toBeUndefined();
    await advanceTo(clock, T0 + 1000);
    expect(outcome).toMatchObject({ kind: 'timeout', message: expect.stringContaining('within 1000 ms') });
    await settled;
  });
});

describe('sync.add validates its input', () => {
  it('rejects a missing or incomplete channel, a bad mode, name, filter or interval with "validation"', async () => {
    const a = await reactor('a');
    const channel = connect(a, a);
    const cases: [unknown, RegExp][] = [
      [null, /sync.add expects \{ name, channel/],
      [{ name: 'b' }, /"channel" must have push, pull and close functions, got undefined/],
      [{ name: 'b', channel: { push: () => {} } }, /"channel" must have push, pull and close functions/],
      [{ name: '', channel }, /"name" must be a non-empty string/],
      [{ name: 'b', channel, mode: 'both' }, /"mode" must be one of push, pull, ping-pong, got "both"/],
      [{ name: 'b', channel, filter: 'all' }, /filter: expected an object/],
      [{ name: 'b', channel, filter: { scopes: ['shared'] } }, /"filter.scopes"/],
      [{ name: 'b', channel, filter: { documentIds: 'c' } }, /"filter.documentIds"/],
      [{ name: 'b', channel, filter: { branch: '' } }, /"filter.branch"/],
      [{ name: 'b', channel, pullIntervalMs: 0 }, /"pullIntervalMs" must be a number from 1, got 0/],
      [{ name: 'b', channel, batchSize: 6000 }, /"batchSize" must be a number from 1 to 5000, got 6000/],
      [{ name: 'b', channel, batchSize: Number.NaN }, /"batchSize"/],
    ];
    for (const [options, message] of cases) {
      const error = await a.sync.add(options as Parameters<typeof a.sync.add>[0]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ReactorError);
      expect(error).toMatchObject({ kind: 'validation', message: expect.stringMatching(message) });
    }
    expect(a.sync.list()).toEqual([]);
    await expect(a.sync.remove('b')).rejects.toMatchObject({ kind: 'not-found' });
  });
});
