import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { SimulatedClock } from 'xstate';
import {
  type BroadcastTransport,
  createBroadcastTransport,
  createWebSocketChannel,
  PROTOCOL_VERSION,
  type WebSocketChannel,
} from '../../src/index.js';
import { reactorsPerTest } from '../support.js';

/**
 * An answer frame that cannot be read, but whose request id can, fails that request at once
 * (with the frame's error) instead of leaving it to wait for its timeout. The channels run on a
 * simulated clock that never moves, so a request that waited for its timeout would wait forever.
 */

const openReactor = reactorsPerTest();
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An answer whose `error` is not an error: unreadable, but it names request `id`. */
const garbled = (id: unknown) => ({ v: PROTOCOL_VERSION, type: 'error', id, error: { kind: 'no such kind' } });

/** Settles `promise` to what it rejected with, or 'still waiting' after a few turns of the event loop. */
async function outcome(promise: Promise<unknown>, turns = 50): Promise<unknown> {
  let settled: unknown = 'still waiting';
  promise.then(
    () => {
      settled = 'resolved';
    },
    (error: unknown) => {
      settled = error;
    },
  );
  for (let i = 0; i < turns && settled === 'still waiting'; i++) await new Promise((r) => setTimeout(r, 10));
  return settled;
}

describe('a malformed answer frame fails its request at once', () => {
  it('over WebSocket', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (socket: WebSocket) => {
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type: string; id?: number };
        if (frame.type === 'hello') {
          socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'welcome', server: 'odd', maxFrameBytes: 1 << 20 }));
        } else {
          socket.send(JSON.stringify(garbled(frame.id)));
        }
      });
    });
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const channel: WebSocketChannel = createWebSocketChannel(url, { clock: new SimulatedClock() });
    cleanups.push(() => channel.close());
    const failure = await outcome(channel.pull({ from: 'me', cursor: 0, limit: 10 }));
    expect(failure).toMatchObject({ kind: 'protocol', message: expect.stringMatching(/malformed server frame/) });
    // The connection is fine otherwise: the next request is sent and answered (garbled again).
    expect(await outcome(channel.pull({ from: 'me', cursor: 0, limit: 10 }))).toMatchObject({ kind: 'protocol' });
    expect(channel.connection.state).toBe('online');
  });

  it('over BroadcastChannel', async () => {
    const name = `garbled-${crypto.randomUUID()}`;
    const reactor = await openReactor({ id: 'tab-a' });
    const transport: BroadcastTransport = createBroadcastTransport(reactor, {
      channelName: name,
      clock: new SimulatedClock(),
      heartbeatMs: 0,
    });
    cleanups.push(() => transport.close());
    // Another tab that answers every request with a frame that cannot be read.
    const other = new BroadcastChannel(name);
    cleanups.push(() => other.close());
    other.onmessage = (event: MessageEvent) => {
      const message = event.data as { kind: string; to?: string; frame?: { id?: number } };
      if (message.kind !== 'frame' || message.to !== 'tab-b') return;
      other.postMessage({ xr: 1, kind: 'frame', from: 'tab-b', to: 'tab-a', frame: garbled(message.frame?.id) });
    };
    const channel = transport.channelTo('tab-b');
    const failure = await outcome(channel.push({ from: 'tab-a', operations: [], cursor: 0 }));
    expect(failure).toMatchObject({ kind: 'protocol', message: expect.stringMatching(/malformed server frame/) });
  });
});
