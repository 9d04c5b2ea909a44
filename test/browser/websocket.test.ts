import { describe, expect, inject, it } from 'vitest';
import { createWebSocketChannel, type Reactor, type WebSocketChannel } from '../../src/index.js';
import { openReactor, uniqueDbName } from './support.js';

const url = inject('switchboardUrl');
const retry = { baseMs: 5, maxMs: 50 };

/** Waits until `check` passes, re-checking whenever the reactor's document changes. */
function until(reactor: Reactor, documentId: string, check: (state: { count: number }) => boolean) {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${reactor.id}: ${documentId} not as expected`)), 10_000);
    const subscription = reactor.documents.observe(documentId).subscribe((snapshot) => {
      if (!check(snapshot.state as { count: number })) return;
      clearTimeout(timer);
      queueMicrotask(() => subscription.unsubscribe());
      resolve();
    });
  });
}

describe('WebSocket channel in the browser', () => {
  it('two reactors in the page sync through a switchboard in Node, with the browser’s own WebSocket', async () => {
    const a = await openReactor(uniqueDbName('ws-a'), { retry });
    const b = await openReactor(uniqueDbName('ws-b'), { retry });
    const channels: WebSocketChannel[] = [];
    const channel = (reactor: Reactor) => {
      const made = createWebSocketChannel(url, { token: 'browser-suite', clientId: reactor.id });
      channels.push(made);
      return made;
    };
    await a.sync.add({ name: 'hub', channel: channel(a), mode: 'ping-pong' });
    await b.sync.add({ name: 'hub', channel: channel(b), mode: 'ping-pong' });
    const documentId = `ws-${crypto.randomUUID()}`;
    await a.createDocument('counter', { id: documentId });
    await until(b, documentId, () => true);
    await b.mutate(documentId, [{ type: 'INCREMENT', input: { by: 2 } }]);
    await a.mutate(documentId, [{ type: 'INCREMENT', input: { by: 3 } }]);
    await until(a, documentId, (state) => state.count === 5);
    await until(b, documentId, (state) => state.count === 5);
    expect(a.documents.get(documentId)?.hash).toBe(b.documents.get(documentId)?.hash);
    expect(a.sync.status('hub')?.connection).toBe('online');
    for (const made of channels) made.close();
  });

  it('a bad token is refused: the remote stops with an auth error', async () => {
    const a = await openReactor(uniqueDbName('ws-bad'), { retry });
    const channel = createWebSocketChannel(url, { token: 'wrong' });
    await a.sync.add({ name: 'hub', channel, mode: 'pull' });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('remote did not stop')), 10_000);
      const subscription = a.sync.status$.subscribe((all) => {
        if (all[0]?.phase !== 'stopped') return;
        clearTimeout(timer);
        queueMicrotask(() => subscription.unsubscribe());
        resolve();
      });
    });
    expect(a.sync.status('hub')?.lastError?.kind).toBe('auth');
    expect(channel.connection.state).toBe('refused');
    channel.close();
  });
});
