/**
 * Shared helpers for the benchmark workloads in `bench/`: timing, percentiles, progress lines and
 * a plain-text table. No dependencies beyond Node.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export const now = (): number => performance.now();

let gc: (() => void) | undefined;

/**
 * Runs a full garbage collection, so one scenario's garbage is not collected on the next one's
 * clock. Works without `--expose-gc` on the command line.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** The `p`-th percentile (0–100) of `values` by nearest rank; `NaN` for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** The median of `values` (mean of the middle two for an even count); `NaN` for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Latency summary of a list of durations in milliseconds. */
export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Summarises durations (ms) as p50, p99 and max. */
export function summarise(durations: readonly number[]): LatencySummary {
  return {
    p50: percentile(durations, 50),
    p99: percentile(durations, 99),
    max: durations.length === 0 ? Number.NaN : Math.max(...durations),
  };
}

/** Operations per second for `count` operations in `ms` milliseconds. */
export function opsPerSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.POSITIVE_INFINITY;
}

/** Runs `fn` and returns its result with the wall time it took (ms). */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = now();
  const result = await fn();
  return { result, ms: now() - start };
}

/**
 * Awaits every promise and records, for each, the time from `submittedAt[i]` to its own
 * resolution. Rejections propagate (after all have settled) so a failing run is never reported
 * as a fast one.
 */
export async function settleWithLatency(
  promises: readonly Promise<unknown>[],
  submittedAt: readonly number[],
): Promise<number[]> {
  const latencies = new Array<number>(promises.length).fill(Number.NaN);
  const settled = await Promise.allSettled(
    promises.map((promise, i) =>
      promise.then(() => {
        latencies[i] = now() - (submittedAt[i] as number);
      }),
    ),
  );
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return latencies;
}

/** A positive integer from an environment variable, or `fallback` when unset; throws on junk. */
export function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** A progress line on stderr, so stdout holds only the results. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Formats a number for a table: thousands separators, `digits` decimals. */
export function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (!Number.isFinite(value)) return '∞';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Formats a ratio as a percentage. */
export function formatPercent(ratio: number | undefined, digits = 1): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '–';
  return `${(ratio * 100).toFixed(digits)}%`;
}

/** A table column: its header, how to read a cell, and its alignment (numbers go right). */
export interface Column<Row> {
  readonly header: string;
  readonly cell: (row: Row) => string;
  readonly align?: 'left' | 'right';
}

/** Renders rows as a boxed plain-text table (width-aware, no colours). */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => (line[i] as string).length)),
  );
  const pad = (text: string, i: number, align: 'left' | 'right') => {
    const width = widths[i] as number;
    return align === 'right' ? text.padStart(width) : text.padEnd(width);
  };
  const rule = (left: string, mid: string, right: string) =>
    `${left}${widths.map((width) => '─'.repeat(width + 2)).join(mid)}${right}`;
  const line = (values: readonly string[], aligns: readonly ('left' | 'right')[]) =>
    `│ ${values.map((value, i) => pad(value, i, aligns[i] ?? 'left')).join(' │ ')} │`;
  const aligns = columns.map((column) => column.align ?? 'left');
  return [
    rule('┌', '┬', '┐'),
    line(
      columns.map((column) => column.header),
      columns.map(() => 'left'),
    ),
    rule('├', '┼', '┤'),
    ...cells.map((values) => line(values, aligns)),
    rule('└', '┴', '┘'),
  ].join('\n');
}

/** Whether a target was met, as a table cell. */
export function verdict(met: boolean | undefined): string {
  if (met === undefined) return '';
  return met ? 'met' : 'NOT MET';
}

/** The arithmetic mean of `values`; `NaN` for an empty list. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

/**
 * Resolves or rejects with `promise`, or rejects after `ms` with `describe()` in the message, so a
 * stalled scenario fails loudly instead of hanging the run.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${describe()}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Awaits every promise; a rejection propagates once all have settled. */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** One timed round of a throughput scenario: its duration and the latency of each call. */
export interface RateSample {
  readonly ms: number;
  readonly latencies: readonly number[];
}

/** A line of a throughput table: median rate over rounds, min–max, latency, and a ratio to a baseline. */
export interface RateRow {
  readonly scenario: string;
  readonly ops?: number;
  readonly opsPerSec: number;
  readonly range?: readonly [number, number];
  readonly p50?: number;
  readonly p99?: number;
  readonly ratio?: string;
  readonly target?: string;
  readonly met?: boolean;
}

/** The row of `ops` operations timed in several rounds. */
export function rateRow(scenario: string, ops: number, samples: readonly RateSample[]): RateRow {
  const rates = samples.map((sample) => opsPerSecond(ops, sample.ms));
  const { p50, p99 } = summarise(samples.flatMap((sample) => sample.latencies));
  return { scenario, ops, opsPerSec: median(rates), range: [Math.min(...rates), Math.max(...rates)], p50, p99 };
}

/** `row` with its rate as a share of a baseline's (`of` names it), and a target when given. */
export function withRatio<Row extends RateRow>(row: Row, ratio: number, of: string, target?: number): Row {
  return {
    ...row,
    ratio: `${formatPercent(ratio)} of ${of}`,
    ...(target === undefined ? {} : { target: `≥ ${formatPercent(target, 0)} of ${of}`, met: ratio >= target }),
  };
}
