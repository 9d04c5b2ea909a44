import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createReactor, createWebSocketChannel, type Reactor, type ReactorOptions } from '../../src/index.js';
import { leaderLockName } from '../../src/model/tabs.js';
import { openCore } from '../../src/reactor/core.js';
import { resolveOptions } from '../../src/reactor/options.js';
import { createSwitchboard, type Switchboard } from '../../src/server/index.js';
import { createLockManager } from '../../src/sim/locks.js';
import { counter, freshStorage, list, untilDocument } from '../support.js';

/**
 * Tabs of one origin on one database, in Node: each "tab" is a reactor on the same fake IndexedDB
 * factory and database name, with one in-process Web Locks stand-in and Node's BroadcastChannel
 * (instances of one name reach each other within the process, as tabs do). Real Chromium pages do
 * the same in test/e2e/tabs.test.ts.
 */

const open: Reactor[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((reactor) => reactor.stop()));
});

/** A browser profile: one IndexedDB, one lock manager, one database name shared by its tabs. */
function origin() {
  const indexedDB = new IDBFactory();
  const locks = createLockManager();
  const dbName = `app-${crypto.randomUUID()}`;
  const storage = { dbName, indexedDB, IDBKeyRange };
  return {
    async tab(options: Partial<ReactorOptions> = {}): Promise<Reactor> {
      const reactor = await createReactor({
        models: [counter, list],
        storage,
        tabs: { locks, leaderTimeoutMs: 500 },
        retry: { baseMs: 5, maxMs: 40 },
        ...options,
      });
      open.push(reactor);
      return reactor;
    },
    storage,
    locks,
    dbName,
  };
}

const countOf = (reactor: Reactor, id = 'c') =>
  (reactor.documents.get(id)?.state as { count: number } | undefined)?.count;

const roles = (reactors: readonly Reactor[]) => reactors.map((reactor) => reactor.status().role);

/** Resolves once `reactor` has the role (it may have it already). */
function untilRole(reactor: Reactor, role: 'leader' | 'follower') {
  if (reactor.status().role === role) return Promise.resolve();
  return firstValueFrom(
    reactor.events$.pipe(
      filter((event) => event.type === 'tab.role' && event.role === role),
      timeout(5000),
    ),
  ).then(() => {});
}

describe('several tabs on one database', () => {
  it('one tab leads, the others follow, and every tab has the whole API', async () => {
    const profile = origin();
    const a = await profile.tab();
    const b = await profile.tab();
    const c = await profile.tab();
    expect(roles([a, b, c])).toEqual(['leader', 'follower', 'follower']);
    expect(new Set([a.id, b.id, c.id]).size).toBe(1);

    await b.createDocument('counter', { id: 'c' });
    await Promise.all(
      [a, b, c].flatMap((reactor, i) =>
        Array.from({ length: 10 }, () => reactor.mutate('c', [{ type: 'INCREMENT', input: { by: i + 1 } }])),
      ),
    );
    // Every write resolved; each tab's view shows them all once the mutate returned.
    for (const reactor of [a, b, c]) expect(countOf(reactor)).toBe(60);
    const logs = await Promise.all([a, b, c].map((reactor) => reactor.operations('c')));
    expect(logs[0]).toHaveLength(30);
    expect(new Set(logs[0]?.map((op) => op.id)).size).toBe(30);
    expect(logs[1]).toEqual(logs[0]);
    expect(logs[2]).toEqual(logs[0]);
    expect(roles([a, b, c]).filter((role) => role === 'leader')).toHaveLength(1);
  });

  it('a follower reads its own writes at once, and sees the others’ as they commit', async () => {
    const profile = origin();
    const a = await profile.tab();
    const b = await profile.tab();
    const { documentId } = await b.createDocument('list', { id: 'l' });
    expect(b.documents.get(documentId)?.state).toEqual({ items: [] });
    await a.mutate('l', [{ type: 'ADD', input: { item: 'from a' } }]);
    await untilDocument(b, 'l', (snapshot) => (snapshot.state as { items: string[] }).items.length === 1);
    await b.mutate('l', [{ type: 'ADD', input: { item: 'from b' } }]);
    expect(b.documents.get('l')?.state).toEqual({ items: ['from a', 'from b'] });
    expect(a.documents.get('l')).toEqual(b.documents.get('l'));
    await expect(b.mutate('l', [{ type: 'NOPE' }])).rejects.toMatchObject({ kind: 'validation' });
  });

  it('when the leader stops mid-burst, a follower takes over and every acknowledged write is there once', async () => {
    const profile = origin();
    const a = await profile.tab();
    const b = await profile.tab();
    const c = await profile.tab();
    await a.createDocument('counter', { id: 'c' });
    const writes = [b, c].flatMap((reactor) =>
      Array.from({ length: 20 }, () => reactor.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }])),
    );
    await a.stop();
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    expect(roles([b, c]).sort()).toEqual(['follower', 'leader']);
    for (const reactor of [b, c])
      await untilDocument(reactor, 'c', (snapshot) => (snapshot.state as { count: number }).count === 40);
    const log = await b.operations('c');
    expect(log).toHaveLength(40);
    expect(new Set(log.map((op) => op.id)).size).toBe(40);
  });

  it('a write whose leader crashed after committing it, before answering, is applied once', async () => {
    const profile = origin();
    const a = await profile.tab();
    const b = await profile.tab();
    await a.createDocument('counter', { id: 'c' });
    // The leader dies the moment the follower's op is stored: its answer never leaves.
    const crashed = firstValueFrom(
      a.events$.pipe(filter((event) => event.type === 'operations.written' && event.operations.length > 0)),
    ).then(() => a.stop({ abort: true }));
    const write = b.mutate('c', [{ type: 'INCREMENT', input: { by: 5 } }]);
    await crashed;
    const { operations } = await write;
    expect(operations).toHaveLength(1);
    expect(b.status().role).toBe('leader');
    expect(await b.operations('c')).toEqual([expect.objectContaining({ id: operations[0]?.id })]);
    expect(countOf(b)).toBe(5);
  });

  it('a leader fenced off by a newer one (a frozen tab that wakes up) cannot commit: it steps down, and its write goes on to the next leader, once', async () => {
    const profile = origin();
    const a = await profile.tab();
    await a.createDocument('counter', { id: 'c' });
    const steppedDown = firstValueFrom(
      a.events$.pipe(
        filter((event) => event.type === 'actor.failed' && event.actor === 'tab'),
        timeout(5000),
      ),
    );
    // Another leader claims the database while a has not noticed (its tab was frozen).
    const usurper = await openCore(resolveOptions({ models: [counter, list], storage: profile.storage }), {
      fenced: true,
    });
    const write = a.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    // a's commit is refused; it says why, and follows.
    expect(await steppedDown).toMatchObject({
      error: { kind: 'conflict', message: expect.stringMatching(/no longer leads: .*newer leader/) },
    });
    expect(await usurper.reactor.operations('c')).toEqual([]);
    await usurper.reactor.stop();
    // Nobody else leads: a takes the lead again under a newer epoch, and the write is applied there, once.
    const { operations } = await write;
    expect(a.status().role).toBe('leader');
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 3 } }]);
    expect(countOf(a)).toBe(5);
    const log = await a.operations('c');
    expect(log.map((op) => op.id)).toContain(operations[0]?.id);
    expect(log).toHaveLength(2);
  });

  it('a leader whose lock is stolen steps down, and leads again once the lock is free', async () => {
    const profile = origin();
    const a = await profile.tab();
    const b = await profile.tab();
    await a.createDocument('counter', { id: 'c' });
    let letGo: () => void = () => {};
    const steppedDown = firstValueFrom(
      a.events$.pipe(
        filter((event) => event.type === 'actor.failed'),
        timeout(5000),
      ),
    );
    const held = new Promise<void>((granted) => {
      void profile.locks.request(leaderLockName(profile.dbName), { steal: true }, () => {
        granted();
        return new Promise<void>((release) => {
          letGo = release;
        });
      });
    });
    await held;
    await steppedDown;
    expect(a.status().role).toBe('follower');
    // Nobody leads while the thief holds the lock: writes wait, then go to whoever leads next.
    const write = b.mutate('c', [{ type: 'INCREMENT', input: { by: 4 } }]);
    letGo();
    await write;
    expect(roles([a, b]).sort()).toEqual(['follower', 'leader']);
    for (const reactor of [a, b])
      await untilDocument(reactor, 'c', (snapshot) => (snapshot.state as { count: number }).count === 4);
  });

  it('a tab opened later shows the same state, and reopening every tab keeps working', async () => {
    const profile = origin();
    const a = await profile.tab();
    const b = await profile.tab();
    await a.createDocument('counter', { id: 'c' });
    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 3 } }]);
    const later = await profile.tab();
    expect(later.documents.get('c')).toEqual(a.documents.get('c'));
    // "Reload" every tab, in another order; the database keeps working (it used to be bricked).
    await Promise.all([a.stop(), b.stop(), later.stop()]);
    const again = [await profile.tab(), await profile.tab()];
    await again[1]?.mutate('c', [{ type: 'INCREMENT', input: { by: 4 } }]);
    await again[0]?.mutate('c', [{ type: 'INCREMENT', input: { by: 5 } }]);
    expect(countOf(again[0] as Reactor)).toBe(12);
    // The other tab sees that write as it commits (a tab's own writes are the ones it reads at once).
    await untilDocument(again[1] as Reactor, 'c', (snapshot) => (snapshot.state as { count: number }).count === 12);
    expect(roles(again as Reactor[]).filter((role) => role === 'leader')).toHaveLength(1);
  });

  it('the leader runs the remotes; a follower shows their status and settles through it; failover restarts them', async () => {
    const profile = origin();
    const server = await createReactor({
      models: [counter, list],
      storage: { dbName: 'server', indexedDB: new IDBFactory(), IDBKeyRange },
    });
    open.push(server);
    const a = await profile.tab();
    const b = await profile.tab();
    // Every tab's app adds the remote with a channel of its own; only the leader's is used.
    await a.sync.add({ name: 'server', channel: connect(a, server), mode: 'ping-pong' });
    await b.sync.add({ name: 'server', channel: connect(b, server), mode: 'ping-pong' });
    await b.createDocument('counter', { id: 'c' });
    await b.sync.settled();
    expect(countOf(server)).toBe(0);
    await firstValueFrom(
      b.sync.status$.pipe(
        filter((all) => all.some((s) => s.name === 'server')),
        timeout(5000),
      ),
    );
    expect(b.sync.status('server')).toMatchObject({ name: 'server' });
    await a.stop();
    await untilRole(b, 'leader');
    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 7 } }]);
    await b.sync.settled();
    expect(countOf(server)).toBe(7);
  });
});

describe('tabs and a switchboard', () => {
  const boards: Switchboard[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((reactor) => reactor.stop()));
    await Promise.all(boards.splice(0).map((board) => board.close()));
  });

  const channelTo = (board: Switchboard) => createWebSocketChannel(board.url, { reconnect: { baseMs: 5, maxMs: 40 } });
  /** The INCREMENTs of document `c` the switchboard stored (it keeps ops, it runs no reducers). */
  const serverOps = async (board: Switchboard) => (await board.reactor.operations('c')).length;

  it('only the leader tab connects; a follower that takes over connects with its own channel', async () => {
    const board = await createSwitchboard({ port: 0, storage: freshStorage('board') });
    boards.push(board);
    const profile = origin();
    const a = await profile.tab();
    const b = await profile.tab();
    const fromA = channelTo(board);
    const fromB = channelTo(board);
    await a.sync.add({ name: 'server', channel: fromA, mode: 'ping-pong' });
    await b.sync.add({ name: 'server', channel: fromB, mode: 'ping-pong' });
    await b.createDocument('counter', { id: 'c' });
    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    await b.sync.settled();
    expect(await serverOps(board)).toBe(1);
    // One socket for the whole profile: the follower's channel never connected.
    expect(board.clients()).toBe(1);
    expect(fromA.connection.state).toBe('online');
    expect(fromB.connection.state).not.toBe('online');

    await a.stop();
    await untilRole(b, 'leader');
    await b.mutate('c', [{ type: 'INCREMENT', input: { by: 3 } }]);
    await b.sync.settled();
    expect(await serverOps(board)).toBe(2);
    expect(fromB.connection.state).toBe('online');
    expect(fromA.connection.state).toBe('closed');
  });

  it('a leader that steps down keeps its remote, and syncs through it again once it leads again', async () => {
    const board = await createSwitchboard({ port: 0, storage: freshStorage('board') });
    boards.push(board);
    const profile = origin();
    const a = await profile.tab();
    const channel = channelTo(board);
    await a.sync.add({ name: 'server', channel, mode: 'ping-pong' });
    await a.createDocument('counter', { id: 'c' });
    await a.sync.settled();
    let letGo: () => void = () => {};
    const steppedDown = firstValueFrom(
      a.events$.pipe(
        filter((event) => event.type === 'actor.failed'),
        timeout(5000),
      ),
    );
    await new Promise<void>((granted) => {
      void profile.locks.request(leaderLockName(profile.dbName), { steal: true }, () => {
        granted();
        return new Promise<void>((release) => {
          letGo = release;
        });
      });
    });
    await steppedDown;
    expect(channel.connection.state).not.toBe('closed');
    letGo();
    await untilRole(a, 'leader');
    await a.mutate('c', [{ type: 'INCREMENT', input: { by: 6 } }]);
    await a.sync.settled();
    expect(await serverOps(board)).toBe(1);
    expect(a.sync.status('server')).toMatchObject({ phase: 'idle' });
  });
});

describe('without Web Locks (Node)', () => {
  it('a second reactor on a database already open in this process is refused, naming it; the first keeps working', async () => {
    const storage = { dbName: 'shared', indexedDB: new IDBFactory(), IDBKeyRange };
    const first = await createReactor({ models: [counter], storage });
    open.push(first);
    await expect(createReactor({ models: [counter], storage })).rejects.toMatchObject({
      kind: 'conflict',
      message: expect.stringMatching(/database "shared" is open in another reactor of this process/),
    });
    await first.createDocument('counter', { id: 'c' });
    await first.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    expect(countOf(first)).toBe(1);
    await first.stop();
    // Once it stopped, the database can be opened again.
    const second = await createReactor({ models: [counter], storage });
    open.push(second);
    expect(countOf(second)).toBe(1);
  });
});
