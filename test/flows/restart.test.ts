import { describe, expect, it } from 'vitest';
import { fold, type Reactor } from '../../src/index.js';
import { counter, freshStorage, openReactor } from '../support.js';

/** Fires `count` single-increment mutations without awaiting; resolves once `stopAfter` have committed. */
function burst(reactor: Reactor, count: number, stopAfter: number) {
  let committed = 0;
  let release: () => void = () => {};
  const reached = new Promise<void>((resolve) => {
    release = resolve;
  });
  const results = Array.from({ length: count }, (_, i) =>
    reactor.mutate('c', [{ type: 'INCREMENT', input: { by: 1, n: i } }]).then((result) => {
      committed += 1;
      if (committed === stopAfter) release();
      return result;
    }),
  );
  return { reached, settled: Promise.allSettled(results) };
}

async function expectLogIsConsistent(reactor: Reactor) {
  const log = await reactor.operations('c');
  const ids = new Set(log.map((op) => op.id));
  expect(ids.size).toBe(log.length);
  expect(reactor.documents.get('c')?.state).toEqual(fold(counter, log));
  expect(reactor.documents.get('c')?.revision).toBe(log.length);
  return log;
}

describe('restart', () => {
  it('a stop mid-burst keeps every accepted job: they all run after reopening, each op exactly once', async () => {
    const storage = freshStorage();
    const first = await openReactor({ storage, maxBatch: 8, concurrency: 1 });
    await first.createDocument('counter', { id: 'c' });
    const { reached, settled } = burst(first, 400, 50);
    await reached;
    await first.stop({ drain: false });
    const outcomes = await settled;
    const resolved = outcomes.filter((o) => o.status === 'fulfilled');
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(resolved.length).toBeGreaterThanOrEqual(50);
    expect(rejected.length).toBeGreaterThan(0);
    for (const o of rejected) expect((o as PromiseRejectedResult).reason).toMatchObject({ kind: 'stopped' });

    const second = await openReactor({ storage });
    await second.whenIdle();
    const log = await expectLogIsConsistent(second);
    expect(log).toHaveLength(400);
    expect(second.documents.get('c')?.state).toEqual({ count: 400 });
    const committedIds = resolved.flatMap((o) =>
      o.status === 'fulfilled' ? o.value.operations.map((op) => op.id) : [],
    );
    const stored = new Set(log.map((op) => op.id));
    for (const id of committedIds) expect(stored.has(id)).toBe(true);
    // Every job ran once, in submission order.
    expect(log.map((op) => (op.input as { n: number }).n)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    await second.stop();
  });

  it('an abort (crash) mid-burst loses nothing that committed and applies nothing twice', async () => {
    const storage = freshStorage();
    const first = await openReactor({ storage, maxBatch: 4, concurrency: 1 });
    await first.createDocument('counter', { id: 'c' });
    const { reached, settled } = burst(first, 300, 40);
    await reached;
    await first.stop({ abort: true });
    const outcomes = await settled;
    const committedIds = outcomes.flatMap((o) =>
      o.status === 'fulfilled' ? o.value.operations.map((op) => op.id) : [],
    );

    const second = await openReactor({ storage });
    await second.whenIdle();
    const log = await expectLogIsConsistent(second);
    const stored = new Set(log.map((op) => op.id));
    for (const id of committedIds) expect(stored.has(id)).toBe(true);
    expect(log.length).toBeGreaterThanOrEqual(committedIds.length);
    // Whatever ran, ran in submission order and at most once.
    const ns = log.map((op) => (op.input as { n: number }).n);
    expect(new Set(ns).size).toBe(ns.length);
    expect([...ns].sort((a, b) => a - b)).toEqual(ns);
    await second.stop();
  });

  it('restores the read model, clock and identity: new ops sort after the old ones', async () => {
    const storage = freshStorage();
    const first = await openReactor({ storage, keyframeInterval: 5 });
    await first.createDocument('list', { id: 'l' });
    for (let i = 0; i < 12; i++) await first.mutate('l', [{ type: 'ADD', input: { item: `a${i}` } }]);
    const before = first.documents.get('l');
    await first.stop();

    const second = await openReactor({ storage });
    expect(second.id).toBe(first.id);
    expect(second.documents.get('l')).toEqual(before);
    await second.mutate('l', [{ type: 'ADD', input: { item: 'after' } }]);
    const log = await second.operations('l');
    expect(log.at(-1)?.input).toEqual({ item: 'after' });
    expect(log.map((op) => op.index)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    await second.stop();
  });

  it('reopens a deleted document as deleted', async () => {
    const storage = freshStorage();
    const first = await openReactor({ storage });
    await first.createDocument('counter', { id: 'c' });
    await first.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    await first.deleteDocument('c');
    await first.stop();
    const second = await openReactor({ storage });
    expect(second.documents.get('c')).toMatchObject({ deleted: true, state: { count: 2 } });
    await expect(second.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }])).rejects.toMatchObject({
      kind: 'conflict',
    });
    await second.stop();
  });
});
