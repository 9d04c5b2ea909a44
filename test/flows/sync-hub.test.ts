import { filter, firstValueFrom, timeout } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type Clock, connect, createSimNetwork, type Reactor, type SimNetwork, systemClock } from '../../src/index.js';
import { idleStatus, reactorsPerTest } from '../support.js';

const openOne = reactorsPerTest({ retry: { baseMs: 5, maxMs: 40 } });
const reactor = (id: string, clock: Clock = systemClock) => openOne({ id, clock });

/** The system clock shifted by `offset` ms, so a test can make later writes sort later for sure. */
function skewableClock() {
  const clock = { offset: 0, ...systemClock, now: () => Date.now() + clock.offset };
  return clock;
}

/** A hub that serves three spokes; each spoke has the hub as a ping-pong remote. */
async function star(options: { network?: SimNetwork; clock?: Clock } = {}) {
  const hub = await reactor('hub', options.clock);
  const spokes = [
    await reactor('s1', options.clock),
    await reactor('s2', options.clock),
    await reactor('s3', options.clock),
  ];
  for (const spoke of spokes) {
    await spoke.sync.add({
      name: 'hub',
      channel: connect(spoke, hub, options.network === undefined ? {} : { network: options.network }),
      mode: 'ping-pong',
      pullIntervalMs: 30,
    });
  }
  return { hub, spokes, all: [hub, ...spokes] };
}

/** A spoke's write reaches the others through the hub on the next round, so settle a few rounds. */
async function settleAll(spokes: readonly Reactor[], rounds = 3) {
  for (let i = 0; i < rounds; i++) await Promise.all(spokes.map((s) => s.sync.settled()));
}

const items = (r: Reactor, documentId = 'l') =>
  (r.documents.get(documentId)?.state as { items: string[] } | undefined)?.items;
const add = (r: Reactor, item: string, documentId = 'l') => r.mutate(documentId, [{ type: 'ADD', input: { item } }]);
const rebases = (r: Reactor): number =>
  (r.system.system.get('documentView')?.getSnapshot().context as { rebases: number } | undefined)?.rebases ?? -1;

/** Every reactor holds the same snapshot and exactly the same ops, each once. */
async function expectConverged(reactors: readonly Reactor[], documentId = 'l') {
  const [first, ...rest] = reactors as [Reactor, ...Reactor[]];
  const snapshot = first.documents.get(documentId);
  expect(snapshot).toBeDefined();
  const log = await first.operations(documentId);
  const ids = log.map((op) => op.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(snapshot?.revision).toBe(ids.length);
  for (const r of rest) {
    expect({ reactor: r.id, snapshot: r.documents.get(documentId) }).toEqual({ reactor: r.id, snapshot });
    expect((await r.operations(documentId)).map((op) => op.id)).toEqual(ids);
    expect((await r.operations(documentId, { scope: 'document' })).map((op) => op.id)).toEqual(
      (await first.operations(documentId, { scope: 'document' })).map((op) => op.id),
    );
  }
  return ids;
}

describe('hub and spokes, ping-pong', () => {
  it('a write on any spoke reaches every spoke and the hub', async () => {
    const { hub, spokes, all } = await star();
    const [s1, s2, s3] = spokes as [Reactor, Reactor, Reactor];
    await s1.createDocument('list', { id: 'l' });
    await add(s1, 'one');
    await settleAll(spokes);
    for (const r of all) expect(items(r)).toEqual(['one']);

    await add(s2, 'two');
    await settleAll(spokes);
    await add(s3, 'three');
    await settleAll(spokes);
    expect(items(hub)).toEqual(['one', 'two', 'three']);
    await expectConverged(all);

    await Promise.all([add(s1, 'x1'), add(s2, 'x2'), add(s3, 'x3'), add(hub, 'h')]);
    await settleAll(spokes);
    expect(items(s1)).toHaveLength(7);
    expect(items(s1)).toEqual(expect.arrayContaining(['x1', 'x2', 'x3', 'h']));
    await expectConverged(all);
    for (const spoke of spokes) expect(await idleStatus(spoke, 'hub')).toMatchObject({ pending: 0 });
  });

  it.each([3, 11])(
    'concurrent writes while a spoke is partitioned converge after heal, each op once, with rebases (seed %i)',
    async (seed) => {
      const network = createSimNetwork({ seed, jitter: 2, duplicate: 0.2 });
      const clock = skewableClock();
      const { hub, spokes, all } = await star({ network, clock });
      const [s1, s2, s3] = spokes as [Reactor, Reactor, Reactor];
      await s1.createDocument('list', { id: 'l' });
      await add(s1, 'base');
      await settleAll(spokes);
      await expectConverged(all);

      network.partition(s3.id, hub.id);
      await add(s3, 'cut-1');
      await add(s3, 'cut-2');
      // Everything written from now on happens "later" than s3's writes, whatever the timer resolution.
      clock.offset += 10_000;
      await add(s1, 'late-1');
      await add(s2, 'late-2');
      await add(s1, 'late-3');
      await settleAll([s1, s2]);
      await expectConverged([hub, s1, s2]);
      expect(items(s3)).toEqual(['base', 'cut-1', 'cut-2']);
      const cut = await firstValueFrom(
        s3.sync.status$.pipe(
          filter((all) => (all[0]?.retries ?? 0) > 0),
          timeout(5_000),
        ),
      );
      expect(cut[0]).toMatchObject({ name: 'hub', lastError: { kind: 'network' } });
      expect(cut[0]?.pending).toBeGreaterThan(0);

      const before = all.map(rebases);
      const rebased = firstValueFrom(
        s1.events$.pipe(
          filter((event) => event.type === 'document.rebased' && event.stream.includes('"l"')),
          timeout(5_000),
        ),
      );
      network.heal();
      await settleAll(spokes);

      const ids = await expectConverged(all);
      expect(ids).toHaveLength(6);
      const state = items(hub) as string[];
      expect(state.slice(0, 3)).toEqual(['base', 'cut-1', 'cut-2']);
      expect([...state.slice(3)].sort()).toEqual(['late-1', 'late-2', 'late-3']);
      // s3's ops arrived after later-sorting ops were applied on the hub, s1 and s2: each rebased.
      await rebased;
      const after = all.map(rebases);
      expect(after[0]).toBeGreaterThan(before[0] as number);
      expect(after[1]).toBeGreaterThan(before[1] as number);
      expect(after[2]).toBeGreaterThan(before[2] as number);
      // s3 received only ops that sort after its own: nothing to rebase.
      expect(after[3]).toBe(before[3]);
      for (const spoke of spokes) expect(await idleStatus(spoke, 'hub')).toMatchObject({ pending: 0 });
    },
  );
});
