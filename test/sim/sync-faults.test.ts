import { describe, expect, it } from 'vitest';
import {
  connect,
  createSimNetwork,
  fold,
  type Operation,
  type Reactor,
  type SimNetwork,
  type StorageOptions,
} from '../../src/index.js';
import { seededRandom } from '../../src/model/random.js';
import { counter, freshStorage, list, openReactor } from '../support.js';

/**
 * Fault injection through the public API. The seed drives the network's faults and the write
 * pattern; it is in the suite's name, and `SIM_SEED=<n>` reruns with another. (Timing still comes
 * from real timers at the network's small latencies, so a seed replays the faults, not every
 * interleaving.)
 */
const SEED = Number(process.env.SIM_SEED ?? 20240611);
const FAULTS = { latency: 2, jitter: 3, drop: 0.1, duplicate: 0.1, reorder: 0.2 } as const;
const FAST = { retry: { baseMs: 5, maxMs: 50 } } as const;
const PULL_INTERVAL_MS = 30;

const DOCUMENTS = [
  { id: 'list-0', model: list },
  { id: 'list-1', model: list },
  { id: 'counter-0', model: counter },
  { id: 'counter-1', model: counter },
] as const;

/** Opens a reactor with fast retries on its own fake IndexedDB. */
function open(id: string, storage: StorageOptions = freshStorage(`reactor-${id}`)) {
  return openReactor({ id, storage, ...FAST });
}

/** Attaches `spoke` to `hub` in ping-pong over the simulated network. */
function attach(spoke: Reactor, hub: Reactor, network: SimNetwork) {
  return spoke.sync.add({
    name: hub.id,
    channel: connect(spoke, hub, { network }),
    mode: 'ping-pong',
    pullIntervalMs: PULL_INTERVAL_MS,
    // Small batches mean many messages, so the injected faults are certain to hit some of them.
    batchSize: 25,
  });
}

/** What a reactor shows of every document and remote: equal fingerprints mean nothing moved. */
function fingerprint(reactors: readonly Reactor[]): string {
  return JSON.stringify(
    reactors.map((r) => [
      r.id,
      r.documents.list({ includeDeleted: true }).map((d) => [d.id, d.revision, d.hash]),
      r.sync.list().map((s) => [s.name, s.pushedCursor, s.pulledCursor]),
    ]),
  );
}

/**
 * Settles every reactor, round after round, until two consecutive rounds see no change (a
 * spoke that settled early may have more to pull once another spoke's push reached the hub).
 */
async function settleAll(reactors: readonly Reactor[]): Promise<number> {
  let previous = '';
  for (let round = 1; round <= 30; round++) {
    await Promise.all(reactors.map((r) => r.sync.settled({ timeoutMs: 20_000 })));
    await Promise.all(reactors.map((r) => r.whenIdle()));
    const current = fingerprint(reactors);
    if (current === previous) return round;
    previous = current;
  }
  throw new Error(`seed ${SEED}: sync did not settle in 30 rounds`);
}

/** Fires `count` writes from random reactors into random documents, in concurrent waves. */
async function writeWaves(
  reactors: () => readonly Reactor[],
  random: () => number,
  count: number,
  tag: string,
  waveSize = 25,
) {
  const outcomes: PromiseSettledResult<{ operations: Operation[] }>[] = [];
  for (let start = 0; start < count; start += waveSize) {
    const wave = Array.from({ length: Math.min(waveSize, count - start) }, (_, i) => {
      const current = reactors();
      const reactor = current[Math.floor(random() * current.length)] as Reactor;
      const document = DOCUMENTS[Math.floor(random() * DOCUMENTS.length)] as (typeof DOCUMENTS)[number];
      const n = start + i;
      return document.model === list
        ? reactor.mutate(document.id, [{ type: 'ADD', input: { item: `${tag}${n}@${reactor.id}` } }])
        : reactor.mutate(document.id, [{ type: 'INCREMENT', input: { by: 1 } }]);
    });
    outcomes.push(...(await Promise.allSettled(wave)));
  }
  return outcomes;
}

/** Resolves once `reactor` has stored at least `count` ops (its own or received). */
function writtenAt(reactor: Reactor, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const subscription = reactor.events$.subscribe((event) => {
      if (event.type !== 'operations.written') return;
      seen += event.operations.length;
      if (seen >= count) {
        subscription.unsubscribe();
        resolve();
      }
    });
  });
}

const isStopped = (outcome: PromiseSettledResult<unknown>) =>
  outcome.status === 'rejected' && (outcome.reason as { kind?: string }).kind === 'stopped';

const idsOf = (outcomes: readonly PromiseSettledResult<{ operations: Operation[] }>[]) =>
  outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value.operations.map((op) => op.id) : []));

/**
 * The invariants: every document has the same state and hash everywhere, every reactor holds the
 * same op ids with no duplicates, the revision is the op count, the state is the fold of the log,
 * and every op whose write resolved is there.
 */
async function expectConverged(reactors: readonly Reactor[], committed: readonly string[]) {
  const everywhere = new Set<string>();
  for (const { id, model } of DOCUMENTS) {
    const reference = reactors[0]?.documents.get(id);
    expect(reference, `${id} on ${reactors[0]?.id}`).toBeDefined();
    let referenceIds: string[] | undefined;
    for (const r of reactors) {
      const snapshot = r.documents.get(id);
      const log = await r.operations(id);
      const creates = await r.operations(id, { scope: 'document' });
      const ids = log.map((op) => op.id);
      expect(new Set(ids).size, `duplicate ops of ${id} on ${r.id}`).toBe(ids.length);
      expect(snapshot?.revision, `revision of ${id} on ${r.id}`).toBe(log.length);
      expect(snapshot?.state, `state of ${id} on ${r.id}`).toEqual(fold(model, log));
      expect(snapshot?.hash, `hash of ${id} on ${r.id}`).toBe(reference?.hash);
      expect(snapshot?.state, `state of ${id} on ${r.id}`).toEqual(reference?.state);
      const sorted = [...ids, ...creates.map((op) => op.id)].sort();
      if (referenceIds === undefined) referenceIds = sorted;
      else expect(sorted, `op ids of ${id} on ${r.id}`).toEqual(referenceIds);
      if (model === counter) expect(snapshot?.state).toEqual({ count: log.length });
      if (model === list) {
        // Every write has its own item: one that shows twice was applied twice (as two ops).
        const items = (snapshot?.state as { items: string[] } | undefined)?.items ?? [];
        expect(
          items.filter((item, n) => items.indexOf(item) !== n),
          `items of ${id} twice on ${r.id}`,
        ).toEqual([]);
      }
    }
    for (const opId of referenceIds ?? []) everywhere.add(opId);
  }
  const missing = committed.filter((id) => !everywhere.has(id));
  expect(missing, 'ops whose write resolved but are missing').toEqual([]);
}

describe(`sync under network faults (seed ${SEED})`, () => {
  it('a hub and three spokes in ping-pong converge on every document, each op exactly once', async () => {
    const network = createSimNetwork({ seed: SEED, ...FAULTS });
    const random = seededRandom(SEED);
    const hub = await open('hub');
    const spokes = [await open('a'), await open('b'), await open('c')];
    const all = [hub, ...spokes];
    try {
      for (const spoke of spokes) await attach(spoke, hub, network);
      for (const { id, model } of DOCUMENTS) await hub.createDocument(model.type, { id });
      await settleAll(all);
      for (const r of all)
        for (const { id } of DOCUMENTS) expect(r.documents.get(id), `${id} on ${r.id}`).toBeDefined();

      const outcomes = await writeWaves(() => all, random, 320, 'w');
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      await settleAll(all);

      await expectConverged(all, idsOf(outcomes));
      const total = (await Promise.all(DOCUMENTS.map(({ id }) => hub.operations(id)))).flat().length;
      expect(total).toBe(320);
      for (const r of all) await expect(r.whenIdle()).resolves.toBeUndefined();
      for (const spoke of spokes) {
        expect(spoke.sync.status('hub')).toMatchObject({ pending: 0 });
      }
      // The faults really happened, so the run above could have failed.
      expect(network.stats.dropped).toBeGreaterThan(0);
      expect(network.stats.duplicated).toBeGreaterThan(0);
      expect(network.stats.reordered).toBeGreaterThan(0);
    } finally {
      await Promise.all(all.map((r) => r.stop({ abort: true })));
    }
  }, 60_000);

  it('a spoke aborted mid-sync and reopened on the same storage still converges, applying nothing twice', async () => {
    const network = createSimNetwork({ seed: SEED + 1, ...FAULTS });
    const random = seededRandom(SEED + 1);
    const hub = await open('hub');
    const storage = freshStorage('reactor-a');
    let a = await open('a', storage);
    const b = await open('b');
    const current = () => [hub, a, b];
    try {
      await attach(a, hub, network);
      await attach(b, hub, network);
      for (const { id, model } of DOCUMENTS) await hub.createDocument(model.type, { id });
      await settleAll(current());

      // `a` crashes while writes pour into every reactor and sync is moving them.
      const before = writeWaves(current, random, 180, 'x', 10);
      await writtenAt(a, 40);
      await a.stop({ abort: true });
      a = await open('a', storage);
      // The remote's settings were persisted: re-adding it needs only a new channel.
      await a.sync.add({ name: 'hub', channel: connect(a, hub, { network }) });
      expect(a.sync.status('hub')).toMatchObject({ mode: 'ping-pong' });
      const after = await writeWaves(current, random, 120, 'z');
      const all = [...(await before), ...after];
      await settleAll(current());
      // The only failed writes are those that reached `a` while it was down (refused with `stopped`).
      expect(all.filter((o) => o.status === 'rejected').every((o) => isStopped(o))).toBe(true);

      // Writes to `a` that were only in memory when it crashed may be lost; every other one is there.
      await expectConverged(current(), idsOf(all));
      const total = (await Promise.all(DOCUMENTS.map(({ id }) => a.operations(id)))).flat().length;
      expect(total).toBeGreaterThanOrEqual(idsOf(all).length);
      expect(total).toBeLessThanOrEqual(300);
      for (const r of current()) await expect(r.whenIdle()).resolves.toBeUndefined();
      expect(network.stats.dropped).toBeGreaterThan(0);
      expect(network.stats.duplicated).toBeGreaterThan(0);
    } finally {
      await Promise.all(current().map((r) => r.stop({ abort: true })));
    }
  }, 60_000);
});
