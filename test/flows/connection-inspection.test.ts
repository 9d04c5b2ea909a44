import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, readClientFrame, type ServerFrame } from '../../src/channels/protocol.js';
import { RpcServer } from '../../src/channels/rpc.js';
import {
  type BroadcastTransport,
  type ConnectionState,
  createBroadcastTransport,
  createWebSocketChannel,
  type InspectionRecord,
  type Reactor,
  toInspectionRecord,
  type WebSocketChannel,
  type WebSocketLike,
} from '../../src/index.js';
import { inOrder } from '../inspectorWire.js';
import { reactorsPerTest } from '../support.js';

/**
 * A channel's connection statechart runs under the remote it is added to: the trace a reactor
 * records (`toInspectionRecord`, what `--record` writes and the inspector receives) shows
 * `connection` as a child of `remote:<name>`, with every state it goes through.
 */

const openReactor = reactorsPerTest({ retry: { baseMs: 5, maxMs: 50 } });
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A reactor whose trace is recorded as JSON lines would be. */
async function recorded(id: string) {
  const records: InspectionRecord[] = [];
  const reactor = await openReactor({
    id,
    inspect: (event) => records.push(JSON.parse(JSON.stringify(toInspectionRecord(event)))),
  });
  return { reactor, records };
}

/**
 * WebSockets to a switchboard in memory: each socket speaks the protocol to `serving`'s endpoint
 * (welcome, results); `drop()` cuts every open socket from the server side.
 */
function switchboardInMemory(serving: Reactor) {
  const server = new RpcServer(serving.endpoint);
  const open = new Set<FakeSocket>();
  class FakeSocket implements WebSocketLike {
    readyState = 0;
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: { code: number; reason: string }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;

    constructor(readonly url: string) {
      open.add(this);
      setTimeout(() => {
        if (this.readyState !== 0) return;
        this.readyState = 1;
        this.onopen?.({});
      }, 0);
    }

    send(text: string) {
      const frame = readClientFrame(text);
      if (frame.type === 'hello') {
        this.deliver({ v: PROTOCOL_VERSION, type: 'welcome', server: serving.id, maxFrameBytes: 1 << 20 });
      } else {
        void server.handle(frame, (answer) => this.deliver(answer), { peer: 'client' });
      }
    }

    close(code = 1000, reason = '') {
      this.end(code, reason);
    }

    end(code: number, reason: string) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      open.delete(this);
      setTimeout(() => this.onclose?.({ code, reason }), 0);
    }

    private deliver(frame: ServerFrame) {
      setTimeout(() => {
        if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(frame) });
      }, 0);
    }
  }
  return {
    WebSocket: FakeSocket,
    drop: () => {
      for (const socket of [...open]) socket.end(1006, '');
    },
  };
}

const reaches = (channel: WebSocketChannel, state: ConnectionState) =>
  new Promise<void>((resolve) => {
    const subscription = channel.connection.subscribe((now) => {
      if (now !== state) return;
      queueMicrotask(() => subscription.unsubscribe());
      resolve();
    });
  });

/** A state value as a path: `'closed'`, or `'session.online'` for `{ session: 'online' }`. */
function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, inner] = Object.entries(value as object)[0] ?? ['?', undefined];
  return `${key}.${statePath(inner)}`;
}

/** The actor named `name` under the actor `parent` (a session id), from a trace. */
function childIn(records: readonly InspectionRecord[], parent: string | undefined, name: string) {
  return records.find((r) => r.type === '@xstate.actor' && r.name === name && r.parentId === parent);
}

/** The states an actor went through, repeats in a row collapsed. */
function statesOf(records: readonly InspectionRecord[], sessionId: string | undefined): string[] {
  const states: string[] = [];
  for (const record of records) {
    if (record.type !== '@xstate.snapshot' || record.sessionId !== sessionId) continue;
    const path = statePath((record.snapshot as { value: unknown }).value);
    if (states.at(-1) !== path) states.push(path);
  }
  return states;
}

describe('connection statecharts in the trace, under their remote', () => {
  it('WebSocket: `connection` under `remote:hub` goes connecting → handshaking → online, backs off on a drop, ends closed', async () => {
    const { reactor: a, records } = await recorded('a');
    const b = await openReactor({ id: 'b' });
    const board = switchboardInMemory(b);
    const channel = createWebSocketChannel('ws://switchboard.test', {
      WebSocket: board.WebSocket,
      token: 'secret-token',
      reconnect: { baseMs: 5, maxMs: 20 },
    });
    cleanups.push(() => channel.close());
    await a.sync.add({ name: 'hub', channel, mode: 'ping-pong' });
    await a.createDocument('counter', { id: 'c' });
    await a.sync.settled({ timeoutMs: 5000 });
    expect(b.documents.get('c')).toBeDefined();
    expect(a.sync.status('hub')?.connection).toBe('online');

    const offline = reaches(channel, 'offline');
    board.drop();
    await offline;
    await reaches(channel, 'online');
    expect(a.sync.status('hub')?.connection).toBe('online');
    await a.sync.remove('hub');
    expect(channel.connection.state).toBe('closed');

    const manager = records.find((r) => r.type === '@xstate.actor' && r.name === 'syncManager');
    const remote = childIn(records, manager?.sessionId, 'remote:hub');
    const connection = childIn(records, remote?.sessionId, 'connection');
    expect(connection, 'the connection statechart is a child of remote:hub').toBeDefined();
    expect(JSON.parse(connection?.definition ?? '{}')).toMatchObject({ id: 'connection' });
    expect(childIn(records, connection?.sessionId, 'link')).toBeDefined();
    expect(childIn(records, connection?.sessionId, 'socket')).toBeDefined();

    const lifecycle = [
      'session.connecting',
      'session.handshaking',
      'session.online',
      'backingOff',
      'session.connecting',
      'session.handshaking',
      'session.online',
      'closed',
    ];
    expect(inOrder(statesOf(records, connection?.sessionId), lifecycle)).toEqual(lifecycle);
    // Its context is plain data, and the token is not in it (nor anywhere in the trace).
    const last = records.filter((r) => r.type === '@xstate.snapshot' && r.sessionId === connection?.sessionId).at(-1);
    expect((last?.snapshot as { context?: unknown } | undefined)?.context).toMatchObject({
      url: 'ws://switchboard.test',
      remote: 'hub',
      serverId: 'b',
      attempts: 0,
    });
    expect(JSON.stringify(records)).not.toContain('secret-token');
  });

  it('WebSocket used before sync.add: the channel runs its statechart itself, then hands it to the remote', async () => {
    const { reactor: a, records } = await recorded('a');
    const b = await openReactor({ id: 'b' });
    const board = switchboardInMemory(b);
    const channel = createWebSocketChannel('ws://switchboard.test', { WebSocket: board.WebSocket });
    cleanups.push(() => channel.close());
    // Standalone, as the channel tests use it: no reactor runs it, and it works.
    expect((await channel.pull({ cursor: 0, limit: 10 })).operations).toEqual([]);
    expect(channel.connection.state).toBe('online');
    expect(records.some((r) => r.name === 'connection')).toBe(false);

    await a.sync.add({ name: 'hub', channel, mode: 'pull' });
    await b.createDocument('counter', { id: 'd' });
    await a.sync.settled({ timeoutMs: 5000 });
    expect(a.documents.get('d')).toBeDefined();
    expect(channel.connection.state).toBe('online');
    const manager = records.find((r) => r.type === '@xstate.actor' && r.name === 'syncManager');
    const remote = childIn(records, manager?.sessionId, 'remote:hub');
    const connection = childIn(records, remote?.sessionId, 'connection');
    expect(statesOf(records, connection?.sessionId)).toContain('session.online');
  });

  it('BroadcastChannel: each tab remote of syncWithPeers shows its peer statechart, present until the tab leaves', async () => {
    const { reactor: a, records } = await recorded('tab-a');
    const b = await openReactor({ id: 'tab-b' });
    const channelName = `tabs-${crypto.randomUUID()}`;
    const transports: BroadcastTransport[] = [
      createBroadcastTransport(a, { channelName, heartbeatMs: 0 }),
      createBroadcastTransport(b, { channelName, heartbeatMs: 0 }),
    ];
    cleanups.push(() => {
      for (const transport of transports) transport.close();
    });
    transports[0]?.syncWithPeers({ mode: 'ping-pong' });
    const remotes = (n: number) =>
      firstValueFrom(
        a.sync.status$.pipe(
          filter((all) => all.length === n),
          timeout(2000),
        ),
      );
    await remotes(1);
    expect(a.sync.list().map((s) => s.name)).toEqual(['tab:tab-b']);
    await b.createDocument('counter', { id: 'e' });
    await a.sync.settled({ timeoutMs: 5000 });
    expect(a.documents.get('e')).toBeDefined();
    // A tab remote has no connection state of its own in its status (as before).
    expect(a.sync.status('tab:tab-b')?.connection).toBeUndefined();

    transports[1]?.close();
    await remotes(0);

    const manager = records.find((r) => r.type === '@xstate.actor' && r.name === 'syncManager');
    const remote = childIn(records, manager?.sessionId, 'remote:tab:tab-b');
    const connection = childIn(records, remote?.sessionId, 'connection');
    expect(connection, 'the peer statechart is a child of remote:tab:tab-b').toBeDefined();
    expect(JSON.parse(connection?.definition ?? '{}')).toMatchObject({ id: 'peer' });
    expect(inOrder(statesOf(records, connection?.sessionId), ['present.listening', 'gone'])).toEqual([
      'present.listening',
      'gone',
    ]);
  });
});
