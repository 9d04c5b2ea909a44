import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  CLOSE_CODES,
  createWebSocketChannel,
  type DocumentSnapshot,
  PROTOCOL_VERSION,
  type Reactor,
  type SyncMode,
  type WebSocketChannel,
} from '../../src/index.js';
import { createSwitchboard, type Switchboard, type SwitchboardOptions } from '../../src/server/index.js';
import { freshStorage, reactorsPerTest, untilDocument } from '../support.js';

const openReactor = reactorsPerTest({ retry: { baseMs: 5, maxMs: 50 } });
const boards: Switchboard[] = [];
const channels: WebSocketChannel[] = [];

afterEach(async () => {
  for (const channel of channels.splice(0)) channel.close();
  await Promise.all(boards.splice(0).map((board) => board.close()));
});

async function board(options: Partial<SwitchboardOptions> = {}) {
  const started = await createSwitchboard({ port: 0, storage: freshStorage('switchboard'), ...options });
  boards.push(started);
  return started;
}

function channelTo(server: Switchboard, reactor: Reactor, token?: string) {
  const channel = createWebSocketChannel(server.url, {
    clientId: reactor.id,
    reconnect: { baseMs: 10, maxMs: 100 },
    ...(token === undefined ? {} : { token }),
  });
  channels.push(channel);
  return channel;
}

const hasCount = (n: number) => (snapshot: DocumentSnapshot) => (snapshot.state as { count: number }).count === n;

/** A raw WebSocket to the server, with every frame it receives. */
async function rawClient(server: Switchboard) {
  const socket = new WebSocket(server.url);
  const frames: Record<string, unknown>[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const next = async (n: number) => {
    const deadline = Date.now() + 5000;
    while (frames.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return frames[n - 1];
  };
  return {
    socket,
    frames,
    closed,
    next,
    send: (value: unknown) => socket.send(typeof value === 'string' ? value : JSON.stringify(value)),
  };
}

describe('switchboard sync', () => {
  it.each<SyncMode>(['push', 'pull', 'ping-pong'])('relays documents between two clients in %s mode', async (mode) => {
    const server = await board();
    const a = await openReactor({ id: 'a' });
    const b = await openReactor({ id: 'b' });
    // The writer pushes (or ping-pongs), the reader pulls (or ping-pongs): one mode per test on both links.
    const writerMode: SyncMode = mode === 'pull' ? 'push' : mode;
    const readerMode: SyncMode = mode === 'push' ? 'pull' : mode;
    await a.sync.add({ name: 'hub', channel: channelTo(server, a), mode: writerMode, pullIntervalMs: 5000 });
    await b.sync.add({ name: 'hub', channel: channelTo(server, b), mode: readerMode, pullIntervalMs: 5000 });
    await a.createDocument('counter', { id: 'c' });
    for (const by of [1, 2, 3]) await a.mutate('c', [{ type: 'INCREMENT', input: { by } }]);
    // Pokes from the server make b pull long before its 5 s interval.
    await untilDocument(b, 'c', hasCount(6));
    expect(b.documents.get('c')?.hash).toBe(a.documents.get('c')?.hash);
    // The server stores the ops without the counter model: a relay keeps them unfolded.
    expect((await server.reactor.operations('c')).length).toBe(3);
    expect(server.reactor.documents.get('c')?.state).toBeNull();
    expect(server.clients()).toBe(2);
    expect(a.sync.status('hub')?.connection).toBe('online');
  });

  it('pokes a client about ops from others, not about its own pushes', async () => {
    const server = await board();
    const a = await openReactor({ id: 'a' });
    const b = await openReactor({ id: 'b' });
    const toA = channelTo(server, a);
    await a.sync.add({ name: 'hub', channel: toA, mode: 'push' });
    await b.sync.add({ name: 'hub', channel: channelTo(server, b), mode: 'push' });
    await a.sync.settled({ timeoutMs: 5000 });
    let pokes = 0;
    let poked: () => void = () => {};
    const firstPoke = new Promise<void>((resolve) => {
      poked = resolve;
    });
    toA.pokes.subscribe(() => {
      pokes += 1;
      poked();
    });
    await a.createDocument('counter', { id: 'mine' });
    for (let i = 0; i < 3; i++) await a.mutate('mine', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await a.sync.settled({ timeoutMs: 5000 });
    expect(server.reactor.status().ordinal).toBe(4);
    expect(pokes).toBe(0);
    await b.createDocument('counter', { id: 'theirs' });
    await b.sync.settled({ timeoutMs: 5000 });
    await firstPoke;
    expect(pokes).toBe(1);
  });

  it('ping-pong both ways converges on the same state', async () => {
    const server = await board();
    const a = await openReactor({ id: 'a' });
    const b = await openReactor({ id: 'b' });
    await a.sync.add({ name: 'hub', channel: channelTo(server, a), mode: 'ping-pong' });
    await b.sync.add({ name: 'hub', channel: channelTo(server, b), mode: 'ping-pong' });
    await a.createDocument('counter', { id: 'c' });
    await untilDocument(b, 'c');
    await Promise.all([
      a.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]),
      b.mutate('c', [{ type: 'INCREMENT', input: { by: 10 } }]),
    ]);
    await untilDocument(a, 'c', hasCount(11));
    await untilDocument(b, 'c', hasCount(11));
    expect(a.documents.get('c')).toEqual(b.documents.get('c'));
  });
});

describe('switchboard protocol errors', () => {
  it('answers malformed JSON and unknown frames with an error frame and keeps the connection', async () => {
    const server = await board();
    const client = await rawClient(server);
    client.send('{not json');
    expect(await client.next(1)).toMatchObject({ type: 'error', error: { kind: 'protocol' } });
    client.send({ v: PROTOCOL_VERSION, type: 'teleport', id: 1 });
    expect(await client.next(2)).toMatchObject({ type: 'error', id: 1, error: { kind: 'protocol' } });
    // Still open: a proper hello is welcomed.
    client.send({ v: PROTOCOL_VERSION, type: 'hello' });
    expect(await client.next(3)).toMatchObject({ type: 'welcome', server: server.reactor.id });
    // A push with a malformed envelope: that op is refused (answered in `rejected`), nothing is written.
    client.send({ v: PROTOCOL_VERSION, type: 'push', id: 2, body: { from: 'x', cursor: 1, operations: [{ id: 7 }] } });
    expect(await client.next(4)).toMatchObject({
      type: 'result',
      id: 2,
      body: { accepted: 0, rejected: [{ id: '#0', reason: { kind: 'protocol' } }] },
    });
    // A push that is not one at all is a protocol error.
    client.send({ v: PROTOCOL_VERSION, type: 'push', id: 3, body: { from: 'x', cursor: 1, operations: 'all' } });
    expect(await client.next(5)).toMatchObject({ type: 'error', id: 3, error: { kind: 'protocol' } });
    expect(server.reactor.status().ordinal).toBe(0);
    client.socket.close();
  });

  it('refuses another protocol version and closes', async () => {
    const server = await board();
    const client = await rawClient(server);
    client.send({ v: 99, type: 'hello' });
    expect(await client.next(1)).toMatchObject({ type: 'error', error: { kind: 'protocol' } });
    expect((await client.closed).code).toBe(CLOSE_CODES.protocol);
  });

  it('refuses an oversized frame and closes', async () => {
    const server = await board({ maxFrameBytes: 1024 });
    const client = await rawClient(server);
    client.send({ v: PROTOCOL_VERSION, type: 'hello', token: 'x'.repeat(2000) });
    expect(await client.next(1)).toMatchObject({ type: 'error', error: { kind: 'protocol' } });
    expect((await client.closed).code).toBe(CLOSE_CODES.tooBig);
    expect(server.reactor.status().ordinal).toBe(0);
  });

  it('refuses a bad token: the remote stops with an auth error', async () => {
    const server = await board({ token: 'sesame' });
    const a = await openReactor({ id: 'a' });
    const channel = channelTo(server, a, 'wrong');
    await a.sync.add({ name: 'hub', channel, mode: 'push' });
    await a.createDocument('counter', { id: 'c' });
    const stopped = await firstValueFrom(
      a.sync.status$.pipe(
        filter((all) => all.some((s) => s.name === 'hub' && s.phase === 'stopped')),
        timeout(5000),
      ),
    );
    expect(stopped.find((s) => s.name === 'hub')?.lastError?.kind).toBe('auth');
    expect(channel.connection.state).toBe('refused');
    expect(server.reactor.status().ordinal).toBe(0);
    // The right token gets in.
    const b = await openReactor({ id: 'b' });
    await b.sync.add({ name: 'hub', channel: channelTo(server, b, 'sesame'), mode: 'push' });
    await b.createDocument('counter', { id: 'd' });
    await b.sync.settled({ timeoutMs: 5000 });
    expect(server.reactor.documents.get('d')).toBeDefined();
  });
});

describe('frame limits', () => {
  it('splits a push batch over the frame limit, and dead-letters an op too large for any frame', async () => {
    const server = await board({ maxFrameBytes: 4096 });
    const a = await openReactor({ id: 'a' });
    const channel = channelTo(server, a);
    await a.sync.add({ name: 'hub', channel, mode: 'push', debounceMs: 50 });
    await a.createDocument('list', { id: 'l' });
    const items = Array.from({ length: 30 }, (_, i) => `item ${i} ${'x'.repeat(200)}`);
    await a.mutate('l', [...items.slice(0, 15).map((item) => ({ type: 'ADD', input: { item } }))]);
    const { operations } = await a.mutate('l', [{ type: 'ADD', input: { item: 'y'.repeat(8000) } }]);
    await a.mutate('l', [...items.slice(15).map((item) => ({ type: 'ADD', input: { item } }))]);
    await a.sync.settled({ timeoutMs: 10_000 });
    // 30 small ops in several frames; the huge one is refused here, not sent.
    expect((await server.reactor.operations('l')).map((op) => op.id)).toEqual(
      (await a.operations('l')).map((op) => op.id).filter((id) => id !== operations[0]?.id),
    );
    const letters = a.sync.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ direction: 'push', remote: 'hub', reason: { kind: 'validation' } });
    expect(letters[0]?.reason.message).toMatch(/frame limit of 4096 bytes/);
    expect(a.sync.status('hub')?.phase).toBe('idle');
  });
});

describe('switchboard restarts', () => {
  it('clients go offline when it stops and resume from their cursors when it is back', async () => {
    const storage = freshStorage('switchboard');
    const first = await createSwitchboard({ port: 0, storage });
    const a = await openReactor({ id: 'a' });
    const channel = channelTo(first, a);
    await a.sync.add({ name: 'hub', channel, mode: 'ping-pong' });
    await a.createDocument('counter', { id: 'c' });
    await a.sync.settled({ timeoutMs: 5000 });
    const port = first.port;
    await first.close();
    await offline(channel);
    expect(a.sync.status('hub')?.connection).not.toBe('online');
    // Written while the server is away: pushed once it is back.
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 5 } }]);
    const second = await board({ port, storage });
    await until(
      second.reactor,
      () => second.reactor.documents.get('c') !== undefined && second.reactor.status().ordinal === 2,
      10_000,
    );
    expect((await second.reactor.operations('c')).length).toBe(1);
    expect(channel.connection.state).toBe('online');
  });
});

/** Waits until `check` holds, checking whenever the reactor writes something. */
async function until(reactor: Reactor, check: () => boolean, ms = 10_000) {
  if (check()) return;
  await firstValueFrom(
    reactor.events$.pipe(
      filter(() => check()),
      timeout(ms),
    ),
  );
}

describe('a switchboard that comes back empty', () => {
  it('is noticed by its clients, which send and fetch everything again', async () => {
    const first = await createSwitchboard({ port: 0, storage: freshStorage('switchboard') });
    const port = first.port;
    const a = await openReactor({ id: 'a' });
    const b = await openReactor({ id: 'b' });
    await a.sync.add({ name: 'hub', channel: channelTo(first, a), mode: 'ping-pong' });
    await b.sync.add({ name: 'hub', channel: channelTo(first, b), mode: 'ping-pong' });
    await a.createDocument('counter', { id: 'c' });
    for (let i = 0; i < 5; i++) await a.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await untilDocument(b, 'c', hasCount(5));
    await first.close();
    // A new server with nothing stored (another reactor id) on the same address.
    const second = await board({ port, storage: freshStorage('switchboard-2') });
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 10 } }]);
    await untilDocument(b, 'c', hasCount(15), 10_000);
    await until(second.reactor, () => second.reactor.status().ordinal === 7);
    expect((await second.reactor.operations('c')).map((op) => op.id)).toEqual(
      (await a.operations('c')).map((op) => op.id),
    );
    expect(a.sync.status('hub')?.lastError).toMatchObject({ kind: 'conflict' });
  });
});

function offline(channel: WebSocketChannel) {
  return new Promise<void>((resolve) => {
    const subscription = channel.connection.subscribe((state) => {
      if (state === 'offline' || state === 'connecting') {
        resolve();
        queueMicrotask(() => subscription.unsubscribe());
      }
    });
  });
}
