import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distinctUntilChanged, filter, firstValueFrom, map, type Subscription, timeout } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  CLOSE_CODES,
  type ConnectionState,
  createWebSocketChannel,
  type OperationEnvelope,
  PROTOCOL_VERSION,
  type Reactor,
  type SyncMode,
  type WebSocketChannel,
} from '../../src/index.js';
import { reactorsPerTest, spyChannel } from '../support.js';
import { type Exit, healthUntil, killAllServers, type ServerProcess, startServer } from './serverProcess.js';

/**
 * The switchboard as a separate process (`xstate-reactor switchboard`, durable SQLite storage in a
 * temporary data directory), with client reactors in this process syncing through it over real
 * WebSockets on 127.0.0.1. Each server start costs about a second (tsx compiles the CLI).
 */

const openReactor = reactorsPerTest({ retry: { baseMs: 20, maxMs: 200 } });
const channels: WebSocketChannel[] = [];
const subscriptions: Subscription[] = [];
let data: string;

beforeEach(() => {
  data = mkdtempSync(join(tmpdir(), 'xstate-reactor-switchboard-'));
});

afterEach(async () => {
  for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
  for (const channel of channels.splice(0)) channel.close();
  await killAllServers();
  rmSync(data, { recursive: true, force: true });
});

function channelTo(url: string, reactor: Reactor, token?: string): WebSocketChannel {
  const channel = createWebSocketChannel(url, {
    clientId: reactor.id,
    reconnect: { baseMs: 50, maxMs: 400 },
    requestTimeoutMs: 10_000,
    ...(token === undefined ? {} : { token }),
  });
  channels.push(channel);
  return channel;
}

/** Adds the remote `hub` to a switchboard; readers get no interval pulls, so only pokes wake them. */
async function joinHub(reactor: Reactor, url: string, mode: SyncMode, extra: { batchSize?: number } = {}) {
  const channel = channelTo(url, reactor);
  await reactor.sync.add({ name: 'hub', channel, mode, pullIntervalMs: 60_000, ...extra });
  return channel;
}

/** Waits until `check` holds, checking whenever the reactor writes or settles something. */
async function until(reactor: Reactor, check: () => boolean, what: string, ms = 20_000) {
  if (check()) return;
  await firstValueFrom(
    reactor.events$.pipe(
      filter(() => check()),
      timeout({ first: ms, with: () => Promise.reject(new Error(`${reactor.id}: timed out waiting for ${what}`)) }),
    ),
  );
}

const ordinal = (reactor: Reactor) => reactor.status().ordinal;

/** Every op id a reactor stores, in arrival order (an op stored twice would appear twice). */
async function storedIds(reactor: Reactor): Promise<string[]> {
  const ids: string[] = [];
  let cursor = 0;
  for (;;) {
    const page = await reactor.endpoint.pull({ cursor, limit: 5000 });
    ids.push(...page.operations.map((op) => op.id));
    cursor = page.cursor;
    if (!page.hasMore) return ids;
  }
}

/** Asserts two reactors hold exactly the same ops, once each, and the same state of every document. */
async function expectConverged(a: Reactor, b: Reactor, documents: readonly string[]) {
  await Promise.all([a.whenIdle(), b.whenIdle()]);
  const [idsA, idsB] = await Promise.all([storedIds(a), storedIds(b)]);
  expect(new Set(idsA).size, `${a.id} stores an op twice`).toBe(idsA.length);
  expect(new Set(idsB).size, `${b.id} stores an op twice`).toBe(idsB.length);
  expect([...idsB].sort()).toEqual([...idsA].sort());
  for (const id of documents) {
    const [docA, docB] = [a.documents.get(id), b.documents.get(id)];
    expect(docA, `${a.id} has ${id}`).toBeDefined();
    expect(docB?.hash, `hash of ${id}`).toBe(docA?.hash);
    expect(docB?.state).toEqual(docA?.state);
  }
}

/** The `hub` connection states a reactor's sync status went through (repeats collapsed). */
function connectionLog(reactor: Reactor) {
  const states: ConnectionState[] = [];
  const statuses = reactor.sync.status$.pipe(
    map((all) => all.find((status) => status.name === 'hub')?.connection),
    filter((state): state is ConnectionState => state !== undefined),
    distinctUntilChanged(),
  );
  subscriptions.push(statuses.subscribe((state) => states.push(state)));
  return {
    states,
    /** Resolves once the status shows `state`. */
    reaches: (state: ConnectionState, ms = 20_000) =>
      firstValueFrom(
        statuses.pipe(
          filter((s) => s === state),
          timeout({ first: ms, with: () => Promise.reject(new Error(`${reactor.id}: never ${state}`)) }),
        ),
      ),
  };
}

async function increments(reactor: Reactor, documentId: string, count: number, from = 0) {
  for (let i = 0; i < count; i++) await reactor.mutate(documentId, [{ type: 'INCREMENT', input: { by: from + i } }]);
}

describe('two reactors through a switchboard process', () => {
  it('push writer → pull reader: the reader is poked and converges', async () => {
    const server = await startServer({ data });
    const writer = await openReactor({ id: 'writer' });
    const reader = await openReactor({ id: 'reader' });
    await joinHub(writer, server.url, 'push');
    await joinHub(reader, server.url, 'pull');
    await healthUntil(server.port, (h) => h.clients === 2);

    await writer.createDocument('counter', { id: 'c' });
    await writer.createDocument('list', { id: 'l' });
    for (let i = 0; i < 30; i++) {
      await writer.mutate('c', [{ type: 'INCREMENT', input: { by: i } }]);
      await writer.mutate('l', [{ type: 'ADD', input: { item: `item-${i}` } }]);
    }
    // Pull interval is a minute: only the server's pokes can bring these in time.
    await until(reader, () => ordinal(reader) === ordinal(writer), 'every op');
    await expectConverged(writer, reader, ['c', 'l']);
    expect(reader.documents.get('c')?.state).toEqual({ count: 435 });
    expect((await server.health()).ordinal).toBe(ordinal(writer));
    expect(reader.sync.status('hub')?.connection).toBe('online');
  });

  it('pull: a reader that joins later fetches the whole history, page by page', async () => {
    const server = await startServer({ data });
    const writer = await openReactor({ id: 'writer' });
    await joinHub(writer, server.url, 'push');
    for (const id of ['a', 'b', 'c']) {
      await writer.createDocument('counter', { id });
      await increments(writer, id, 60);
    }
    await writer.sync.settled({ timeoutMs: 20_000 });
    expect((await server.health()).ordinal).toBe(183);

    const reader = await openReactor({ id: 'reader' });
    await joinHub(reader, server.url, 'pull', { batchSize: 50 });
    await until(reader, () => ordinal(reader) === 183, 'the history');
    await expectConverged(writer, reader, ['a', 'b', 'c']);
    expect(reader.sync.status('hub')?.pulled).toBe(183);
  });

  it('ping-pong both ways: concurrent writes on shared documents converge on both', async () => {
    const server = await startServer({ data });
    const a = await openReactor({ id: 'a' });
    const b = await openReactor({ id: 'b' });
    await joinHub(a, server.url, 'ping-pong');
    await joinHub(b, server.url, 'ping-pong');
    await a.createDocument('list', { id: 'shared' });
    await b.createDocument('counter', { id: 'count' });
    await until(a, () => a.documents.get('count') !== undefined, 'b’s document');
    await until(b, () => b.documents.get('shared') !== undefined, 'a’s document');

    const write = async (reactor: Reactor) => {
      for (let i = 0; i < 25; i++) {
        await reactor.mutate('shared', [{ type: 'ADD', input: { item: `${reactor.id}-${i}` } }]);
        await reactor.mutate('count', [{ type: 'INCREMENT', input: { by: 1 } }]);
      }
    };
    await Promise.all([write(a), write(b)]);
    const total = 2 + 2 * 50;
    await until(a, () => ordinal(a) === total, 'all ops');
    await until(b, () => ordinal(b) === total, 'all ops');
    await expectConverged(a, b, ['shared', 'count']);
    expect(a.documents.get('count')?.state).toEqual({ count: 50 });
    expect((a.documents.get('shared')?.state as { items: string[] } | undefined)?.items).toHaveLength(50);
    expect((await server.health()).ordinal).toBe(total);
  });
});

describe('starting a switchboard process', () => {
  it('on a port in use exits with code 2 and says which port', async () => {
    const server = await startServer({ data });
    await expect(startServer({ data: join(data, 'other'), port: server.port })).rejects.toThrow(
      new RegExp(`exited \\(2\\) before listening[\\s\\S]*port ${server.port} on 127\\.0\\.0\\.1 is in use`),
    );
    expect((await server.health()).accepting).toBe(true);
  });
});

describe('a switchboard process that dies', () => {
  it('kill -9 mid-sync, restarted on the same data: clients reconnect and nothing is lost or doubled', async () => {
    let server = await startServer({ data });
    const writer = await openReactor({ id: 'writer' });
    const reader = await openReactor({ id: 'reader' });
    const writerLog = connectionLog(writer);
    const readerLog = connectionLog(reader);
    await joinHub(writer, server.url, 'push', { batchSize: 20 });
    await joinHub(reader, server.url, 'pull', { batchSize: 20 });
    await writerLog.reaches('online');
    await readerLog.reaches('online');

    await writer.createDocument('counter', { id: 'c' });
    // A stream of writes; the server is killed in the middle of it: once it has acknowledged a
    // good part, the reader has pulled some, and the writer has more to push.
    let killed = false;
    for (let i = 0; i < 250; i++) {
      await writer.mutate('c', [{ type: 'INCREMENT', input: { by: i } }]);
      const status = writer.sync.status('hub');
      if (!killed && status !== undefined && status.pushedCursor >= 60 && status.pending > 0 && ordinal(reader) >= 20) {
        killed = true;
        expect((await server.kill('SIGKILL')).signal).toBe('SIGKILL');
      }
    }
    expect(killed, 'the server was killed mid-stream').toBe(true);
    await writerLog.reaches('offline');
    await readerLog.reaches('offline');

    server = await startServer({ data, port: server.port });
    await writerLog.reaches('online');
    await readerLog.reaches('online');
    // And written after it is back.
    await increments(writer, 'c', 50, 250);

    await until(reader, () => ordinal(reader) === 301, 'every op the writer made');
    await writer.sync.settled({ timeoutMs: 20_000 });
    await expectConverged(writer, reader, ['c']);
    const writerIds = await storedIds(writer);
    expect(writerIds).toHaveLength(301);
    expect((await server.health()).ordinal).toBe(301);
    expect(reader.documents.get('c')?.state).toEqual({ count: (299 * 300) / 2 });
    for (const log of [writerLog, readerLog]) {
      const firstOffline = log.states.indexOf('offline');
      expect(log.states.slice(0, firstOffline)).toContain('online');
      expect(log.states.at(-1)).toBe('online');
    }

    // What the server holds is the writer's log exactly: a fresh reader gets each op once.
    const late = await openReactor({ id: 'late' });
    await joinHub(late, server.url, 'pull');
    await until(late, () => ordinal(late) === 301, 'the history');
    await expectConverged(writer, late, ['c']);
  });

  it('SIGTERM shuts down gracefully: exit 0, and every acknowledged op is there after a restart', async () => {
    const server = await startServer({ data });
    const serverId = (await server.health()).id;
    const writer = await openReactor({ id: 'writer' });
    const channel = channelTo(server.url, writer);
    // Records the ops of every push the server acknowledged.
    const spy = spyChannel(channel);
    await writer.sync.add({
      name: 'hub',
      channel: { ...spy.channel, connection: channel.connection },
      mode: 'push',
      batchSize: 10,
      debounceMs: 0,
    });
    const writerLog = connectionLog(writer);
    await writerLog.reaches('online');

    await writer.createDocument('counter', { id: 'c' });
    // Stops the server in the middle of a stream of writes, while the writer has more to push.
    let exit: Promise<Exit> | undefined;
    for (let i = 0; i < 200; i++) {
      await writer.mutate('c', [{ type: 'INCREMENT', input: { by: i } }]);
      const status = writer.sync.status('hub');
      if (exit === undefined && status !== undefined && status.pushedCursor >= 30 && status.pending > 0) {
        exit = server.kill('SIGTERM');
      }
    }
    expect(exit, 'the server was stopped mid-stream').toBeDefined();
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(server.log()).toContain('SIGTERM: shutting down');
    expect(server.log()).toContain('switchboard stopped');
    await writerLog.reaches('offline');

    const acknowledged = new Set(spy.pushed().map((op) => op.id));
    expect(acknowledged.size).toBeGreaterThan(0);
    for (const push of spy.pushes) expect(push.response.rejected).toEqual([]);

    // On another port, so the writer cannot reconnect: the server holds what it acknowledged.
    const again = await startServer({ data });
    const health = await again.health();
    expect(health.id).toBe(serverId);
    expect(health.ordinal).toBe(acknowledged.size);
    const reader = await openReactor({ id: 'reader' });
    await joinHub(reader, again.url, 'pull');
    await until(reader, () => ordinal(reader) === acknowledged.size, 'the acknowledged ops');
    expect(new Set(await storedIds(reader))).toEqual(acknowledged);

    // The writer, pointed at the new address, pushes the rest from its cursor.
    await writer.sync.add({ name: 'hub', channel: channelTo(again.url, writer), mode: 'push' });
    await until(reader, () => ordinal(reader) === 201, 'the rest');
    await expectConverged(writer, reader, ['c']);
    expect((await again.health()).ordinal).toBe(201);
  });
});

/** A raw WebSocket client that sees every frame the server sends, and how the connection closed. */
async function rawClient(server: ServerProcess) {
  const socket = new WebSocket(server.url);
  const frames: Record<string, unknown>[] = [];
  let waiting: (() => void) | undefined;
  socket.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
    waiting?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let read = 0;
  /** The next frame the server sends, in order; pokes (new ops stored) are passed over. */
  const next = async (): Promise<Record<string, unknown>> => {
    while (frames.length <= read || frames[read]?.type === 'poke') {
      if (frames[read]?.type === 'poke') {
        read += 1;
        continue;
      }
      await Promise.race([
        new Promise<void>((resolve) => {
          waiting = resolve;
        }),
        closed.then(() => {
          if (frames.length <= read) throw new Error(`connection closed; frames so far: ${JSON.stringify(frames)}`);
        }),
      ]);
    }
    read += 1;
    return frames[read - 1] as Record<string, unknown>;
  };
  return {
    frames,
    closed,
    next,
    send: (value: unknown) => socket.send(typeof value === 'string' ? value : JSON.stringify(value)),
    close: () => socket.close(),
  };
}

/** Real ops (a document and a few increments) as they travel, made by a reactor of this process. */
async function someOperations(count: number): Promise<{ from: string; operations: OperationEnvelope[] }> {
  const source = await openReactor({ id: 'source' });
  await source.createDocument('counter', { id: 'c' });
  await increments(source, 'c', count - 1);
  const page = await source.endpoint.pull({ cursor: 0, limit: count });
  return { from: source.id, operations: [...page.operations] };
}

const hello = (extra: Record<string, unknown> = {}) => ({ v: PROTOCOL_VERSION, type: 'hello', ...extra });
const push = (id: number, body: unknown, v: number = PROTOCOL_VERSION) => ({ v, type: 'push', id, body });

describe('bad input against a switchboard process', () => {
  it('answers malformed JSON with a protocol error, keeps the connection and writes nothing', async () => {
    const server = await startServer({ data });
    const { from, operations } = await someOperations(3);
    const client = await rawClient(server);
    client.send('{"v":1,"type":"hello"');
    expect(await client.next()).toMatchObject({ type: 'error', error: { kind: 'protocol', retryable: false } });
    client.send(hello());
    expect(await client.next()).toMatchObject({ type: 'welcome', server: (await server.health()).id });
    // A push cut short: not JSON, so nothing of it is stored.
    const text = JSON.stringify(push(1, { from, operations, cursor: 3 }));
    client.send(text.slice(0, -20));
    const error = await client.next();
    expect(error).toMatchObject({ type: 'error', error: { kind: 'protocol' } });
    expect((error.error as { message: string }).message).toContain('not JSON');
    // Well-formed JSON, but not an op: that op is refused in the answer, nothing is stored.
    client.send(push(2, { from, operations: [{ ...operations[0], timestamp: 42 }], cursor: 1 }));
    expect(await client.next()).toMatchObject({
      type: 'result',
      id: 2,
      body: { accepted: 0, rejected: [{ id: operations[0]?.id, reason: { kind: 'protocol' } }] },
    });
    // Not a push at all: a protocol error for the request's id.
    client.send(push(4, { from, operations: {}, cursor: 1 }));
    expect(await client.next()).toMatchObject({ type: 'error', id: 4, error: { kind: 'protocol' } });
    expect((await server.health()).ordinal).toBe(0);
    // The connection is still good: a proper push is stored.
    client.send(push(3, { from, operations, cursor: 3 }));
    expect(await client.next()).toMatchObject({ type: 'result', id: 3, body: { accepted: 3 } });
    expect((await server.health()).ordinal).toBe(3);
    client.close();
  });

  it('refuses another protocol version with an error frame and close code 4400', async () => {
    const server = await startServer({ data });
    const { from, operations } = await someOperations(3);
    const before = await rawClient(server);
    before.send(hello({ v: 1 }));
    expect(await before.next()).toMatchObject({ type: 'error', error: { kind: 'protocol' } });
    expect((await before.closed).code).toBe(CLOSE_CODES.protocol);

    // A push of version 1 after a proper hello: refused by id, closed, nothing written.
    const after = await rawClient(server);
    after.send(hello());
    expect(await after.next()).toMatchObject({ type: 'welcome' });
    after.send(push(7, { from, operations, cursor: 3 }, 1));
    const error = await after.next();
    expect(error).toMatchObject({ type: 'error', id: 7, error: { kind: 'protocol' } });
    expect((error.error as { message: string }).message).toContain('version 1 is not supported');
    expect((await after.closed).code).toBe(CLOSE_CODES.protocol);
    expect((await server.health()).ordinal).toBe(0);
  });

  it('refuses a frame over --max-frame-bytes with close code 1009 and writes nothing', async () => {
    const server = await startServer({ data, args: ['--max-frame-bytes', '4096'] });
    const { from, operations } = await someOperations(40);
    const client = await rawClient(server);
    client.send(hello());
    expect(await client.next()).toMatchObject({ type: 'welcome', maxFrameBytes: 4096 });
    const frame = JSON.stringify(push(1, { from, operations, cursor: 40 }));
    expect(frame.length).toBeGreaterThan(4096);
    client.send(frame);
    const error = await client.next();
    expect(error).toMatchObject({ type: 'error', error: { kind: 'protocol' } });
    expect((error.error as { message: string }).message).toContain('over the limit of 4096 bytes');
    expect((await client.closed).code).toBe(CLOSE_CODES.tooBig);
    expect((await server.health()).ordinal).toBe(0);
  });

  it('refuses a bad or missing token (--token) with an auth error and close code 4401', async () => {
    const server = await startServer({ data, args: ['--token', 'sesame'] });
    const { from, operations } = await someOperations(3);
    for (const token of ['wrong', undefined]) {
      const client = await rawClient(server);
      client.send(hello(token === undefined ? {} : { token }));
      // Sent before the verdict: not served either (refused, or dropped once the socket closes).
      client.send(push(1, { from, operations, cursor: 3 }));
      expect((await client.closed).code).toBe(CLOSE_CODES.auth);
      expect(client.frames).toContainEqual(
        expect.objectContaining({ type: 'error', error: expect.objectContaining({ kind: 'auth', retryable: false }) }),
      );
      expect(client.frames.filter((frame) => frame.type !== 'error')).toEqual([]);
    }
    expect((await server.health()).ordinal).toBe(0);
    expect(server.log()).toContain('bad token');

    // A reactor with the wrong token stops with an auth error; with the right one it syncs.
    const refused = await openReactor({ id: 'refused' });
    const channel = channelTo(server.url, refused, 'wrong');
    await refused.sync.add({ name: 'hub', channel, mode: 'push' });
    await refused.createDocument('counter', { id: 'x' });
    await firstValueFrom(
      refused.sync.status$.pipe(
        filter((all) => all.some((s) => s.name === 'hub' && s.phase === 'stopped')),
        timeout(10_000),
      ),
    );
    expect(refused.sync.status('hub')).toMatchObject({ connection: 'refused', lastError: { kind: 'auth' } });
    const allowed = await openReactor({ id: 'allowed' });
    await allowed.sync.add({ name: 'hub', channel: channelTo(server.url, allowed, 'sesame'), mode: 'push' });
    await allowed.createDocument('counter', { id: 'y' });
    await allowed.sync.settled({ timeoutMs: 10_000 });
    expect((await server.health()).ordinal).toBe(1);
  });
});

describe('the trust boundary against a switchboard process', () => {
  it('the source of a push is the connection: a client claiming another’s id cannot hide ops from it', async () => {
    const server = await startServer({ data });
    const alice = await openReactor({ id: 'alice' });
    await joinHub(alice, server.url, 'ping-pong');
    await healthUntil(server.port, (h) => h.clients === 1);
    const { operations } = await someOperations(4);
    // Mallory says hello as herself, then pushes with alice's id in the body.
    const mallory = await rawClient(server);
    mallory.send(hello({ client: 'mallory' }));
    expect(await mallory.next()).toMatchObject({ type: 'welcome' });
    mallory.send(push(1, { from: 'alice', operations, cursor: 4 }));
    expect(await mallory.next()).toMatchObject({ type: 'result', id: 1, body: { accepted: 4 } });
    mallory.close();
    // Stored as mallory's, so they reach alice like anyone else's ops.
    await until(alice, () => ordinal(alice) === 4, 'mallory’s ops');
    expect(alice.documents.get('c')?.state).toEqual({ count: 3 });
  });

  it('inputs arrive exactly as they were written: keys sorted, no undefined members, no -0', async () => {
    const server = await startServer({ data });
    const writer = await openReactor({ id: 'writer' });
    const reader = await openReactor({ id: 'reader' });
    await joinHub(writer, server.url, 'push');
    await joinHub(reader, server.url, 'pull');
    await writer.createDocument('list', { id: 'l' });
    const input = { item: 'é\u{1F600}', zeta: { b: -0, a: [1, { y: null, x: 'x' }] }, gone: undefined };
    await writer.mutate('l', [{ type: 'ADD', input }]);
    await until(reader, () => ordinal(reader) === 2, 'the op');
    const [written] = await writer.operations('l');
    const [read] = await reader.operations('l');
    expect(read).toEqual(written);
    expect(JSON.stringify(read?.input)).toBe(JSON.stringify(written?.input));
    expect(JSON.stringify(read?.input)).toBe('{"item":"é\u{1F600}","zeta":{"a":[1,{"x":"x","y":null}],"b":0}}');
    expect(reader.documents.get('l')?.hash).toBe(writer.documents.get('l')?.hash);
  });
});
