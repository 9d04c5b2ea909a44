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
import { type SimClock, TraceRecorder } from '../../src/sim/index.js';
import { counter, freshStorage, list, openReactor } from '../support.js';
import { observe, reactorRandom, simulatedTime } from './simTime.js';

/**
 * Fault injection through the public API, on simulated time: the reactors, their retries and pull
 * intervals and the network's delays all run on one SimClock, so the seed replays the faults, the
 * write pattern and the interleaving. The seed is in the suite's name, and `SIM_SEED=<n>` reruns
 * with another.
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

/** One run's simulated world: its clock, how to wait on it, and what a user could observe. */
interface World {
  readonly seed: number;
  readonly clock: SimClock;
  readonly run: <T>(promise: Promise<T>, what?: string) => Promise<T>;
  readonly log: string[];
  readonly recorder: TraceRecorder | undefined;
  readonly incarnations: Map<string, number>;
}

function world(seed: number, options: { record?: boolean } = {}): World {
  return {
    seed,
    ...simulatedTime(),
    log: [],
    recorder: options.record === true ? new TraceRecorder() : undefined,
    incarnations: new Map(),
  };
}

/** Opens a reactor with fast retries on its own fake IndexedDB, on the world's clock. */
async function open(w: World, id: string, storage: StorageOptions = freshStorage(`reactor-${id}`)) {
  const incarnation = (w.incarnations.get(id) ?? 0) + 1;
  w.incarnations.set(id, incarnation);
  const reactor = await w.run(
    openReactor({
      id,
      storage,
      ...FAST,
      clock: w.clock,
      random: reactorRandom(w.seed, id, incarnation),
      ...(w.recorder === undefined
        ? {}
        : { inspect: w.recorder.inspector(`${id}#${incarnation}`, () => w.clock.now()) }),
    }),
  );
  observe(reactor, w.clock, w.log);
  return reactor;
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
async function settleAll(w: World, reactors: readonly Reactor[]): Promise<number> {
  let previous = '';
  for (let round = 1; round <= 30; round++) {
    // Simulated milliseconds: a time-out means sync is stuck, not that the machine is slow.
    await w.run(Promise.all(reactors.map((r) => r.sync.settled({ timeoutMs: 20_000 }))));
    await w.run(Promise.all(reactors.map((r) => r.whenIdle())));
    const current = fingerprint(reactors);
    if (current === previous) return round;
    previous = current;
  }
  throw new Error(`seed ${w.seed}: sync did not settle in 30 rounds`);
}

/**
 * Fires `count` writes from random reactors into random documents, in concurrent waves. It does
 * not move time itself: run it with `w.run`, or in the background of something that does.
 */
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

/**
 * Three reactors in a hub, four documents; spoke `a` is aborted while writes pour into every
 * reactor and sync is moving them, then reopened on the same storage while the writes go on.
 */
async function crashMidSync(w: World, counts: { before: number; crashAt: number; after: number }) {
  const network = createSimNetwork({ seed: w.seed, ...FAULTS, clock: w.clock });
  const random = seededRandom(w.seed);
  const hub = await open(w, 'hub');
  const storage = freshStorage('reactor-a');
  let a = await open(w, 'a', storage);
  const b = await open(w, 'b');
  const current = () => [hub, a, b];
  try {
    await w.run(attach(a, hub, network));
    await w.run(attach(b, hub, network));
    for (const { id, model } of DOCUMENTS) await w.run(hub.createDocument(model.type, { id }));
    await settleAll(w, current());

    const before = writeWaves(current, random, counts.before, 'x', 10);
    await w.run(writtenAt(a, counts.crashAt), `${counts.crashAt} ops stored on a`);
    await w.run(a.stop({ abort: true }));
    a = await open(w, 'a', storage);
    // The remote's settings were persisted: re-adding it needs only a new channel.
    await w.run(a.sync.add({ name: 'hub', channel: connect(a, hub, { network }) }));
    expect(a.sync.status('hub')).toMatchObject({ mode: 'ping-pong' });
    const after = await w.run(writeWaves(current, random, counts.after, 'z'));
    const outcomes = [...(await w.run(before)), ...after];
    await settleAll(w, current());
    return {
      reactors: current(),
      outcomes,
      network,
      stop: () => w.run(Promise.all(current().map((r) => r.stop({ abort: true })))),
    };
  } catch (error) {
    await w.run(Promise.all(current().map((r) => r.stop({ abort: true }))));
    throw error;
  }
}

describe(`sync under network faults (seed ${SEED})`, () => {
  it('a hub and three spokes in ping-pong converge on every document, each op exactly once', async () => {
    const w = world(SEED);
    const network = createSimNetwork({ seed: SEED, ...FAULTS, clock: w.clock });
    const random = seededRandom(SEED);
    const hub = await open(w, 'hub');
    const spokes = [await open(w, 'a'), await open(w, 'b'), await open(w, 'c')];
    const all = [hub, ...spokes];
    try {
      for (const spoke of spokes) await w.run(attach(spoke, hub, network));
      for (const { id, model } of DOCUMENTS) await w.run(hub.createDocument(model.type, { id }));
      await settleAll(w, all);
      for (const r of all)
        for (const { id } of DOCUMENTS) expect(r.documents.get(id), `${id} on ${r.id}`).toBeDefined();

      const outcomes = await w.run(writeWaves(() => all, random, 320, 'w'));
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      await settleAll(w, all);

      await expectConverged(all, idsOf(outcomes));
      const total = (await Promise.all(DOCUMENTS.map(({ id }) => hub.operations(id)))).flat().length;
      expect(total).toBe(320);
      for (const r of all) await expect(w.run(r.whenIdle())).resolves.toBeUndefined();
      for (const spoke of spokes) {
        expect(spoke.sync.status('hub')).toMatchObject({ pending: 0 });
      }
      // The faults really happened, so the run above could have failed.
      expect(network.stats.dropped).toBeGreaterThan(0);
      expect(network.stats.duplicated).toBeGreaterThan(0);
      expect(network.stats.reordered).toBeGreaterThan(0);
    } finally {
      await w.run(Promise.all(all.map((r) => r.stop({ abort: true }))));
    }
  }, 60_000);

  it('a spoke aborted mid-sync and reopened on the same storage still converges, applying nothing twice', async () => {
    const w = world(SEED + 1);
    const run = await crashMidSync(w, { before: 180, crashAt: 40, after: 120 });
    try {
      const { reactors, outcomes, network } = run;
      // The only failed writes are those that reached `a` while it was down (refused with `stopped`).
      expect(outcomes.filter((o) => o.status === 'rejected').every((o) => isStopped(o))).toBe(true);

      // Writes to `a` that were only in memory when it crashed may be lost; every other one is there.
      await expectConverged(reactors, idsOf(outcomes));
      const a = reactors[1] as Reactor;
      const total = (await Promise.all(DOCUMENTS.map(({ id }) => a.operations(id)))).flat().length;
      expect(total).toBeGreaterThanOrEqual(idsOf(outcomes).length);
      expect(total).toBeLessThanOrEqual(300);
      for (const r of reactors) await expect(w.run(r.whenIdle())).resolves.toBeUndefined();
      expect(network.stats.dropped).toBeGreaterThan(0);
      expect(network.stats.duplicated).toBeGreaterThan(0);
    } finally {
      await run.stop();
    }
  }, 60_000);

  it('one seed twice: the same commits and remote phases at the same simulated times, the same trace', async () => {
    const replay = async (seed: number) => {
      const w = world(seed, { record: true });
      const run = await crashMidSync(w, { before: 60, crashAt: 25, after: 40 });
      const outcomes = run.outcomes.map((o) =>
        o.status === 'fulfilled' ? o.value.operations.map((op) => op.id) : 'x',
      );
      const stats = { ...run.network.stats };
      await run.stop();
      return { log: w.log, outcomes, stats, trace: w.recorder?.digest(), events: w.recorder?.lines, at: w.clock.now() };
    };
    const first = await replay(SEED + 2);
    const second = await replay(SEED + 2);
    expect(first.log.length).toBeGreaterThan(50);
    expect(first.log.some((line) => line.includes('backingOff'))).toBe(true);
    expect(second.log).toEqual(first.log);
    expect(second.outcomes).toEqual(first.outcomes);
    expect(second.stats).toEqual(first.stats);
    expect(second.at).toBe(first.at);
    expect(first.events).toBeGreaterThan(0);
    expect(second.events).toBe(first.events);
    expect(second.trace).toBe(first.trace);
    // The seed is what decides: another one gives another run.
    const other = await replay(SEED + 3);
    expect(other.log).not.toEqual(first.log);
    expect(other.trace).not.toBe(first.trace);
  }, 60_000);
});
