import * as v from 'valibot';
import { ReactorError } from '../model/errors.js';
import { seededRandom } from '../model/random.js';
import { issueLines } from '../model/schema.js';
import { SYNC_MODES } from '../model/sync.js';
import type { Action } from '../model/types.js';
import type { Simulation, SimulationOptions } from './simulation.js';
import { TOPOLOGIES } from './topology.js';

const name = v.pipe(v.string(), v.minLength(1));
const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const reactorRef = v.union([wholeNumber(0), name]);
const action = v.object({
  type: name,
  input: v.optional(v.unknown()),
  scope: v.optional(v.picklist(['global', 'local'])),
});

/** One step of a scripted scenario. */
export const stepSchema = v.union(
  [
    v.strictObject({ createDocument: v.object({ reactor: reactorRef, model: name, id: name }) }),
    v.strictObject({
      write: v.object({
        reactor: reactorRef,
        document: name,
        actions: v.pipe(v.array(action), v.minLength(1)),
        repeat: v.optional(wholeNumber(1, 1_000_000)),
      }),
    }),
    v.strictObject({ partition: v.strictTuple([reactorRef, reactorRef]) }),
    v.strictObject({ heal: v.union([v.literal(true), v.strictTuple([reactorRef, reactorRef])]) }),
    v.strictObject({ crash: reactorRef }),
    v.strictObject({ restart: reactorRef }),
    v.strictObject({ advance: v.pipe(v.number(), v.minValue(0)) }),
    v.strictObject({ quiesce: v.literal(true) }),
  ],
  'Invalid step: expected one of createDocument, write, partition, heal, crash, restart, advance, quiesce (one per step)',
);

const probability = v.pipe(v.number(), v.minValue(0), v.maxValue(1));

/** A scenario file: the simulation's settings and its steps. */
export const scenarioSchema = v.strictObject({
  name: v.optional(v.string()),
  description: v.optional(v.string()),
  seed: v.optional(v.pipe(v.number(), v.integer())),
  reactors: v.optional(wholeNumber(2, 64)),
  topology: v.optional(v.picklist(TOPOLOGIES)),
  mode: v.optional(v.picklist(SYNC_MODES)),
  network: v.optional(
    v.strictObject({
      latency: v.optional(v.pipe(v.number(), v.minValue(0))),
      jitter: v.optional(v.pipe(v.number(), v.minValue(0))),
      drop: v.optional(probability),
      duplicate: v.optional(probability),
      reorder: v.optional(probability),
    }),
  ),
  pullIntervalMs: v.optional(v.pipe(v.number(), v.minValue(1))),
  expect: v.optional(v.strictObject({ deadLetters: v.optional(wholeNumber(0)) })),
  steps: v.pipe(v.array(stepSchema), v.minLength(1)),
});

/** A parsed scenario. */
export type Scenario = v.InferOutput<typeof scenarioSchema>;
/** One parsed step. */
export type ScenarioStep = v.InferOutput<typeof stepSchema>;

/** Parses a scenario (from JSON); a bad one is a `validation` error listing every problem with its path. */
export function parseScenario(value: unknown, where = 'scenario'): Scenario {
  const result = v.safeParse(scenarioSchema, value);
  if (!result.success) {
    throw new ReactorError('validation', `${where} is not valid:\n  ${issueLines(result.issues).join('\n  ')}`);
  }
  return result.output;
}

/** Simulation options of a scenario. */
export function simulationOptionsOf(scenario: Scenario): SimulationOptions {
  return {
    ...(scenario.seed === undefined ? {} : { seed: scenario.seed }),
    ...(scenario.reactors === undefined ? {} : { reactors: scenario.reactors }),
    ...(scenario.topology === undefined ? {} : { topology: scenario.topology }),
    ...(scenario.mode === undefined ? {} : { mode: scenario.mode }),
    ...(scenario.network === undefined ? {} : { network: scenario.network }),
    ...(scenario.pullIntervalMs === undefined ? {} : { pullIntervalMs: scenario.pullIntervalMs }),
  };
}

/** How many units of work a step is (writes count one per repetition), for progress bars. */
export function stepWeight(step: ScenarioStep): number {
  return 'write' in step ? (step.write.repeat ?? 1) : 1;
}

/** Runs the steps of a scenario on a simulation; `onProgress(done, total)` after every step. */
export async function runSteps(
  simulation: Simulation,
  steps: readonly ScenarioStep[],
  onProgress: (done: number, total: number) => void = () => {},
): Promise<void> {
  const total = steps.reduce((sum, step) => sum + stepWeight(step), 0);
  let done = 0;
  for (const step of steps) {
    if ('createDocument' in step) {
      await simulation.createDocument(step.createDocument.reactor, step.createDocument.model, step.createDocument.id);
    } else if ('write' in step) {
      for (let i = 0; i < (step.write.repeat ?? 1); i++) {
        simulation.write(step.write.reactor, step.write.document, step.write.actions as Action[]);
      }
    } else if ('partition' in step) {
      simulation.partition(step.partition[0], step.partition[1]);
    } else if ('heal' in step) {
      if (step.heal === true) simulation.heal();
      else simulation.heal(step.heal[0], step.heal[1]);
    } else if ('crash' in step) {
      await simulation.crash(step.crash);
    } else if ('restart' in step) {
      await simulation.restart(step.restart);
    } else if ('advance' in step) {
      await simulation.advance(step.advance);
    } else {
      await simulation.quiesce();
    }
    done += stepWeight(step);
    onProgress(done, total);
  }
}

/** Settings of a generated workload. */
export interface WorkloadOptions {
  readonly seed: number;
  readonly reactors: number;
  readonly ops: number;
  readonly documents: number;
  readonly partitions: number;
  readonly crashes: number;
  /** Writes issued between two ticks of simulated time. */
  readonly writesPerTick?: number;
  /** Simulated ms between ticks. */
  readonly tickMs?: number;
}

/**
 * A seeded workload as explicit steps: documents created round-robin (counters and lists) and
 * synced, then `ops` writes spread over reactors and documents in ticks, with `partitions`
 * partitions (each healed a while later) and `crashes` crash/restart pairs along the way, then a
 * final heal and quiesce.
 */
export function generateWorkload(options: WorkloadOptions): ScenarioStep[] {
  const random = seededRandom(options.seed ^ 0x5eed);
  const pick = (n: number) => Math.floor(random() * n);
  const steps: ScenarioStep[] = [];
  const docs = Array.from({ length: options.documents }, (_, i) => ({
    id: `doc-${i}`,
    model: i % 2 === 0 ? 'counter' : 'list',
  }));
  docs.forEach((doc, i) => {
    steps.push({ createDocument: { reactor: i % options.reactors, model: doc.model, id: doc.id } });
  });
  steps.push({ quiesce: true });
  const perTick = options.writesPerTick ?? 25;
  const tickMs = options.tickMs ?? 20;
  const ticks = Math.max(1, Math.ceil(options.ops / perTick));
  const events = new Map<number, ScenarioStep[]>();
  const at = (tick: number, step: ScenarioStep) => {
    const list = events.get(tick) ?? [];
    list.push(step);
    events.set(tick, list);
  };
  const down = new Map<number, [number, number]>();
  for (let p = 0; p < options.partitions; p++) {
    const start = pick(Math.max(1, Math.floor(ticks * 0.7)));
    const a = pick(options.reactors);
    const b = (a + 1 + pick(options.reactors - 1)) % options.reactors;
    at(start, { partition: [a, b] });
    at(Math.min(ticks - 1, start + 1 + pick(Math.max(1, Math.floor(ticks / 4)))), { heal: [a, b] });
  }
  for (let c = 0; c < options.crashes; c++) {
    const start = pick(Math.max(1, Math.floor(ticks * 0.7)));
    const r = 1 + pick(options.reactors - 1);
    const end = Math.min(ticks - 1, start + 1 + pick(Math.max(1, Math.floor(ticks / 5))));
    if ([...down.values()].some(([s, e]) => start <= e && end >= s)) continue;
    down.set(r * 1_000_000 + c, [start, end]);
    at(start, { crash: r });
    at(end, { restart: r });
  }
  const crashedAt = (tick: number) =>
    new Set([...down].filter(([, [s, e]]) => tick >= s && tick < e).map(([key]) => Math.floor(key / 1_000_000)));
  let written = 0;
  for (let tick = 0; tick < ticks; tick++) {
    for (const step of events.get(tick) ?? []) steps.push(step);
    const crashed = crashedAt(tick);
    const live = Array.from({ length: options.reactors }, (_, i) => i).filter((i) => !crashed.has(i));
    for (let w = 0; w < perTick && written < options.ops; w++, written++) {
      const reactor = live[pick(live.length)] as number;
      const doc = docs[pick(docs.length)] as { id: string; model: string };
      const actions: Action[] =
        doc.model === 'counter'
          ? [{ type: 'INCREMENT', input: { by: 1 + pick(5) } }]
          : [{ type: 'ADD', input: { item: `r${reactor}-${written}` } }];
      steps.push({ write: { reactor, document: doc.id, actions } as never });
    }
    steps.push({ advance: tickMs });
  }
  steps.push({ heal: true });
  steps.push({ quiesce: true });
  return steps;
}
