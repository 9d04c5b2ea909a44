import { readFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { ReactorError } from '../model/errors.js';
import type { SyncMode } from '../model/sync.js';
import {
  createSimulation,
  generateWorkload,
  parseScenario,
  runSteps,
  type Scenario,
  SimulationError,
  type SimulationSummary,
  simulationOptionsOf,
} from '../sim/index.js';
import type { InvariantViolation } from '../sim/invariants.js';
import type { Topology } from '../sim/topology.js';

/** Options of `xstate-reactor simulate` (after parsing). */
export interface SimulateOptions {
  readonly reactors: number;
  readonly topology: Topology;
  readonly mode: SyncMode;
  readonly ops: number;
  readonly documents: number;
  readonly drop: number;
  readonly duplicate: number;
  readonly latency: number;
  readonly jitter: number;
  readonly reorder: number;
  readonly partitions: number;
  readonly crashes: number;
  readonly seed: number;
  readonly record?: string;
  readonly scenario?: string;
  /** True when `--seed` was given explicitly (it then overrides a scenario's seed). */
  readonly seedGiven?: boolean;
  readonly json: boolean;
}

/** What a run reports, also printed with `--json`. */
export interface SimulateReport extends SimulationSummary {
  readonly name: string;
  /** Same as `operations`: the distinct ops in the logs after the run (the summary's "ops"). */
  readonly ops: number;
  readonly converged: boolean;
  readonly violations: readonly InvariantViolation[];
  readonly wallMs: number;
  readonly opsPerSecond: number;
  readonly error?: string;
}

/** Builds the scenario a run executes: a file, or a workload generated from the flags. */
export async function scenarioFor(options: SimulateOptions): Promise<Scenario> {
  if (options.scenario !== undefined) {
    let text: string;
    try {
      text = await readFile(options.scenario, 'utf8');
    } catch (error) {
      throw new ReactorError('validation', `cannot read scenario ${options.scenario}: ${(error as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ReactorError('validation', `scenario ${options.scenario} is not JSON: ${(error as Error).message}`);
    }
    const scenario = parseScenario(json, `scenario ${options.scenario}`);
    return options.seedGiven === true ? { ...scenario, seed: options.seed } : scenario;
  }
  return {
    name: `${options.reactors} reactors, ${options.topology}, ${options.mode}`,
    seed: options.seed,
    reactors: options.reactors,
    topology: options.topology,
    mode: options.mode,
    network: {
      latency: options.latency,
      jitter: options.jitter,
      drop: options.drop,
      duplicate: options.duplicate,
      reorder: options.reorder,
    },
    steps: generateWorkload({
      seed: options.seed,
      reactors: options.reactors,
      ops: options.ops,
      documents: options.documents,
      partitions: options.partitions,
      crashes: options.crashes,
    }),
  };
}

/** A progress reporter: a bar on a TTY, plain lines every 10% otherwise, nothing with `--json`. */
function progressReporter(json: boolean, stream: NodeJS.WriteStream) {
  if (json) return { update: () => {}, stop: () => {} };
  if (stream.isTTY) {
    const bar = new SingleBar({
      format: 'simulating [{bar}] {percentage}% | {value}/{total} steps | {duration}s',
      stream,
    });
    let started = false;
    return {
      update(done: number, total: number) {
        if (!started) {
          bar.start(total, 0);
          started = true;
        }
        bar.update(done);
      },
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update(done: number, total: number) {
      const decile = Math.floor((done / total) * 10);
      if (decile === lastDecile) return;
      lastDecile = decile;
      stream.write(`progress: ${decile * 10}% (${done}/${total} steps)\n`);
    },
    stop: () => {},
  };
}

/** Runs a simulation and returns its report. */
export async function simulate(
  options: SimulateOptions,
  out: NodeJS.WriteStream = process.stderr,
): Promise<SimulateReport> {
  const scenario = await scenarioFor(options);
  const started = performance.now();
  const simulation = await createSimulation({
    ...simulationOptionsOf(scenario),
    ...(options.record === undefined ? { record: true } : { record: options.record }),
  });
  const progress = progressReporter(options.json, out);
  let violations: InvariantViolation[] = [];
  let error: string | undefined;
  try {
    await runSteps(simulation, scenario.steps, (done, total) => progress.update(done, total));
    const last = scenario.steps.at(-1);
    if (last === undefined || !('quiesce' in last)) {
      simulation.heal();
      await simulation.quiesce();
    }
    violations = await simulation.check({ expectedDeadLetters: scenario.expect?.deadLetters ?? 0 });
  } catch (caught) {
    if (!(caught instanceof SimulationError || caught instanceof ReactorError)) throw caught;
    error = caught.message;
  } finally {
    progress.stop();
  }
  const summary = await simulation.summary();
  await simulation.stop();
  const wallMs = performance.now() - started;
  return {
    name: scenario.name ?? options.scenario ?? 'simulation',
    ...summary,
    ops: summary.operations,
    converged: error === undefined && violations.length === 0,
    violations,
    wallMs,
    opsPerSecond: Math.round(summary.operations / (wallMs / 1000)),
    ...(error === undefined ? {} : { error }),
  };
}

/** The summary table. */
export function formatReport(report: SimulateReport): string {
  const rows: [string, string][] = [
    ['scenario', report.name],
    ['reactors', `${report.reactors} (${report.topology}, ${report.mode})`],
    ['seed', String(report.seed)],
    ['ops', `${report.operations} (${report.writes.committed} writes committed, ${report.writes.failed} failed)`],
    ['converged', report.converged ? 'yes' : 'NO'],
    ['time', `${(report.wallMs / 1000).toFixed(2)} s wall, ${(report.simulatedMs / 1000).toFixed(1)} s simulated`],
    ['ops/s', String(report.opsPerSecond)],
    ['retries', String(report.retries)],
    ['dead letters', String(report.deadLetters)],
    ['propagation', `p50 ${report.propagation.p50} ms, p99 ${report.propagation.p99} ms (simulated)`],
    [
      'network',
      `${report.network.delivered} delivered, ${report.network.dropped} dropped, ${report.network.duplicated} duplicated, ${report.network.refused} refused`,
    ],
    ['crashes', String(report.crashes)],
    ['trace', `${report.traceEvents} events, digest ${report.digest?.slice(0, 16) ?? '-'}`],
  ];
  const width = Math.max(...rows.map(([key]) => key.length));
  const lines = rows.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`);
  if (report.error !== undefined) lines.push('', `error: ${report.error}`);
  for (const violation of report.violations.slice(0, 20))
    lines.push(`  ✗ ${violation.invariant}: ${violation.message}`);
  if (report.violations.length > 20) lines.push(`  … and ${report.violations.length - 20} more`);
  return lines.join('\n');
}
