import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SYNC_MODES, type SyncMode } from '../../src/index.js';
import { createSimulation, generateWorkload, runSteps, TOPOLOGIES, type Topology } from '../../src/sim/index.js';

/**
 * Every generated workload, on any topology and mode, over a lossy network with partitions and
 * crashes, ends with every invariant holding. On failure fast-check prints its seed, the path and
 * the shrunk configuration (a plain record); rerun it with
 * `SIM_PROPERTY_SEED=<seed> SIM_PROPERTY_PATH=<path>`, or search longer with `SIM_PROPERTY_RUNS=<n>`.
 */
const RUNS = Number(process.env.SIM_PROPERTY_RUNS ?? 40);
const SEED = Number(process.env.SIM_PROPERTY_SEED ?? 20260101);
const PATH = process.env.SIM_PROPERTY_PATH;

/** One simulated run: the simulation's options and its workload's. */
interface RunConfig {
  readonly seed: number;
  readonly reactors: number;
  readonly topology: Topology;
  readonly mode: SyncMode;
  readonly ops: number;
  readonly documents: number;
  readonly partitions: number;
  readonly crashes: number;
  readonly writesPerTick: number;
  readonly network: {
    readonly latency: number;
    readonly jitter: number;
    readonly drop: number;
    readonly duplicate: number;
    readonly reorder: number;
  };
}

/** A fault probability up to 10%, in whole percent so shrunk values read well. */
const fault = fc.integer({ min: 0, max: 10 }).map((percent) => percent / 100);

const runConfig: fc.Arbitrary<RunConfig> = fc
  .record(
    {
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      reactors: fc.integer({ min: 2, max: 4 }),
      topology: fc.constantFrom(...TOPOLOGIES),
      mode: fc.constantFrom(...SYNC_MODES),
      ops: fc.integer({ min: 0, max: 60 }),
      documents: fc.integer({ min: 1, max: 4 }),
      partitions: fc.integer({ min: 0, max: 2 }),
      crashes: fc.integer({ min: 0, max: 1 }),
      writesPerTick: fc.integer({ min: 1, max: 10 }),
      network: fc.record(
        {
          latency: fc.integer({ min: 0, max: 20 }),
          jitter: fc.integer({ min: 0, max: 20 }),
          drop: fault,
          duplicate: fault,
          reorder: fault,
        },
        { noNullPrototype: true },
      ),
    },
    { noNullPrototype: true },
  )
  // A pair is always two reactors.
  .map((config) => ({ ...config, reactors: config.topology === 'pair' ? 2 : config.reactors }));

async function violationsOf(config: RunConfig): Promise<string[]> {
  const sim = await createSimulation({
    seed: config.seed,
    reactors: config.reactors,
    topology: config.topology,
    mode: config.mode,
    network: config.network,
    // Backoff is capped at 1 s of simulated time: a run still unsettled after a minute never will.
    quiesceLimitMs: 60_000,
  });
  try {
    await runSteps(
      sim,
      generateWorkload({
        seed: config.seed,
        reactors: config.reactors,
        ops: config.ops,
        documents: config.documents,
        partitions: config.partitions,
        crashes: config.crashes,
        writesPerTick: config.writesPerTick,
      }),
    );
    const violations = await sim.check();
    return violations.map((violation) => `${violation.invariant}: ${violation.message}`);
  } finally {
    await sim.stop();
  }
}

describe('generated workloads (property)', () => {
  it(
    'always converge with every op stored exactly once, queues drained and no dead letters',
    async () => {
      await fc.assert(
        fc.asyncProperty(runConfig, async (config) => {
          expect(await violationsOf(config)).toEqual([]);
        }),
        { numRuns: RUNS, seed: SEED, ...(PATH === undefined ? {} : { path: PATH }), verbose: true },
      );
    },
    Math.max(60_000, RUNS * 4_000),
  );

  it('the generated configurations are plain records fast-check can print', () => {
    const [sample] = fc.sample(runConfig, { numRuns: 1, seed: SEED });
    expect(sample).toBeDefined();
    expect(JSON.parse(JSON.stringify(sample))).toEqual(sample);
    expect(fc.stringify(sample)).toMatch(/^\{"seed":\d+,"reactors":[2-4],"topology":"(pair|hub|mesh)"/);
  });
});
