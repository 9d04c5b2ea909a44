import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { defineDocumentModel, ReactorError, SYNC_MODES, type SyncMode } from '../../src/index.js';
import {
  createSimulation,
  parseScenario,
  runSteps,
  type Simulation,
  SimulationError,
  type SimulationOptions,
  TOPOLOGIES,
  type Topology,
} from '../../src/sim/index.js';
import { openReactor } from '../support.js';

/** Runs `body` on a fresh simulation and always stops it. */
async function withSimulation<T>(options: SimulationOptions, body: (sim: Simulation) => Promise<T>): Promise<T> {
  const sim = await createSimulation(options);
  try {
    return await body(sim);
  } finally {
    await sim.stop();
  }
}

const increment = (by: number) => [{ type: 'INCREMENT', input: { by } }];
const add = (item: string) => [{ type: 'ADD', input: { item } }];

/** Counter value and list items of a document on one reactor. */
function stateOf(sim: Simulation, reactor: number, documentId: string): unknown {
  return sim.reactor(reactor).documents.get(documentId)?.state;
}

describe('createSimulation: every topology and mode converges', () => {
  const cases = TOPOLOGIES.flatMap((topology) => SYNC_MODES.map((mode) => [topology, mode] as const));

  it.each(cases)('%s in %s mode', async (topology: Topology, mode: SyncMode) => {
    const reactors = topology === 'pair' ? 2 : 3;
    await withSimulation(
      { seed: 5, topology, mode, reactors, network: { latency: 5, jitter: 5, drop: 0.05 } },
      async (sim) => {
        expect(sim.names).toEqual(reactors === 2 ? ['r0', 'r1'] : ['r0', 'r1', 'r2']);
        await sim.createDocument(0, 'counter', 'clicks');
        await sim.createDocument(reactors - 1, 'list', 'names');
        await sim.quiesce();
        for (let r = 0; r < reactors; r++) {
          sim.write(r, 'clicks', increment(r + 1));
          sim.write(r, 'clicks', increment(10));
          sim.write(`r${r}`, 'names', add(`from r${r}`));
        }
        await sim.quiesce();

        const expectedCount = Array.from({ length: reactors }, (_, r) => r + 1 + 10).reduce((a, b) => a + b, 0);
        for (let r = 0; r < reactors; r++) {
          expect(stateOf(sim, r, 'clicks')).toEqual({ count: expectedCount });
          const items = (stateOf(sim, r, 'names') as { items: string[] }).items;
          expect([...items].sort()).toEqual(Array.from({ length: reactors }, (_, i) => `from r${i}`));
          expect(items).toEqual((stateOf(sim, 0, 'names') as { items: string[] }).items);
        }
        expect(await sim.check()).toEqual([]);
        const summary = await sim.summary();
        expect(summary).toMatchObject({ topology, mode, reactors, deadLetters: 0, crashes: 0 });
        expect(summary.writes).toEqual({ attempted: 2 + 3 * reactors, committed: 2 + 3 * reactors, failed: 0 });
        // 2 CREATEs + 3 writes per reactor, counted once however many reactors store them.
        expect(summary.operations).toBe(2 + 3 * reactors);
        expect(summary.propagation.samples).toBe(summary.operations * (reactors - 1));
      },
    );
  });
});

describe('crash and restart', () => {
  it('keeps a crashed reactor’s data (its fake IndexedDB survives) and catches it up', async () => {
    await withSimulation({ seed: 9, topology: 'hub', reactors: 3, network: { latency: 5 } }, async (sim) => {
      await sim.createDocument(1, 'counter', 'c');
      await sim.quiesce();
      sim.write(2, 'c', increment(5));
      await sim.quiesce();
      expect(sim.failures).toEqual([]);
      const before = await sim.reactor(2).operations('c');
      expect(before).toHaveLength(1);

      await sim.crash(2);
      expect(() => sim.reactor(2)).toThrow(SimulationError);
      expect(() => sim.reactor(2)).toThrow(/r2 is crashed/);
      await expect(sim.crash(2)).rejects.toThrow(/r2 is already crashed/);
      sim.write(1, 'c', increment(100));
      sim.write(0, 'c', increment(1000));
      await sim.advance(500);

      await sim.restart(2);
      await expect(sim.restart(2)).rejects.toThrow(/r2 is running/);
      // Reopened on the same database: what it had before the crash is there at once.
      expect((await sim.reactor(2).operations('c')).map((op) => op.id)).toEqual(
        expect.arrayContaining(before.map((op) => op.id)),
      );
      expect(sim.reactor(2).documents.get('c')).toBeDefined();

      await sim.quiesce();
      expect(stateOf(sim, 2, 'c')).toEqual({ count: 1105 });
      expect(await sim.check()).toEqual([]);
      expect((await sim.summary()).crashes).toBe(1);
    });
  });

  it('fails a write submitted to a crashed reactor loudly', async () => {
    await withSimulation({ seed: 1, topology: 'pair' }, async (sim) => {
      await sim.createDocument(0, 'counter', 'c');
      await sim.crash(1);
      expect(() => sim.write(1, 'c', increment(1))).toThrow(/r1 is crashed; restart it first/);
      await sim.restart(1);
    });
  });
});

describe('quiesce() fails loudly', () => {
  it('when a partition is never healed, naming the link that is behind', async () => {
    await withSimulation({ seed: 2, topology: 'pair', quiesceLimitMs: 5000 }, async (sim) => {
      await sim.createDocument(0, 'counter', 'c');
      await sim.quiesce();
      sim.partition(0, 1);
      sim.write(1, 'c', increment(1));
      const started = sim.clock.now();
      const failure = await sim.quiesce().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(SimulationError);
      expect((failure as Error).message).toMatch(/^quiesce: not settled after 5000 ms of simulated time: /);
      // In a ping-pong pair r0 holds the one remote, to r1.
      expect((failure as Error).message).toMatch(/r0→r1: pulled to 1 of 2 \(pull (offline|probing)\)/);
      expect(sim.clock.now() - started).toBeGreaterThanOrEqual(5000);

      // Healed, it settles.
      sim.heal();
      await sim.quiesce();
      expect(await sim.check()).toEqual([]);
    });
  });

  it('when a reactor is still crashed, naming it', async () => {
    await withSimulation({ seed: 3, topology: 'mesh', reactors: 3 }, async (sim) => {
      await sim.crash('r2');
      await expect(sim.quiesce()).rejects.toThrow(SimulationError);
      await expect(sim.quiesce()).rejects.toThrow('quiesce: r2 crashed; restart before quiescing');
      await sim.restart('r2');
      await sim.quiesce();
    });
  });
});

describe('check() reports precise violations', () => {
  it('names the document, the op and the reactor when a write has not reached a partitioned peer', async () => {
    await withSimulation({ seed: 4, topology: 'pair', network: { latency: 5 } }, async (sim) => {
      await sim.createDocument(0, 'counter', 'tally');
      await sim.quiesce();
      sim.partition('r0', 'r1');
      sim.write(0, 'tally', increment(3));
      await sim.advance(100);
      const [op] = await sim.reactor(0).operations('tally');
      expect(op).toBeDefined();
      const opId = (op as { id: string }).id;

      const violations = await sim.check();
      const converged = violations.filter((v) => v.invariant === 'converged');
      const exactlyOnce = violations.filter((v) => v.invariant === 'exactly-once');
      expect(converged).toHaveLength(1);
      expect(converged[0]?.message).toMatch(
        /^document "tally": r1 has hash \w+ at revision 0, but r0 has \w+ at revision 1$/,
      );
      expect(exactlyOnce).toEqual([
        {
          invariant: 'exactly-once',
          message: `op "${opId}" (document "tally", global, from r0) is missing on r1`,
        },
      ]);
      expect(violations.map((v) => v.invariant).sort()).toEqual(['converged', 'exactly-once']);
      await expect(sim.assertInvariants()).rejects.toThrow(
        new RegExp(`2 invariant violation\\(s\\):\\n.*converged: document "tally".*\\n.*exactly-once: op "${opId}"`),
      );

      sim.heal();
      await sim.quiesce();
      expect(await sim.check()).toEqual([]);
      await expect(sim.assertInvariants()).resolves.toBeUndefined();
    });
  });

  it('names a document that one reactor does not have at all', async () => {
    await withSimulation({ seed: 4, topology: 'pair' }, async (sim) => {
      sim.partition(0, 1);
      await sim.createDocument(1, 'list', 'only-here');
      const violations = await sim.check();
      expect(violations).toContainEqual({ invariant: 'converged', message: 'document "only-here" is missing on r0' });
      expect(violations.filter((v) => v.invariant === 'exactly-once').map((v) => v.message)).toEqual([
        expect.stringMatching(/^op "[^"]+" \(document "only-here", document, from r1\) is missing on r0$/),
      ]);
    });
  });

  it('reports dead letters the script did not expect, naming the reactor and the op', async () => {
    // Every simulated reactor shares its models, so the op of an unknown model comes from outside:
    // a reactor that knows a model the simulation does not.
    const secret = defineDocumentModel({
      type: 'secret',
      initialState: () => ({ value: '' }),
      reducers: { SET: (_state: { value: string }, input: { value: string }) => ({ value: input.value }) },
    });
    // On a simulated clock as the simulation's (at 0), so its op is not from the far future there.
    const outsider = await openReactor({ models: [secret], id: 'outsider', clock: new SimulatedClock() });
    const created = await outsider.createDocument('secret', { id: 'classified' });
    await outsider.stop();
    const create = created.operations[0];
    expect(create).toBeDefined();

    await withSimulation({ seed: 6, topology: 'hub', reactors: 3 }, async (sim) => {
      await sim.reactor(1).load(created.operations.map(({ index: _index, ...envelope }) => envelope));
      await sim.quiesce();

      const violations = await sim.check();
      expect(violations).toHaveLength(1);
      expect(violations[0]?.invariant).toBe('dead-letters');
      expect(violations[0]?.message).toBe(
        `expected 0 dead letter(s), found 1: r1: receive (local) op "${create?.id}": document "classified" has type "secret", which this reactor has no model for`,
      );
      // A script that expects the letter passes; one that expects another count does not.
      expect(await sim.check({ expectedDeadLetters: 1 })).toEqual([]);
      expect((await sim.check({ expectedDeadLetters: 2 }))[0]?.message).toMatch(
        /^expected 2 dead letter\(s\), found 1/,
      );
      expect((await sim.summary()).deadLetters).toBe(1);
      // The refused op was never stored, so it never spread.
      expect(sim.reactor(0).documents.get('classified')).toBeUndefined();
    });
  });
});

describe('determinism', () => {
  const run = (seed: number) =>
    withSimulation(
      {
        seed,
        reactors: 3,
        topology: 'hub',
        network: { latency: 5, jitter: 10, drop: 0.1, duplicate: 0.1, reorder: 0.1 },
        record: true,
      },
      async (sim) => {
        await runSteps(sim, [
          { createDocument: { reactor: 1, model: 'list', id: 'order-sensitive' } },
          { createDocument: { reactor: 2, model: 'counter', id: 'sum' } },
          { quiesce: true },
          ...[0, 1, 2].flatMap((r) => [
            { write: { reactor: r, document: 'order-sensitive', actions: add(`r${r}`), repeat: 5 } },
            { write: { reactor: r, document: 'sum', actions: increment(r + 1), repeat: 5 } },
          ]),
          { advance: 15 },
          { crash: 2 },
          { write: { reactor: 1, document: 'sum', actions: increment(100) } },
          { advance: 200 },
          { restart: 2 },
          { quiesce: true },
        ]);
        expect(await sim.check()).toEqual([]);
        const summary = await sim.summary();
        const items = stateOf(sim, 0, 'order-sensitive');
        return { digest: await sim.digest(), summary, items };
      },
    );

  it('the same seed twice gives the same digest, trace and final states', async () => {
    const first = await run(77);
    const second = await run(77);
    expect(second.digest).toBe(first.digest);
    expect(second.summary.digest).toBe(first.summary.digest);
    expect(second.summary.traceEvents).toBe(first.summary.traceEvents);
    expect(first.summary.traceEvents).toBeGreaterThan(0);
    expect(second.summary.states).toEqual(first.summary.states);
    expect(second.items).toEqual(first.items);
    expect(second.summary.network).toEqual(first.summary.network);
    expect(second.summary.simulatedMs).toBe(first.summary.simulatedMs);
  });

  it('a different seed gives a different digest', async () => {
    const [a, b] = [await run(77), await run(78)];
    expect(b.digest).not.toBe(a.digest);
  });
});

describe('bad options and references', () => {
  it('refuses topology "pair" with 3 reactors', async () => {
    const attempt = createSimulation({ topology: 'pair', reactors: 3 });
    await expect(attempt).rejects.toThrow(ReactorError);
    await expect(createSimulation({ topology: 'pair', reactors: 3 })).rejects.toThrow(
      'topology "pair" needs exactly 2 reactors, got 3',
    );
  });

  it('refuses a simulation of one reactor', async () => {
    await expect(createSimulation({ topology: 'mesh', reactors: 1 })).rejects.toThrow(
      'a simulation needs at least 2 reactors, got 1',
    );
  });

  it('refuses a fault probability outside [0, 1]', async () => {
    await expect(createSimulation({ network: { drop: 2 } })).rejects.toThrow(/"drop" must be a probability/);
  });

  it('names the reactors it has when a reference is unknown', async () => {
    await withSimulation({ topology: 'hub', reactors: 3 }, async (sim) => {
      expect(() => sim.reactor('r9')).toThrow(SimulationError);
      expect(() => sim.reactor('r9')).toThrow('no reactor "r9"; this simulation has r0, r1, r2');
      expect(() => sim.reactor(3)).toThrow('no reactor 3; this simulation has r0, r1, r2');
      expect(() => sim.partition(0, 'nope')).toThrow('no reactor "nope"');
      await expect(sim.crash(-1)).rejects.toThrow('no reactor -1');
      await expect(sim.createDocument('x', 'counter', 'd')).rejects.toThrow('no reactor "x"');
    });
  });

  it('runSteps stops at a step that names an unknown reactor', async () => {
    await withSimulation({ topology: 'pair' }, async (sim) => {
      await expect(runSteps(sim, [{ crash: 'r5' }])).rejects.toThrow('no reactor "r5"; this simulation has r0, r1');
    });
  });
});

describe('parseScenario', () => {
  it('accepts every shipped step kind', () => {
    const scenario = parseScenario({
      seed: 1,
      reactors: 2,
      topology: 'pair',
      mode: 'push',
      network: { latency: 1, drop: 0.5 },
      expect: { deadLetters: 0 },
      steps: [
        { createDocument: { reactor: 0, model: 'counter', id: 'c' } },
        { write: { reactor: 'r1', document: 'c', actions: increment(1), repeat: 3 } },
        { partition: [0, 1] },
        { heal: [0, 1] },
        { heal: true },
        { crash: 1 },
        { restart: 1 },
        { advance: 10 },
        { quiesce: true },
      ],
    });
    expect(scenario.steps).toHaveLength(9);
  });

  it('lists every problem with its path', () => {
    let failure: unknown;
    try {
      parseScenario(
        {
          reactors: 1,
          topology: 'ring',
          network: { drop: 2, lag: 5 },
          steps: [{ createDocument: { reactor: 0, model: 'counter' } }, { advance: -1 }, { explode: true }],
          colour: 'blue',
        },
        'scenario broken.json',
      );
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ReactorError);
    const error = failure as ReactorError;
    expect(error.kind).toBe('validation');
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('scenario broken.json is not valid:');
    const problems = lines.slice(1).map((line) => line.trim());
    const paths = problems.map((line) => line.slice(0, line.indexOf(':')));
    expect(paths).toEqual(
      expect.arrayContaining([
        'reactors',
        'topology',
        'network.drop',
        'network',
        'steps.0',
        'steps.1.advance',
        'steps.2',
        '(root)',
      ]),
    );
    expect(problems.find((p) => p.startsWith('topology:'))).toMatch(/pair|hub|mesh/);
    expect(problems.find((p) => p.startsWith('network:'))).toContain('lag');
    expect(problems.find((p) => p.startsWith('(root):'))).toContain('colour');
    expect(problems.find((p) => p.startsWith('steps.1.advance:'))).toMatch(/>=\s*0/);
  });

  it('requires at least one step', () => {
    expect(() => parseScenario({ steps: [] })).toThrow(/steps: /);
    expect(() => parseScenario('not an object')).toThrow(/\(root\): /);
  });
});
