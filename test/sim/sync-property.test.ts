import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  connect,
  createSimNetwork,
  fold,
  type Operation,
  type Reactor,
  type SimNetwork,
  type StorageOptions,
  type SyncMode,
} from '../../src/index.js';
import type { SimClock } from '../../src/sim/index.js';
import { counter, freshStorage, list, openReactor } from '../support.js';
import { observe, reactorRandom, simulatedTime } from './simTime.js';

/**
 * A seeded property over random scripts of writes, partitions, heals and restarts on three
 * reactors, on simulated time (reactors and network on one SimClock), so a script with its network
 * seed replays exactly, interleaving included. On failure fast-check prints the seed, the path and
 * the shrunk script; rerun with `PROPERTY_SEED=<seed> PROPERTY_PATH=<path>` to replay it
 * (`PROPERTY_RUNS=<n>` for a longer search).
 */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);
const SEED = Number(process.env.PROPERTY_SEED ?? 424242);
const PATH = process.env.PROPERTY_PATH;
const REACTORS = 3;
const FAST = { retry: { baseMs: 5, maxMs: 50 } } as const;
const DOCUMENTS = [
  { id: 'list-0', model: list, write: (tag: string) => ({ type: 'ADD', input: { item: tag } }) },
  { id: 'counter-0', model: counter, write: (tag: string) => ({ type: 'INCREMENT', input: { by: 1, tag } }) },
] as const;

/** `hub`: r1 and r2 sync with r0. `pairs`: every pair of reactors syncs directly (r0–r1, r0–r2, r1–r2). */
type Topology = 'hub' | 'pairs';
const LINKS: Record<Topology, readonly (readonly [from: number, to: number])[]> = {
  hub: [
    [1, 0],
    [2, 0],
  ],
  pairs: [
    [0, 1],
    [0, 2],
    [1, 2],
  ],
};

/**
 * One step of a script, as a plain record so fast-check prints a failing script as it ran.
 * `write` makes `n` writes to one document (creating it there first if that reactor has not seen
 * it); with `wait: false` the next step starts before they commit.
 */
type Step =
  | {
      readonly kind: 'write';
      readonly reactor: number;
      readonly doc: number;
      readonly n: number;
      readonly wait: boolean;
    }
  | { readonly kind: 'partition'; readonly a: number; readonly b: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'restart'; readonly reactor: number; readonly how: 'abort' | 'drain:false' };

interface Scenario {
  readonly topology: Topology;
  /**
   * `ping-pong`: one remote per link, both ways. `push` / `pull`: a remote on each side of every
   * link in that mode, so data still flows both ways, by push only or by pull only.
   */
  readonly mode: SyncMode;
  /** Ops per push batch and pull page: small ones make every exchange take several round trips. */
  readonly batchSize: number;
  readonly networkSeed: number;
  readonly steps: readonly Step[];
}

const reactorIndex = fc.integer({ min: 0, max: REACTORS - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      reactor: reactorIndex,
      doc: fc.integer({ min: 0, max: DOCUMENTS.length - 1 }),
      n: fc.integer({ min: 1, max: 8 }),
      wait: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ kind: fc.constant('partition' as const), a: reactorIndex, b: reactorIndex })
      .filter((s) => s.a !== s.b),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'heal' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restart' as const),
      reactor: reactorIndex,
      how: fc.constantFrom('abort' as const, 'drain:false' as const),
    }),
  },
);
const scenario: fc.Arbitrary<Scenario> = fc.record({
  topology: fc.constantFrom<Topology>('hub', 'pairs'),
  mode: fc.constantFrom<SyncMode>('ping-pong', 'push', 'pull'),
  batchSize: fc.constantFrom(3, 500),
  networkSeed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  steps: fc.array(step, { minLength: 1, maxLength: 10 }),
});

/** One write: its unique tag (in the op's input), and how the reactor instance it went to ended. */
interface Write {
  readonly tag: string;
  readonly instance: Instance;
  outcome?: PromiseSettledResult<unknown>;
}

/** One opened reactor, until it is stopped. */
interface Instance {
  stoppedBy?: 'abort' | 'drain:false';
}

const tagOf = (op: Operation) => {
  const input = op.input as { item?: string; tag?: string };
  return input.item ?? input.tag;
};

/** Three reactors on their own storages, wired by `topology` in `mode` over one faulty network. */
class World {
  readonly clock: SimClock;
  /** Waits for a promise while simulated time passes (the only place time moves). */
  readonly wait: <T>(promise: Promise<T>) => Promise<T>;
  /** What a user could observe, with simulated times: commits and remote phases. */
  readonly log: string[] = [];
  readonly ids = Array.from({ length: REACTORS }, (_, i) => `r${i}`);
  readonly storages: StorageOptions[] = this.ids.map((id) => freshStorage(`reactor-${id}`));
  reactors: Reactor[] = [];
  readonly instances: Instance[] = [];
  readonly writes: Write[] = [];
  readonly pending: Promise<unknown>[] = [];
  readonly network: SimNetwork;
  private written = 0;
  private readonly seed: number;
  private readonly opened: number[] = Array.from({ length: REACTORS }, () => 0);

  readonly mode: SyncMode;
  readonly batchSize: number;
  /** Every remote, as [the reactor that has it, the reactor it reaches]. */
  readonly remotes: readonly (readonly [from: number, to: number])[];

  constructor({ topology, mode, batchSize, networkSeed }: Omit<Scenario, 'steps'>) {
    const time = simulatedTime();
    this.clock = time.clock;
    this.wait = time.run;
    this.seed = networkSeed;
    this.mode = mode;
    this.batchSize = batchSize;
    const links = LINKS[topology];
    this.remotes = mode === 'ping-pong' ? links : [...links, ...links.map(([a, b]) => [b, a] as const)];
    this.network = createSimNetwork({
      seed: networkSeed,
      latency: 2,
      jitter: 3,
      drop: 0.1,
      duplicate: 0.1,
      reorder: 0.2,
      clock: this.clock,
    });
  }

  async open() {
    for (let i = 0; i < REACTORS; i++) {
      this.reactors[i] = await this.openReactor(i);
      this.instances[i] = {};
    }
    for (const [from, to] of this.remotes) await this.link(from, to);
  }

  /** Opens reactor `i` on its storage, on the world's clock, with its own seeded randomness. */
  private async openReactor(i: number): Promise<Reactor> {
    const id = this.ids[i] as string;
    this.opened[i] = (this.opened[i] as number) + 1;
    const reactor = await this.wait(
      openReactor({
        id,
        storage: this.storages[i] as StorageOptions,
        ...FAST,
        clock: this.clock,
        random: reactorRandom(this.seed, id, this.opened[i] as number),
      }),
    );
    observe(reactor, this.clock, this.log);
    return reactor;
  }

  private reactor(i: number): Reactor {
    return this.reactors[i] as Reactor;
  }

  /** (Re)attaches `from`'s remote for `to` with a new channel to `to`'s current endpoint. */
  link(from: number, to: number) {
    const a = this.reactor(from);
    const b = this.reactor(to);
    const channel = connect(a, b, { network: this.network });
    return this.wait(
      a.sync.add({ name: b.id, channel, mode: this.mode, pullIntervalMs: 30, batchSize: this.batchSize }),
    );
  }

  async run(s: Step) {
    switch (s.kind) {
      case 'write': {
        const r = this.reactor(s.reactor);
        const doc = DOCUMENTS[s.doc] as (typeof DOCUMENTS)[number];
        const instance = this.instances[s.reactor] as Instance;
        const made: Promise<unknown>[] = [];
        if (r.documents.get(doc.id) === undefined) {
          // A concurrent CREATE elsewhere is fine (the first in canonical order wins); one already here is a conflict.
          made.push(r.createDocument(doc.model.type, { id: doc.id }).catch(ignoreLostCreate));
        }
        for (let i = 0; i < s.n; i++) {
          this.written += 1;
          const write: Write = { tag: `${r.id}#${this.written}`, instance };
          this.writes.push(write);
          made.push(
            r.mutate(doc.id, [doc.write(write.tag)]).then(
              (value) => {
                write.outcome = { status: 'fulfilled', value };
              },
              (reason: unknown) => {
                write.outcome = { status: 'rejected', reason };
              },
            ),
          );
        }
        const settled = Promise.all(made);
        this.pending.push(settled);
        if (s.wait) await this.wait(settled);
        return;
      }
      case 'partition':
        this.network.partition(this.reactor(s.a).id, this.reactor(s.b).id);
        return;
      case 'heal':
        this.network.heal();
        return;
      case 'restart': {
        await this.wait(this.reactor(s.reactor).stop(s.how === 'abort' ? { abort: true } : { drain: false }));
        (this.instances[s.reactor] as Instance).stoppedBy = s.how;
        this.instances[s.reactor] = {};
        this.reactors[s.reactor] = await this.openReactor(s.reactor);
        for (const [from, to] of this.remotes) {
          if (from === s.reactor || to === s.reactor) await this.link(from, to);
        }
        return;
      }
    }
  }

  /** Settles every reactor until two consecutive rounds see no change. */
  async settle() {
    let previous = '';
    for (let round = 1; round <= 30; round++) {
      // Simulated milliseconds: a time-out means sync is stuck, not that the machine is slow.
      await this.wait(Promise.all(this.reactors.map((r) => r.sync.settled({ timeoutMs: 20_000 }))));
      await this.wait(Promise.all(this.reactors.map((r) => r.whenIdle())));
      const current = JSON.stringify(
        this.reactors.map((r) => [
          r.documents.list({ includeDeleted: true }).map((d) => [d.id, d.revision, d.hash]),
          r.sync.list().map((st) => [st.name, st.pushedCursor, st.pulledCursor]),
        ]),
      );
      if (current === previous) return;
      previous = current;
    }
    throw new Error('sync did not settle in 30 rounds');
  }

  stop() {
    return this.wait(Promise.all(this.reactors.map((r) => r.stop({ abort: true }))));
  }
}

/** A CREATE may lose a race with one that synced in (`conflict`) or be cut by a restart (`stopped`). */
function ignoreLostCreate(error: { kind?: string }): void {
  if (error.kind !== 'conflict' && error.kind !== 'stopped') throw error;
}

/**
 * Same documents, same op ids (no duplicates), same state and hash everywhere; every write made
 * at most one op (its tag appears once); no write lost that resolved or was persisted by a
 * `drain: false` stop (only an abort may lose writes that had not committed).
 */
async function expectConverged(world: World) {
  const unexpected = world.writes.filter(
    (w) => w.outcome?.status === 'rejected' && (w.outcome.reason as { kind?: string }).kind !== 'stopped',
  );
  expect(unexpected, 'writes that failed other than by a stop').toEqual([]);
  const committed = world.writes.flatMap((w) =>
    w.outcome?.status === 'fulfilled'
      ? (w.outcome.value as { operations: Operation[] }).operations.map((op) => op.id)
      : [],
  );
  const required = world.writes
    .filter((w) => w.outcome?.status === 'fulfilled' || w.instance.stoppedBy === 'drain:false')
    .map((w) => w.tag);
  const tags: string[] = [];
  const everywhere = new Set<string>();
  for (const { id, model } of DOCUMENTS) {
    const snapshots = world.reactors.map((r) => r.documents.get(id));
    let reference: string[] | undefined;
    for (const [i, r] of world.reactors.entries()) {
      const log = await r.operations(id);
      if (i === 0) tags.push(...log.flatMap((op) => tagOf(op) ?? []));
      const ids = [...log, ...(await r.operations(id, { scope: 'document' }))].map((op) => op.id).sort();
      expect(new Set(ids).size, `duplicate ops of ${id} on ${r.id}`).toBe(ids.length);
      if (reference === undefined) reference = ids;
      else expect(ids, `op ids of ${id} on ${r.id} vs ${world.reactors[0]?.id}`).toEqual(reference);
      const snapshot = snapshots[i];
      if (snapshot === undefined) {
        expect(ids, `${id} is unknown on ${r.id} but has ops`).toEqual([]);
        continue;
      }
      expect(snapshot.revision, `revision of ${id} on ${r.id}`).toBe(log.length);
      expect(snapshot.state, `state of ${id} on ${r.id}`).toEqual(fold(model, log));
      expect(snapshot.hash, `hash of ${id} on ${r.id}`).toBe(snapshots[0]?.hash);
    }
    for (const opId of reference ?? []) everywhere.add(opId);
  }
  expect(
    committed.filter((id) => !everywhere.has(id)),
    'ops whose write resolved but are missing',
  ).toEqual([]);
  expect(
    tags.filter((tag, i) => tags.indexOf(tag) !== i),
    'writes applied more than once',
  ).toEqual([]);
  const present = new Set(tags);
  expect(
    required.filter((tag) => !present.has(tag)),
    'writes that resolved or were persisted by a stop, but are missing',
  ).toEqual([]);
}

/** Runs a script to the end: its steps, then heal, wait for every write, settle. */
async function play(world: World, steps: readonly Step[]) {
  await world.open();
  for (const s of steps) await world.run(s);
  world.network.heal();
  await world.wait(Promise.all(world.pending));
  await world.settle();
}

describe(`sync convergence property (seed ${SEED}, ${RUNS} runs)`, () => {
  it('any script of writes, partitions and restarts converges once healed and settled', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ steps, ...setup }) => {
        const world = new World(setup);
        try {
          await play(world, steps);
          await expectConverged(world);
        } finally {
          await world.stop();
        }
      }),
      { seed: SEED, numRuns: RUNS, ...(PATH === undefined ? {} : { path: PATH }) },
    );
  }, 120_000);

  it('a script replays exactly: the same commits and remote phases at the same simulated times', async () => {
    const [script] = fc.sample(
      scenario.filter((s) => s.steps.filter((step) => step.kind === 'write').length >= 3),
      { seed: SEED, numRuns: 1 },
    );
    const replay = async ({ steps, ...setup }: Scenario) => {
      const world = new World(setup);
      try {
        await play(world, steps);
        const outcomes = world.writes.map((w) => `${w.tag} ${w.outcome?.status}`);
        return { log: world.log, outcomes, stats: { ...world.network.stats }, at: world.clock.now() };
      } finally {
        await world.stop();
      }
    };
    const first = await replay(script as Scenario);
    const second = await replay(script as Scenario);
    expect(first.log.length).toBeGreaterThan(10);
    expect(second).toEqual(first);
  }, 60_000);
});
