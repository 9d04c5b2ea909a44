import { describe, expect, it } from 'vitest';
import { type Channel, connect, type PullResponse, type Reactor } from '../../src/index.js';
import { openReactor, uniqueDbName, uniqueIds } from './support.js';

/** Fast retries: these tests wait on real timers. */
const retry = { baseMs: 5, maxMs: 50 };

/** `count` increments of 1 in jobs of 10 actions, all submitted before any is awaited. */
async function increments(reactor: Reactor, documentId: string, count: number) {
  const jobs: Promise<unknown>[] = [];
  for (let done = 0; done < count; done += 10) {
    const size = Math.min(10, count - done);
    jobs.push(
      reactor.mutate(
        documentId,
        Array.from({ length: size }, () => ({ type: 'INCREMENT', input: { by: 1 } })),
      ),
    );
  }
  await Promise.all(jobs);
}

/** Calls `onPull` with every page the channel hands over. */
function watchPulls(channel: Channel, onPull: (response: PullResponse) => void): Channel {
  return {
    push: (request) => channel.push(request),
    async pull(request) {
      const response = await channel.pull(request);
      onPull(response);
      return response;
    },
    ...(channel.pokes === undefined ? {} : { pokes: channel.pokes }),
    close: () => channel.close(),
  };
}

/** Both hold the document with the same log (each op once) and the same snapshot and hash. */
async function expectConverged(x: Reactor, y: Reactor, documentId: string, count: number) {
  const ids = uniqueIds(await x.operations(documentId));
  expect(ids).toHaveLength(count);
  expect((await y.operations(documentId)).map((op) => op.id)).toEqual(ids);
  const snapshot = x.documents.get(documentId);
  expect(snapshot).toMatchObject({ state: { count }, revision: count });
  expect(y.documents.get(documentId)).toEqual(snapshot);
  expect(y.documents.get(documentId)?.hash).toBe(snapshot?.hash);
}

/** Every op a reactor serves, checked to be stored once. */
async function allServed(reactor: Reactor) {
  const page = await reactor.endpoint.pull({ cursor: 0, limit: 5_000 });
  expect(page.hasMore).toBe(false);
  return uniqueIds(page.operations);
}

describe('ping-pong between two reactors on the browser’s IndexedDB', () => {
  it('converges on every document, and a crash mid-sync leaves every op stored exactly once', async () => {
    const dbA = uniqueDbName('sync-a');
    const a = await openReactor(dbA, { id: 'a', retry });
    const b = await openReactor(uniqueDbName('sync-b'), { id: 'b', retry });

    let pulled = 0;
    let threshold = Number.POSITIVE_INFINITY;
    let midway: () => void = () => {};
    const reachedMidway = new Promise<void>((resolve) => {
      midway = resolve;
    });
    const channel = watchPulls(connect(a, b), (response) => {
      pulled += response.operations.length;
      if (pulled >= threshold) midway();
    });
    await a.sync.add({ name: 'b', channel, mode: 'ping-pong', pullIntervalMs: 20, batchSize: 25 });

    // Both sides write to a shared document, and a to one of its own.
    await a.createDocument('counter', { id: 'shared' });
    await a.sync.settled();
    expect(b.documents.get('shared')).toMatchObject({ state: { count: 0 } });
    await Promise.all([
      a.createDocument('counter', { id: 'from-a' }).then(() => increments(a, 'from-a', 40)),
      increments(a, 'shared', 30),
      increments(b, 'shared', 30),
    ]);

    // b writes 200 ops; a pulls them 25 a page and crashes once 50 are in, then reopens on its database.
    pulled = 0;
    threshold = 50;
    const bWrites = b.createDocument('counter', { id: 'from-b' }).then(() => increments(b, 'from-b', 199));
    await reachedMidway;
    await a.stop({ abort: true });
    expect(pulled).toBeLessThan(200);
    await bWrites;
    const a2 = await openReactor(dbA, { id: 'a', retry });
    expect(a2.sync.list()).toEqual([expect.objectContaining({ name: 'b', mode: 'ping-pong', phase: 'detached' })]);
    await a2.sync.add({ name: 'b', channel: connect(a2, b) });

    // Both keep writing after the restart.
    await Promise.all([increments(a2, 'shared', 20), increments(b, 'from-b', 100)]);
    await a2.sync.settled();
    // A poke from b's last writes may have started another round after the first settled().
    await a2.sync.settled();

    await expectConverged(a2, b, 'shared', 80);
    await expectConverged(a2, b, 'from-a', 40);
    await expectConverged(a2, b, 'from-b', 299);
    // 3 CREATE_DOCUMENT ops and 80 + 40 + 299 increments, each stored once on each side.
    const onA = await allServed(a2);
    const onB = await allServed(b);
    expect(onA).toHaveLength(3 + 80 + 40 + 299);
    expect(new Set(onB)).toEqual(new Set(onA));
    expect(a2.sync.status('b')).toMatchObject({ pending: 0 });
    expect(await a2.sync.deadLetters()).toEqual([]);
  });
});

describe('push and pull between two reactors on the browser’s IndexedDB', () => {
  it('push carries a’s writes to b and never brings b’s back', async () => {
    const a = await openReactor(uniqueDbName('push-a'), { id: 'a', retry });
    const b = await openReactor(uniqueDbName('push-b'), { id: 'b', retry });
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'push', batchSize: 20 });
    await a.createDocument('counter', { id: 'c' });
    await increments(a, 'c', 50);
    await b.createDocument('counter', { id: 'only-b' });
    await a.sync.settled();
    await expectConverged(a, b, 'c', 50);
    expect(a.documents.get('only-b')).toBeUndefined();
    expect(a.sync.status('b')).toMatchObject({ phase: 'idle', push: 'idle', pull: 'disabled', pending: 0 });
  });

  it('pull fetches b’s writes into a, in pages, and never sends a’s', async () => {
    const a = await openReactor(uniqueDbName('pull-a'), { id: 'a', retry });
    const b = await openReactor(uniqueDbName('pull-b'), { id: 'b', retry });
    await b.createDocument('counter', { id: 'c' });
    await increments(b, 'c', 60);
    await a.createDocument('counter', { id: 'only-a' });
    const pages: number[] = [];
    const channel = watchPulls(connect(a, b), (response) => pages.push(response.operations.length));
    await a.sync.add({ name: 'b', channel, mode: 'pull', batchSize: 25 });
    await a.sync.settled();
    await expectConverged(b, a, 'c', 60);
    expect(pages.filter((n) => n > 0)).toEqual([25, 25, 11]);
    expect(b.documents.get('only-a')).toBeUndefined();
    expect(a.sync.status('b')).toMatchObject({ push: 'disabled', pulledCursor: b.status().ordinal });
  });
});
