/**
 * Workload B3 across tabs: propagation latency between two tabs (two pages of one browser
 * context, same origin), each with its own reactor and IndexedDB database, syncing in ping-pong
 * over `createBroadcastTransport`. Tab A writes single increments at a steady rate; latency is
 * from A's `mutate` resolving to B's view showing the op, on one clock (B's times are moved onto
 * A's clock by an offset measured NTP-style over a BroadcastChannel).
 *
 * Rates 10 and 100 ops/s, with the default `debounceMs` (5) and with 0. The first `B3_WARM_UP`
 * ops (default 20) of each run are left out. `B3_ROUNDS` (default 1) runs per row, pooled.
 */
import type { BrowserContext, Page } from 'playwright';
import { type Column, envInteger, formatNumber, formatTable, mean, now, progress, summarise, verdict } from '../lib.js';
import type { BenchBrowser } from './chromium.js';

const ROUNDS = envInteger('B3_ROUNDS', 1);
const WARM_UP = envInteger('B3_WARM_UP', 20);
/** Seconds of writing per run (after the warm-up). */
const SECONDS = envInteger('B3_SECONDS', 10);
const P50_TARGET_MS = 5;

interface Setting {
  readonly perSecond: number;
  readonly debounceMs: number;
}

const SETTINGS: readonly Setting[] = [
  { perSecond: 10, debounceMs: 0 },
  { perSecond: 100, debounceMs: 0 },
  { perSecond: 10, debounceMs: 5 },
  { perSecond: 100, debounceMs: 5 },
];

/** One run's latencies (ms) and the clock probe's uncertainty. */
interface Run {
  readonly fromResolved: number[];
  readonly fromCall: number[];
  /** A's own call → resolve time per op. */
  readonly mutate: number[];
  /** Ops B showed before A's call resolved. */
  readonly early: number;
  readonly uncertainty: number;
  readonly achievedPerSecond: number;
}

let runs = 0;

async function tab(harness: BenchBrowser, context: BrowserContext): Promise<Page> {
  return harness.open('tab.html', 'b3', context);
}

/** One run: two fresh tabs in a fresh context, A writes, B watches. */
async function runOnce(harness: BenchBrowser, setting: Setting): Promise<Run> {
  runs += 1;
  const context = await harness.browser.newContext();
  try {
    const [a, b] = [await tab(harness, context), await tab(harness, context)];
    const channelName = `b3-${runs}`;
    await a.evaluate((o) => window.b3!.open(o), {
      id: `tab-a-${runs}`,
      dbName: `b3-a-${runs}`,
      channelName,
      debounceMs: setting.debounceMs,
    });
    await b.evaluate((o) => window.b3!.open(o), {
      id: `tab-b-${runs}`,
      dbName: `b3-b-${runs}`,
      channelName,
      debounceMs: setting.debounceMs,
    });
    await Promise.all([
      a.evaluate((peer) => window.b3!.connectedTo(peer), `tab-b-${runs}`),
      b.evaluate((peer) => window.b3!.connectedTo(peer), `tab-a-${runs}`),
    ]);
    await a.evaluate(() => window.b3!.createDocument('doc'));
    await b.evaluate(() => window.b3!.shows('doc', 0));

    const count = WARM_UP + setting.perSecond * SECONDS;
    await b.evaluate((total) => window.b3!.watch('doc', total), count);
    const { offset, uncertainty } = await a.evaluate(() => window.b3!.clockOffset(50));
    const written = await a.evaluate((o) => window.b3!.writePaced(o), {
      documentId: 'doc',
      count,
      perSecond: setting.perSecond,
    });
    const seenAt = await b.evaluate(() => window.b3!.watched(30_000));
    await Promise.all([a.evaluate(() => window.b3!.close()), b.evaluate(() => window.b3!.close())]);

    const fromResolved: number[] = [];
    const fromCall: number[] = [];
    const mutate: number[] = [];
    let early = 0;
    for (let k = WARM_UP; k < count; k++) {
      const seen = (seenAt[k] as number) - offset;
      const resolved = written.resolvedAt[k] as number;
      // An op can show in B before A's call resolves; that counts as 0, not as negative time.
      if (seen < resolved) early += 1;
      fromResolved.push(Math.max(0, seen - resolved));
      fromCall.push(Math.max(0, seen - (written.calledAt[k] as number)));
      mutate.push(resolved - (written.calledAt[k] as number));
    }
    return { fromResolved, fromCall, mutate, early, uncertainty, achievedPerSecond: count / written.seconds };
  } finally {
    await context.close();
  }
}

interface Row {
  readonly scenario: string;
  readonly ops: number;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
  readonly p50FromCall: number;
  readonly mutateP50: number;
  readonly early: number;
  readonly target?: string;
  readonly met?: boolean;
}

const columns: readonly Column<Row>[] = [
  { header: 'scenario', cell: (row) => row.scenario },
  { header: 'ops', cell: (row) => formatNumber(row.ops), align: 'right' },
  { header: 'ops/s achieved', cell: (row) => formatNumber(row.rate, 1), align: 'right' },
  { header: 'p50 ms', cell: (row) => formatNumber(row.p50, 2), align: 'right' },
  { header: 'p99 ms', cell: (row) => formatNumber(row.p99, 2), align: 'right' },
  { header: 'mean ms', cell: (row) => formatNumber(row.mean, 2), align: 'right' },
  { header: 'max ms', cell: (row) => formatNumber(row.max, 2), align: 'right' },
  { header: 'p50 from call', cell: (row) => formatNumber(row.p50FromCall, 2), align: 'right' },
  { header: 'A mutate p50', cell: (row) => formatNumber(row.mutateP50, 2), align: 'right' },
  { header: 'seen early', cell: (row) => formatNumber(row.early), align: 'right' },
  { header: 'target', cell: (row) => row.target ?? '' },
  { header: 'result', cell: (row) => verdict(row.met) },
];

/** Runs B3 across tabs and prints its table; resolves with the number of targets missed. */
export async function runB3Tabs(harness: BenchBrowser): Promise<number> {
  const started = now();
  const rows: Row[] = [];
  const uncertainties: number[] = [];
  for (const setting of SETTINGS) {
    const pooled: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const label = `${setting.perSecond} ops/s, debounceMs ${setting.debounceMs}`;
      progress(`B3 tabs round ${round}/${ROUNDS}: ${label} (${SECONDS} s)`);
      const run = await runOnce(harness, setting);
      pooled.push(run);
      uncertainties.push(run.uncertainty);
      progress(
        `B3 tabs round ${round}/${ROUNDS}: ${label}: p50 ${formatNumber(summarise(run.fromResolved).p50, 2)} ms`,
      );
    }
    const fromResolved = pooled.flatMap((run) => run.fromResolved);
    const { p50, p99, max } = summarise(fromResolved);
    const targeted = setting.debounceMs === 0;
    rows.push({
      scenario: `ping-pong, ${setting.perSecond} ops/s, debounceMs ${setting.debounceMs}${setting.debounceMs === 5 ? ' (default)' : ''}`,
      ops: fromResolved.length,
      rate: mean(pooled.map((run) => run.achievedPerSecond)),
      p50,
      p99,
      mean: mean(fromResolved),
      max,
      p50FromCall: summarise(pooled.flatMap((run) => run.fromCall)).p50,
      mutateP50: summarise(pooled.flatMap((run) => run.mutate)).p50,
      early: pooled.reduce((sum, run) => sum + run.early, 0),
      ...(targeted ? { target: `p50 < ${P50_TARGET_MS} ms`, met: p50 < P50_TARGET_MS } : { target: '(reference)' }),
    });
  }

  console.log('');
  console.log(
    `B3 across tabs — two pages of one Chromium context, each its own reactor and IndexedDB database, ping-pong over ` +
      `BroadcastChannel; latency = A's mutate resolved → B's view shows the op; ${WARM_UP} warm-up ops per run left out`,
  );
  console.log(formatTable(columns, rows));
  console.log(
    `"p50 from call" is from calling mutate on A; "A mutate p50" is A's own call → resolve; "seen early" counts ops B showed before A's call resolved (counted as 0 ms). Tab clocks aligned to ±${formatNumber(Math.max(...uncertainties), 2)} ms ` +
      `(half the shortest BroadcastChannel round trip of 50 probes). B3 tabs time ${((now() - started) / 1000).toFixed(1)} s.`,
  );
  return rows.filter((row) => row.met === false).length;
}
