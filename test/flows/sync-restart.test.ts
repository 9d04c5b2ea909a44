import { describe, expect, it } from 'vitest';
import { connect, type Reactor, type StopOptions } from '../../src/index.js';
import { freshStorage, idleStatus, reactorsPerTest, spyChannel } from '../support.js';

const openOne = reactorsPerTest({ retry: { baseMs: 5, maxMs: 50 } });
const reactor = (id: string, storage = freshStorage()) => openOne({ id, storage });

/** Records what a channel carries, and calls `onPull` / `onPush` with each answer before handing it over. */

/** A promise and its resolver. */
function signal() {
  let fire: () => void = () => {};
  const fired = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { fired, fire };
}

/** `count` INCREMENTs of 1, in jobs of 50 actions. */
async function increments(r: Reactor, documentId: string, count: number) {
  const jobs: Promise<unknown>[] = [];
  for (let done = 0; done < count; done += 50) {
    const size = Math.min(50, count - done);
    jobs.push(
      r.mutate(
        documentId,
        Array.from({ length: size }, () => ({ type: 'INCREMENT', input: { by: 1 } })),
      ),
    );
  }
  await Promise.all(jobs);
}

/** Both sides hold the same snapshot and log of a document, every op once. */
async function expectConverged(x: Reactor, y: Reactor, documentId: string, length: number) {
  const ids = (await x.operations(documentId)).map((op) => op.id);
  expect(ids).toHaveLength(length);
  expect(new Set(ids).size).toBe(length);
  expect((await y.operations(documentId)).map((op) => op.id)).toEqual(ids);
  expect(x.documents.get(documentId)).toEqual(y.documents.get(documentId));
  expect(x.documents.get(documentId)).toMatchObject({ state: { count: length }, revision: length });
}

const stops: [string, StopOptions][] = [
  ['stop({ drain: false })', { drain: false }],
  ['stop({ abort: true })', { abort: true }],
];

describe('restart mid-sync', () => {
  it.each(stops)('a puller stopped mid-pull by %s resumes from its persisted cursors', async (_, how) => {
    const storage = freshStorage();
    const a = await reactor('a', storage);
    const b = await reactor('b');
    await a.createDocument('counter', { id: 'mine' });
    await increments(a, 'mine', 10);

    const midway = signal();
    let received = 0;
    const before = spyChannel(connect(a, b), {
      onPull: (response) => {
        received += response.operations.length;
        if (received >= 100) midway.fire();
      },
    });
    await a.sync.add({ name: 'b', channel: before.channel, mode: 'ping-pong', pullIntervalMs: 20, batchSize: 50 });
    await a.sync.settled();
    expect(b.documents.get('mine')?.state).toEqual({ count: 10 });
    const pushedCursor = a.sync.status('b')?.pushedCursor as number;
    expect(pushedCursor).toBe(11);

    // b writes 400 ops; a pulls them (woken by pokes), at most 50 a page, and is stopped once 100 are in.
    await b.createDocument('counter', { id: 'c' });
    await increments(b, 'c', 399);
    await midway.fired;
    await a.stop(how);
    expect(before.pulled().length).toBeLessThan(400);

    const a2 = await reactor('a', storage);
    expect(a2.sync.list()).toEqual([expect.objectContaining({ name: 'b', mode: 'ping-pong', phase: 'detached' })]);
    const after = spyChannel(connect(a2, b));
    await a2.sync.add({ name: 'b', channel: after.channel });
    const resumed = a2.sync.status('b');
    expect(resumed?.mode).toBe('ping-pong');
    // The push cursor also moves past pulled ops (they are never sent back).
    expect(resumed?.pushedCursor).toBeGreaterThanOrEqual(pushedCursor);
    // A page commits with its cursor before the next is asked for: all but the last page are in.
    const persisted = resumed?.pulledCursor as number;
    expect(persisted).toBeGreaterThanOrEqual(11 + 50);
    expect(persisted).toBeLessThanOrEqual(11 + before.pulled().length);

    await increments(a2, 'mine', 5);
    await a2.sync.settled();
    await a2.sync.settled();
    await expectConverged(a2, b, 'c', 399);
    await expectConverged(a2, b, 'mine', 15);
    // b's ordinals end at 11 + 400 + 5 (a's five new ops are never served back to a): no re-pull from zero.
    expect(after.pulled()).toHaveLength(411 - persisted);
    expect(after.pulled().every((op) => op.origin === 'b')).toBe(true);
    // Only the five ops written after the restart were pushed.
    expect(after.pushed().map((op) => op.documentId)).toEqual(['mine', 'mine', 'mine', 'mine', 'mine']);
    // Both cursors end at the last ordinal of their side: 11 + 400 + 5 here and there.
    expect(await idleStatus(a2, 'b')).toMatchObject({ pending: 0, pushedCursor: 416, pulledCursor: 416 });
  });

  it.each(stops)('a pusher stopped mid-push by %s resumes past what was acknowledged', async (_, how) => {
    const storage = freshStorage();
    const a = await reactor('a', storage);
    const b = await reactor('b');
    await a.createDocument('counter', { id: 'c' });
    await increments(a, 'c', 399);

    const secondBatch = signal();
    let batches = 0;
    const before = spyChannel(connect(a, b), {
      onPush: () => {
        if (++batches === 2) secondBatch.fire();
      },
    });
    await a.sync.add({ name: 'b', channel: before.channel, mode: 'push', batchSize: 50 });
    await secondBatch.fired;
    await a.stop(how);
    expect(before.pushed().length).toBeLessThan(400);
    expect((await b.operations('c')).length).toBeGreaterThanOrEqual(99);

    const a2 = await reactor('a', storage);
    expect(a2.sync.list()).toEqual([expect.objectContaining({ name: 'b', mode: 'push', phase: 'detached' })]);
    const after = spyChannel(connect(a2, b));
    await a2.sync.add({ name: 'b', channel: after.channel });
    const persisted = a2.sync.status('b')?.pushedCursor as number;
    // Batch one's cursor committed before batch two was sent; batch two's may or may not have.
    expect(persisted === 50 || persisted === 100).toBe(true);

    await a2.sync.settled();
    await expectConverged(a2, b, 'c', 399);
    expect(b.documents.get('c')?.state).toEqual({ count: 399 });
    // Nothing before the persisted cursor was sent again.
    expect(after.pushed()).toHaveLength(400 - persisted);
    const total = await b.endpoint.pull({ cursor: 0, limit: 5000 });
    expect(total.operations).toHaveLength(400);
    expect(a2.sync.status('b')).toMatchObject({ phase: 'idle', pending: 0, pushedCursor: 400 });
  });
});
