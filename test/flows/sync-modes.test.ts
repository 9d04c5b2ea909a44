import { filter, firstValueFrom, timeout } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  connect,
  createSimNetwork,
  type PullRequest,
  type PushRequest,
  type Reactor,
  type ReactorOptions,
  type RemoteOptions,
  type Scope,
  type SyncMode,
} from '../../src/index.js';
import { idleStatus, reactorsPerTest, spyChannel } from '../support.js';

const openOne = reactorsPerTest({ retry: { baseMs: 5, maxMs: 50 } });
const reactor = (id: string, options: Partial<ReactorOptions> = {}) => openOne({ id, ...options });

/** Two reactors; `a` has `b` as a remote in `mode`. */
async function pair(mode: SyncMode, options: Partial<RemoteOptions> = {}, bOptions: Partial<ReactorOptions> = {}) {
  const a = await reactor('a');
  const b = await reactor('b', bOptions);
  const wire = spyChannel(connect(a, b));
  await a.sync.add({ name: 'b', channel: wire.channel, mode, pullIntervalMs: 30, ...options });
  return { a, b, wire };
}

const count = (r: Reactor, documentId: string) =>
  (r.documents.get(documentId)?.state as { count: number } | undefined)?.count;
const increment = (r: Reactor, documentId: string, by: number, scope: 'global' | 'local' = 'global') =>
  r.mutate(documentId, [{ type: 'INCREMENT', input: { by }, scope }]);
const ids = async (r: Reactor, documentId: string, scope: Scope = 'global', branch = 'main') =>
  (await r.operations(documentId, { scope, branch })).map((op) => op.id);

/** Same snapshot (state, hash, revision) and the same log on both sides. */
async function expectConverged(x: Reactor, y: Reactor, documentId: string) {
  const left = x.documents.get(documentId);
  expect(left).toBeDefined();
  expect(y.documents.get(documentId)).toEqual(left);
  expect(y.documents.get(documentId)?.hash).toBe(left?.hash);
  expect(await ids(y, documentId)).toEqual(await ids(x, documentId));
  expect(await ids(y, documentId, 'document')).toEqual(await ids(x, documentId, 'document'));
}

describe('push mode', () => {
  it('carries a’s writes to b, and b’s writes never reach a', async () => {
    const { a, b, wire } = await pair('push');
    await a.createDocument('counter', { id: 'c' });
    for (const by of [1, 2, 3]) await increment(a, 'c', by);
    await a.sync.settled();
    expect(count(b, 'c')).toBe(6);
    await expectConverged(a, b, 'c');

    await increment(b, 'c', 100);
    await increment(a, 'c', 10);
    await a.sync.settled();
    expect(count(a, 'c')).toBe(16);
    expect(count(b, 'c')).toBe(116);
    expect(await ids(a, 'c')).toHaveLength(4);
    expect(await ids(b, 'c')).toHaveLength(5);
    expect(wire.pulls.filter((p) => p.request.limit > 0)).toEqual([]);
    expect(a.sync.status('b')).toMatchObject({
      mode: 'push',
      phase: 'idle',
      push: 'idle',
      pull: 'disabled',
      pending: 0,
      pushed: 5,
      pulled: 0,
    });
  });
});

describe('pull mode', () => {
  it('fetches b’s writes into a, and a’s writes never reach b', async () => {
    const { a, b, wire } = await pair('pull');
    await b.createDocument('counter', { id: 'c' });
    for (const by of [1, 2, 3]) await increment(b, 'c', by);
    await a.sync.settled();
    expect(count(a, 'c')).toBe(6);
    await expectConverged(a, b, 'c');

    await increment(a, 'c', 100);
    await increment(b, 'c', 10);
    await a.sync.settled();
    expect(count(b, 'c')).toBe(16);
    expect(count(a, 'c')).toBe(116);
    expect(await ids(b, 'c')).toHaveLength(4);
    expect(await ids(a, 'c')).toHaveLength(5);
    expect(wire.pushes).toEqual([]);
    expect(await idleStatus(a, 'b')).toMatchObject({
      mode: 'pull',
      push: 'disabled',
      pull: 'idle',
      pending: 0,
      pulled: 5,
    });
  });

  it('is woken by pokes: a write on b reaches a long before the next pull interval', async () => {
    const { a, b } = await pair('pull', { pullIntervalMs: 60_000 });
    await b.createDocument('counter', { id: 'c' });
    await a.sync.settled();
    expect(count(a, 'c')).toBe(0);

    const arrived = firstValueFrom(
      a.documents.observe('c').pipe(
        filter((snapshot) => (snapshot.state as { count: number }).count === 7),
        timeout(5_000),
      ),
    );
    await increment(b, 'c', 3);
    await increment(b, 'c', 4);
    // No settled() here: it pulls by itself, and the point is that nothing but the poke does.
    const snapshot = await arrived;
    expect(snapshot.hash).toBe(b.documents.get('c')?.hash);
    expect(snapshot.revision).toBe(2);
  });
});

describe('ping-pong mode', () => {
  it('carries writes both ways, to each other’s documents too, and both sides converge', async () => {
    const { a, b } = await pair('ping-pong');
    await a.createDocument('counter', { id: 'from-a' });
    await b.createDocument('list', { id: 'from-b' });
    await increment(a, 'from-a', 1);
    await b.mutate('from-b', [{ type: 'ADD', input: { item: 'b1' } }]);
    await a.sync.settled();
    await expectConverged(a, b, 'from-a');
    await expectConverged(a, b, 'from-b');

    await Promise.all([
      increment(b, 'from-a', 10),
      a.mutate('from-b', [{ type: 'ADD', input: { item: 'a1' } }]),
      b.mutate('from-b', [{ type: 'ADD', input: { item: 'b2' } }]),
    ]);
    await a.sync.settled();
    expect(count(a, 'from-a')).toBe(11);
    expect(a.documents.get('from-b')?.state).toEqual({ items: expect.arrayContaining(['b1', 'a1', 'b2']) });
    await expectConverged(a, b, 'from-a');
    await expectConverged(a, b, 'from-b');
    expect(await idleStatus(a, 'b')).toMatchObject({
      mode: 'ping-pong',
      push: 'idle',
      pull: 'idle',
      lastError: undefined,
    });
  });

  it('never echoes: ops that came from b are not pushed back, and b never serves a’s own ops', async () => {
    const { a, b, wire } = await pair('ping-pong');
    await b.createDocument('counter', { id: 'c' });
    for (const by of [1, 2, 3]) await increment(b, 'c', by);
    await a.sync.settled();
    for (const by of [10, 20]) await increment(a, 'c', by);
    await a.sync.settled();
    await increment(b, 'c', 100);
    await a.sync.settled();
    await expectConverged(a, b, 'c');
    expect(count(a, 'c')).toBe(136);

    const pushed = wire.pushes.flatMap((p) => p.request.operations);
    expect(pushed.map((op) => op.origin)).toEqual(['a', 'a']);
    expect(wire.pushes.every((p) => p.response.duplicates === 0 && p.response.rejected.length === 0)).toBe(true);
    const pulled = wire.pulls.flatMap((p) => p.response.operations);
    expect(pulled.length).toBeGreaterThan(0);
    expect(pulled.filter((op) => op.origin === 'a')).toEqual([]);
    expect(new Set(pulled.map((op) => op.id)).size).toBe(pulled.length);
    expect(a.sync.status('b')).toMatchObject({ pushed: 2, pulled: 5, pending: 0 });
  });
});

describe('filters', () => {
  it('documentIds: only the named documents travel, in both directions', async () => {
    const { a, b } = await pair('ping-pong', { filter: { documentIds: ['shared'] } });
    await a.createDocument('counter', { id: 'shared' });
    await a.createDocument('counter', { id: 'private-a' });
    await increment(a, 'shared', 1);
    await increment(a, 'private-a', 1);
    await b.createDocument('counter', { id: 'private-b' });
    await a.sync.settled();
    expect(b.documents.list().map((d) => d.id)).toEqual(expect.arrayContaining(['shared', 'private-b']));
    expect(b.documents.get('private-a')).toBeUndefined();
    expect(a.documents.get('private-b')).toBeUndefined();

    await increment(b, 'shared', 5);
    await increment(b, 'private-b', 5);
    await a.sync.settled();
    expect(count(a, 'shared')).toBe(6);
    await expectConverged(a, b, 'shared');
    expect(await ids(a, 'private-b', 'document')).toEqual([]);
    expect(await ids(b, 'private-a', 'document')).toEqual([]);
  });

  it('scopes: local ops stay local by default', async () => {
    const { a, b } = await pair('ping-pong');
    await a.createDocument('counter', { id: 'c' });
    await increment(a, 'c', 1);
    await increment(a, 'c', 50, 'local');
    await a.sync.settled();
    expect(b.documents.get('c')).toMatchObject({ state: { count: 1 }, localState: { count: 0 } });
    expect(a.documents.get('c')).toMatchObject({ state: { count: 1 }, localState: { count: 50 } });
    expect(await ids(b, 'c', 'local')).toEqual([]);
    expect(b.documents.get('c')?.hash).toBe(a.documents.get('c')?.hash);
  });

  it('scopes: a filter naming the local scope syncs local ops too, to a receiver that accepts them', async () => {
    const { a, b } = await pair(
      'ping-pong',
      { filter: { scopes: ['document', 'global', 'local'] } },
      { receiveLocal: true },
    );
    await a.createDocument('counter', { id: 'c' });
    await increment(a, 'c', 1);
    await increment(a, 'c', 50, 'local');
    await a.sync.settled();
    await increment(b, 'c', 7, 'local');
    await a.sync.settled();
    expect(b.documents.get('c')).toMatchObject({ state: { count: 1 }, localState: { count: 57 } });
    expect(a.documents.get('c')).toEqual(b.documents.get('c'));
    expect(await ids(b, 'c', 'local')).toEqual(await ids(a, 'c', 'local'));
    expect(await ids(b, 'c', 'local')).toHaveLength(2);
  });

  it('scopes: a receiver that did not opt in refuses pushed local ops (auth dead letters); the rest syncs', async () => {
    const { a, b } = await pair('push', { filter: { scopes: ['document', 'global', 'local'] } });
    await a.createDocument('counter', { id: 'c' });
    await increment(a, 'c', 1);
    await increment(a, 'c', 50, 'local');
    await a.sync.settled();
    expect(b.documents.get('c')).toMatchObject({ state: { count: 1 }, localState: { count: 0 } });
    expect(await ids(b, 'c', 'local')).toEqual([]);
    const letters = a.sync.deadLetters();
    expect(letters).toEqual([
      expect.objectContaining({
        direction: 'push',
        remote: 'b',
        operation: expect.objectContaining({ scope: 'local' }),
        reason: expect.objectContaining({ kind: 'auth', message: expect.stringMatching(/"local" scope/) }),
      }),
    ]);
    expect(a.sync.status('b')?.phase).toBe('idle');
  });

  it('scopes: a pull that did not ask for local ops refuses them from the server', async () => {
    const a = await reactor('a');
    const b = await reactor('b');
    await b.createDocument('counter', { id: 'c' });
    await increment(b, 'c', 2);
    await increment(b, 'c', 30, 'local');
    // A server that answers with everything, local ops included, whatever was asked.
    const everything = {
      push: (request: PushRequest) => b.endpoint.push(request, { peer: 'a' }),
      pull: (request: PullRequest) =>
        b.endpoint.pull({ ...request, filter: { scopes: ['document', 'global', 'local'] } }, { peer: 'a' }),
      close: () => {},
    };
    await a.sync.add({ name: 'b', channel: everything, mode: 'pull' });
    await a.sync.settled();
    expect(a.documents.get('c')).toMatchObject({ state: { count: 2 }, localState: { count: 0 } });
    expect(a.sync.deadLetters().map((letter) => [letter.direction, letter.reason.kind])).toEqual([['pull', 'auth']]);
  });

  it('scopes: a filter without the document scope carries ops but no CREATE, so nothing materialises', async () => {
    const { a, b } = await pair('push', { filter: { scopes: ['global'] } });
    await a.createDocument('counter', { id: 'c' });
    await increment(a, 'c', 3);
    await a.sync.settled();
    expect(await ids(b, 'c')).toEqual(await ids(a, 'c'));
    expect(await ids(b, 'c', 'document')).toEqual([]);
    expect(b.documents.get('c')).toBeUndefined();
  });

  it('branch: a filter on another branch still carries the CREATE, so the document appears there', async () => {
    const { a, b } = await pair('push', { filter: { branch: 'draft' } });
    await a.createDocument('counter', { id: 'c' });
    await increment(a, 'c', 1);
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 100 } }], { branch: 'draft' });
    await a.sync.settled();
    expect(b.documents.get('c', { branch: 'draft' })?.state).toEqual({ count: 100 });
    expect(b.documents.get('c')?.state).toEqual({ count: 0 });
  });

  it('a sim network partitions two reactors given as reactors or ids, and heals them', async () => {
    const a = await reactor('a');
    const b = await reactor('b');
    const network = createSimNetwork({ seed: 3 });
    await a.sync.add({ name: 'b', channel: connect(a, b, { network }), mode: 'push' });
    await a.createDocument('counter', { id: 'c' });
    await a.sync.settled();
    network.partition(a, b);
    expect(network.isPartitioned('a', 'b')).toBe(true);
    await increment(a, 'c', 2);
    await expect(a.sync.settled({ timeoutMs: 200 })).rejects.toMatchObject({ kind: 'timeout' });
    expect(count(b, 'c')).toBe(0);
    network.heal(b, a);
    expect(network.isPartitioned(a, b)).toBe(false);
    await a.sync.settled();
    expect(count(b, 'c')).toBe(2);
  });

  it('add without await: status and settled see the remote at once (as the API contract writes it)', async () => {
    const a = await reactor('a');
    const b = await reactor('b');
    await a.createDocument('counter', { id: 'c' });
    await increment(a, 'c', 3);
    void a.sync.add({ name: 'b', channel: connect(a, b), mode: 'push' });
    expect(a.sync.status('b')).toMatchObject({ name: 'b', mode: 'push' });
    await a.sync.settled();
    expect(count(b, 'c')).toBe(3);
  });

  it('no echo even when the remote is named differently from the peer’s reactor id', async () => {
    const a = await reactor('a');
    const b = await reactor('b');
    const wire = spyChannel(connect(a, b));
    await a.sync.add({ name: 'the-server', channel: wire.channel, mode: 'ping-pong', pullIntervalMs: 30 });
    // b also pushes to a, under a name of its own: those ops reach a tagged with b's id.
    await b.sync.add({ name: 'the-client', channel: connect(b, a), mode: 'push' });
    await b.createDocument('counter', { id: 'c' });
    await increment(b, 'c', 5);
    await b.sync.settled();
    await a.sync.settled();
    expect(count(a, 'c')).toBe(5);
    await increment(a, 'c', 1);
    await a.sync.settled();
    const pushedOrigins = wire.pushes.flatMap((p) => p.request.operations.map((op) => op.origin));
    expect(pushedOrigins).toEqual(['a']);
    expect(count(b, 'c')).toBe(6);
  });

  it('branch: only the named branch travels', async () => {
    const { a, b } = await pair('ping-pong', { filter: { branch: 'main' } });
    await a.createDocument('counter', { id: 'c' });
    await increment(a, 'c', 1);
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 100 } }], { branch: 'draft' });
    await a.sync.settled();
    expect(a.documents.get('c', { branch: 'draft' })?.state).toEqual({ count: 100 });
    expect(b.documents.get('c', { branch: 'draft' })).toBeUndefined();
    expect(await ids(b, 'c', 'global', 'draft')).toEqual([]);
    await expectConverged(a, b, 'c');

    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 1000 } }], { branch: 'draft' });
    await increment(b, 'c', 2);
    await a.sync.settled();
    expect(count(a, 'c')).toBe(3);
    expect(a.documents.get('c', { branch: 'draft' })?.state).toEqual({ count: 100 });
    expect(await ids(a, 'c', 'global', 'draft')).toHaveLength(1);
  });
});

describe('two remotes to one peer', () => {
  it('a push remote does not send back what a pull remote to the same reactor brought in', async () => {
    const a = await reactor('a');
    const b = await reactor('b');
    const toB = spyChannel(connect(a, b));
    await a.sync.add({ name: 'b-push', channel: toB.channel, mode: 'push', debounceMs: 0 });
    await a.sync.add({ name: 'b-pull', channel: connect(a, b), mode: 'pull', pullIntervalMs: 20 });
    // One push teaches the push remote b's reactor id.
    await a.createDocument('counter', { id: 'mine' });
    await a.sync.settled();
    await b.createDocument('counter', { id: 'theirs' });
    await increment(b, 'theirs', 4);
    await a.sync.settled();
    expect(count(a, 'theirs')).toBe(4);
    await increment(a, 'mine', 1);
    await a.sync.settled();
    const echoed = toB.pushed().filter((op) => op.documentId === 'theirs');
    expect(echoed).toEqual([]);
    expect(toB.pushed().filter((op) => op.documentId === 'mine')).toHaveLength(2);
  });
});
