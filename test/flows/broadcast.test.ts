import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BroadcastTransport,
  createBroadcastTransport,
  type DocumentSnapshot,
  type Reactor,
} from '../../src/index.js';
import { runUntilBlocked, SimClock } from '../../src/sim/index.js';
import { reactorsPerTest, untilDocument } from '../support.js';

// Node has BroadcastChannel too: instances of one name reach each other within the process, as tabs do.
// The transports' time (request time-outs, heartbeats) is a SimClock that moves only when a test
// moves it, so no outcome depends on how fast the machine is.
const openReactor = reactorsPerTest({ retry: { baseMs: 5, maxMs: 50 } });
const transports: BroadcastTransport[] = [];
afterEach(() => {
  for (const transport of transports.splice(0)) transport.close();
});

function tab(reactor: Reactor, channelName: string, clock = new SimClock()) {
  const transport = createBroadcastTransport(reactor, { channelName, requestTimeoutMs: 500, clock });
  transports.push(transport);
  return transport;
}

const hasCount = (n: number) => (snapshot: DocumentSnapshot) => (snapshot.state as { count: number }).count === n;

const peersOf = (transport: BroadcastTransport, n: number) =>
  firstValueFrom(
    transport.peers$.pipe(
      filter((peers) => peers.length === n),
      timeout(2000),
    ),
  );

describe('BroadcastChannel transport', () => {
  it('tabs find each other and sync a document in ping-pong', async () => {
    const name = `tabs-${crypto.randomUUID()}`;
    const a = await openReactor({ id: 'tab-a' });
    const b = await openReactor({ id: 'tab-b' });
    const ta = tab(a, name);
    const tb = tab(b, name);
    expect(await peersOf(ta, 1)).toEqual(['tab-b']);
    expect(await peersOf(tb, 1)).toEqual(['tab-a']);
    await a.sync.add({ name: 'b', channel: ta.channelTo('tab-b'), mode: 'ping-pong', pullIntervalMs: 5000 });
    await b.sync.add({ name: 'a', channel: tb.channelTo('tab-a'), mode: 'ping-pong', pullIntervalMs: 5000 });
    await a.createDocument('counter', { id: 'c' });
    await untilDocument(b, 'c');
    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 4 } }]);
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await untilDocument(a, 'c', hasCount(5));
    await untilDocument(b, 'c', hasCount(5));
    expect(a.documents.get('c')).toEqual(b.documents.get('c'));
  });

  it('syncWithPeers adds a remote per tab and removes it when the tab closes', async () => {
    const name = `tabs-${crypto.randomUUID()}`;
    const [a, b, c] = await Promise.all(['x', 'y', 'z'].map((id) => openReactor({ id })));
    const ta = tab(a as Reactor, name);
    const tb = tab(b as Reactor, name);
    const tc = tab(c as Reactor, name);
    for (const t of [ta, tb, tc]) t.syncWithPeers({ mode: 'ping-pong' });
    await peersOf(ta, 2);
    await firstValueFrom(
      (a as Reactor).sync.status$.pipe(
        filter((all) => all.length === 2),
        timeout(2000),
      ),
    );
    expect((a as Reactor).sync.list().map((s) => s.name)).toEqual(['tab:y', 'tab:z']);
    await (c as Reactor).createDocument('counter', { id: 'd' });
    await untilDocument(a as Reactor, 'd');
    await untilDocument(b as Reactor, 'd');
    tc.close();
    await peersOf(ta, 1);
    await firstValueFrom(
      (a as Reactor).sync.status$.pipe(
        filter((all) => all.length === 1),
        timeout(2000),
      ),
    );
    expect((a as Reactor).sync.list().map((s) => s.name)).toEqual(['tab:y']);
  });

  it('a tab that goes silent without saying bye (crashed, killed) is dropped after three heartbeat periods', async () => {
    const name = `tabs-${crypto.randomUUID()}`;
    // One clock for the reactor and the transport: each peer's statechart runs under its remote,
    // on the reactor's clock.
    const clock = new SimClock();
    const a = await openReactor({ id: 'alive', clock });
    const ta = createBroadcastTransport(a, { channelName: name, heartbeatMs: 40, clock });
    transports.push(ta);
    ta.syncWithPeers({ mode: 'ping-pong' });
    // A "tab" that announces itself and then never speaks again.
    const ghost = new BroadcastChannel(name);
    ghost.postMessage({ xr: 1, kind: 'hello', from: 'ghost' });
    expect(await peersOf(ta, 1)).toEqual(['ghost']);
    await firstValueFrom(
      a.sync.status$.pipe(
        filter((all) => all.length === 1),
        timeout(2000),
      ),
    );
    // Heard at 0: silent after two quiet periods (80) but still there, gone after three (120).
    clock.set(119);
    expect(ta.peers()).toEqual(['ghost']);
    expect(a.sync.list().map((s) => s.name)).toEqual(['tab:ghost']);
    clock.set(120);
    expect(ta.peers()).toEqual([]);
    await firstValueFrom(
      a.sync.status$.pipe(
        filter((all) => all.length === 0),
        timeout(2000),
      ),
    );
    ghost.close();
  });

  it('closing one channel to a tab fails its later calls; the other channels to that tab carry on', async () => {
    const name = `tabs-${crypto.randomUUID()}`;
    const a = await openReactor({ id: 'tab-a' });
    const b = await openReactor({ id: 'tab-b' });
    const ta = tab(a, name);
    tab(b, name);
    const closed = ta.channelTo('tab-b');
    const open = ta.channelTo('tab-b');
    await closed.close();
    await expect(closed.pull({ cursor: 0, limit: 10 })).rejects.toMatchObject({ kind: 'network', retryable: false });
    await expect(closed.push({ from: 'tab-a', operations: [], cursor: 0 })).rejects.toMatchObject({
      kind: 'network',
    });
    await expect(open.pull({ cursor: 0, limit: 10 })).resolves.toMatchObject({ from: 'tab-b', operations: [] });
  });

  it('a request to a tab that never answers times out (retryably)', async () => {
    const name = `tabs-${crypto.randomUUID()}`;
    const a = await openReactor({ id: 'lonely' });
    const clock = new SimClock();
    const ta = tab(a, name, clock);
    let outcome: unknown;
    const request = ta
      .channelTo('ghost')
      .pull({ cursor: 0, limit: 10 })
      .catch((error: unknown) => {
        outcome = error;
      });
    clock.set(499);
    await runUntilBlocked();
    expect(outcome).toBeUndefined();
    clock.set(500);
    await request;
    expect(outcome).toMatchObject({ kind: 'timeout', retryable: true, message: expect.stringContaining('500 ms') });
    expect(() => ta.channelTo('lonely')).toThrow(/another tab/);
  });
});
