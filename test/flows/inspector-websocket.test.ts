import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { connect, type Reactor } from '../../src/index.js';
import {
  type ActorTree,
  actorTree,
  child,
  childNames,
  inOrder,
  isWireEvent,
  lastSnapshot,
  regionStates,
  remoteNamed,
  remotesOf,
  roots,
  type WireEvent,
} from '../inspectorWire.js';
import { reactorsPerTest } from '../support.js';

/**
 * The Stately inspector's wire path, offline: `createWebSocketInspector({ url })` from
 * `@statelyai/inspect` sends to a loopback WebSocket server standing in for the inspector (the
 * real one is a web app on the internet). The server keeps every message as the inspector would.
 */
async function startReceiver() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const received: WireEvent[] = [];
  const checks = new Set<() => void>();
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message: unknown = JSON.parse(String(data));
      if (isWireEvent(message)) received.push(message);
      for (const check of checks) check();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    received,
    /** Resolves with the actor tree once `ready(tree)` holds; fails after 5 s saying what was missing. */
    until(ready: (tree: ActorTree) => boolean, what: string) {
      return new Promise<ActorTree>((resolve, reject) => {
        const check = () => {
          const tree = actorTree(received);
          if (!ready(tree)) return;
          finish();
          resolve(tree);
        };
        const deadline = setTimeout(() => {
          finish();
          reject(new Error(`the inspector never showed ${what} (${received.length} messages received)`));
        }, 5_000);
        const finish = () => {
          clearTimeout(deadline);
          checks.delete(check);
        };
        checks.add(check);
        check();
      });
    },
    async close() {
      for (const socket of server.clients) socket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const open = reactorsPerTest({ retry: { baseMs: 5, maxMs: 50 } });

/** A receiver and one inspector connected to it, as in the inspector's README. */
async function inspectorOnLoopback() {
  const receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  const inspector = createWebSocketInspector({ url: receiver.url });
  cleanups.push(() => inspector.stop());
  // Until its socket opens the inspector keeps only the last 200 messages: let it connect first.
  await receiver.until(() => true, 'a connection');
  return { receiver, inspector };
}

const count = (reactor: Reactor, id: string) =>
  (reactor.documents.get(id)?.state as { count: number } | undefined)?.count;

/**
 * Reactors `a` and `b` on one inspector. `a` pushes to b (`to-b`) and pulls from b (`from-b`); `b`
 * ping-pongs with a (`with-a`). Both write to one document until it converges at 6 on both sides.
 */
async function twoReactorsSyncing() {
  const { receiver, inspector } = await inspectorOnLoopback();
  const a = await open({ id: 'a', inspect: inspector.inspect });
  const b = await open({ id: 'b', inspect: inspector.inspect });
  // A long pull interval: pulls here come from the first round and from pokes, not from a timer.
  const remote = { pullIntervalMs: 60_000, debounceMs: 1 };
  await a.sync.add({ name: 'to-b', channel: connect(a, b), mode: 'push', ...remote });
  await a.sync.add({ name: 'from-b', channel: connect(a, b), mode: 'pull', ...remote });
  await b.sync.add({ name: 'with-a', channel: connect(b, a), mode: 'ping-pong', ...remote });

  await a.createDocument('counter', { id: 'c' });
  await a.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
  await a.sync.settled();
  await b.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
  await a.mutate('c', [{ type: 'INCREMENT', input: { by: 3 } }]);
  await Promise.all([a.sync.settled(), b.sync.settled()]);
  await Promise.all([a.sync.settled(), b.sync.settled()]);
  expect([count(a, 'c'), count(b, 'c')]).toEqual([6, 6]);
  return { receiver, a, b };
}

const LONG_LIVED = ['documentView', 'jobExecutor', 'operationsStore', 'queue', 'replies', 'syncManager'];

describe('the Stately inspector over its WebSocket (loopback)', () => {
  it('shows both reactors: the root, every long-lived actor under it, and one actor per remote', async () => {
    const { receiver } = await twoReactorsSyncing();
    const tree = await receiver.until((t) => {
      const found = roots(t, 'reactor').map((root) => remotesOf(t, root).join(','));
      return found.includes('remote:from-b,remote:to-b') && found.includes('remote:with-a');
    }, 'both reactors with their remotes');

    const reactors = roots(tree, 'reactor');
    expect(reactors).toHaveLength(2);
    for (const root of reactors) {
      expect(root.rootId).toBe(root.sessionId);
      expect(childNames(tree, root)).toEqual(LONG_LIVED);
      // Every actor of a reactor reports under that reactor's root.
      const own = [...tree.values()].filter((actor) => actor.rootId === root.sessionId);
      expect(own.length).toBeGreaterThan(LONG_LIVED.length + 1);
    }
    expect(reactors.map((root) => remotesOf(tree, root)).sort()).toEqual([
      ['remote:from-b', 'remote:to-b'],
      ['remote:with-a'],
    ]);
    // The statechart travels with each actor, so the inspector can draw it.
    for (const root of reactors) {
      expect(JSON.parse(root.definition ?? '{}')).toMatchObject({ id: 'reactor' });
      for (const name of remotesOf(tree, root)) {
        const remote = child(tree, child(tree, root, 'syncManager')!, name);
        expect(JSON.parse(remote?.definition ?? '{}')).toMatchObject({ id: 'remote', type: 'parallel' });
      }
    }
  });

  it('shows each remote’s statechart moving: push idle → debouncing → sending → idle, pulls fetching and back', async () => {
    const { receiver, a, b } = await twoReactorsSyncing();
    const status = (reactor: Reactor, name: string) => {
      const found = reactor.sync.status(name);
      if (found === undefined) throw new Error(`no remote "${name}" on ${reactor.id}`);
      return found;
    };
    /** The inspector's last snapshot of a remote shows what `sync.status` says: regions and counts. */
    const showsStatus = (tree: ActorTree, reactor: Reactor, name: string) => {
      const snapshot = lastSnapshot(remoteNamed(tree, name));
      const value = snapshot?.value as Record<string, unknown> | undefined;
      const { push, pull, pushed, pulled } = status(reactor, name);
      return (
        (value?.push ?? 'disabled') === push &&
        (value?.pull ?? 'disabled') === pull &&
        snapshot?.context?.pushed === pushed &&
        snapshot?.context?.pulled === pulled
      );
    };
    const tree = await receiver.until(
      (t) => showsStatus(t, a, 'to-b') && showsStatus(t, a, 'from-b') && showsStatus(t, b, 'with-a'),
      'each remote where sync.status says it is',
    );
    expect([status(a, 'to-b'), status(a, 'from-b'), status(b, 'with-a')].map((s) => s.phase)).toEqual([
      'idle',
      'idle',
      'idle',
    ]);

    // The counts the inspector shows are the ones the app sees: a pushed at least its CREATE_DOCUMENT
    // and two increments, pulled at least b's increment, and b pushed that increment.
    expect(status(a, 'to-b').pushed).toBeGreaterThanOrEqual(3);
    expect(status(a, 'from-b').pulled).toBeGreaterThanOrEqual(1);
    expect(status(b, 'with-a').pushed).toBeGreaterThanOrEqual(1);

    const twoRounds = ['idle', 'debouncing', 'sending', 'idle', 'debouncing', 'sending', 'idle'];
    expect(inOrder(regionStates(remoteNamed(tree, 'to-b'), 'push'), twoRounds)).toEqual(twoRounds);
    expect(regionStates(remoteNamed(tree, 'to-b'), 'pull')).toEqual([]);

    const twoPulls = ['pulling.fetching', 'idle', 'pulling.fetching', 'idle'];
    expect(inOrder(regionStates(remoteNamed(tree, 'from-b'), 'pull'), twoPulls)).toEqual(twoPulls);
    expect(regionStates(remoteNamed(tree, 'from-b'), 'push')).toEqual([]);

    const pingPong = remoteNamed(tree, 'with-a');
    expect(inOrder(regionStates(pingPong, 'push'), twoRounds.slice(0, 4))).toEqual(twoRounds.slice(0, 4));
    expect(inOrder(regionStates(pingPong, 'pull'), twoPulls.slice(0, 2))).toEqual(twoPulls.slice(0, 2));
  });
});
