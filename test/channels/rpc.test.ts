import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type ClientFrame, PROTOCOL_VERSION } from '../../src/channels/protocol.js';
import { RpcClient, RpcServer, rpcChannel } from '../../src/channels/rpc.js';
import { ReactorError } from '../../src/index.js';
import type { Endpoint, PullResponse } from '../../src/model/sync.js';

const page: PullResponse = { from: 'srv', operations: [], cursor: 4, hasMore: false };

describe('rpc over frames', () => {
  it('matches answers to requests by id, whatever their order', async () => {
    const sent: ClientFrame[] = [];
    const client = new RpcClient((frame) => sent.push(frame), { label: 'test' });
    const channel = rpcChannel(client, () => {});
    const first = channel.pull({ cursor: 0, limit: 10 });
    const second = channel.pull({ cursor: 4, limit: 10 });
    expect(sent.map((f) => (f.type === 'hello' ? 0 : f.id))).toEqual([1, 2]);
    client.receive({ v: PROTOCOL_VERSION, type: 'result', id: 2, body: { ...page, cursor: 9 } });
    client.receive({ v: PROTOCOL_VERSION, type: 'result', id: 1, body: page });
    expect((await first).cursor).toBe(4);
    expect((await second).cursor).toBe(9);
    expect(client.inFlight).toBe(0);
  });

  it('turns error frames into ReactorErrors and parses push answers (they are untrusted)', async () => {
    const client = new RpcClient(() => {}, { label: 'test' });
    const channel = rpcChannel(client, () => {});
    const refused = channel.push({ from: 'a', operations: [], cursor: 0 });
    client.receive({
      v: PROTOCOL_VERSION,
      type: 'error',
      id: 1,
      error: { kind: 'auth', message: 'no', retryable: false },
    });
    await expect(refused).rejects.toMatchObject({ kind: 'auth', message: 'no' });
    const garbled = channel.push({ from: 'a', operations: [], cursor: 0 });
    client.receive({ v: PROTOCOL_VERSION, type: 'result', id: 2, body: { accepted: 'many' } });
    await expect(garbled).rejects.toMatchObject({ kind: 'protocol' });
    // A pulled page goes to the sync actor that asked, which checks it op by op.
    const page = channel.pull({ cursor: 0, limit: 1 });
    client.receive({ v: PROTOCOL_VERSION, type: 'result', id: 3, body: { operations: 'many' } });
    await expect(page).resolves.toEqual({ operations: 'many' });
  });

  it('times a request out on the clock port, and fails all in flight when the link drops', async () => {
    const clock = new SimulatedClock();
    const client = new RpcClient(() => {}, { label: 'peer', timeoutMs: 100, clock });
    const slow = client.request('pull', {});
    clock.increment(100);
    await expect(slow).rejects.toMatchObject({ kind: 'timeout', retryable: true });
    const dropped = client.request('push', {});
    client.failAll(new ReactorError('network', 'gone', { retryable: true }));
    await expect(dropped).rejects.toMatchObject({ kind: 'network', message: 'gone' });
  });

  it('a send that throws rejects the request at once', async () => {
    const client = new RpcClient(
      () => {
        throw new Error('socket closed');
      },
      { label: 'peer' },
    );
    await expect(client.request('pull', {})).rejects.toMatchObject({ kind: 'network' });
    expect(client.inFlight).toBe(0);
  });

  it('the server answers each request and reports what the endpoint threw', async () => {
    const endpoint: Endpoint = {
      push: async () => {
        throw new ReactorError('protocol', 'bad envelope');
      },
      pull: async () => page,
      pokes: { subscribe: () => ({ unsubscribe() {} }) },
    };
    const server = new RpcServer(endpoint);
    const replies: unknown[] = [];
    await server.handle({ v: PROTOCOL_VERSION, type: 'pull', id: 1, body: {} }, (f) => replies.push(f));
    await server.handle({ v: PROTOCOL_VERSION, type: 'push', id: 2, body: {} }, (f) => replies.push(f));
    expect(replies).toEqual([
      { v: PROTOCOL_VERSION, type: 'result', id: 1, body: page },
      {
        v: PROTOCOL_VERSION,
        type: 'error',
        id: 2,
        error: { kind: 'protocol', message: 'bad envelope', retryable: false },
      },
    ]);
    await server.drain();
    expect(server.inFlight).toBe(0);
  });
});
