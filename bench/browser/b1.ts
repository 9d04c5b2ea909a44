/**
 * Workload B1 in Chromium: the Node B1 workload (`bench/b1.ts`) on the browser's real IndexedDB,
 * beside raw IndexedDB measured in the same page and run. Run with `npm run bench:browser`.
 *
 * 1. Baseline: raw IndexedDB, 10,000 puts of operation-shaped rows (the reactor's table and
 *    indexes), one awaited transaction per 100 puts, default durability; the same with
 *    `durability: 'relaxed'` and `'strict'` for reference.
 * 2. Raw IndexedDB, one awaited transaction per put.
 * 3. Reactor, one document: 10,000 single-action mutations submitted without awaiting each.
 * 4. Reactor, 100 documents: the same, round-robin over 100 documents.
 * 5. Sequential: 1,000 awaited mutations into a log of 1,000 ops and one of `B1_LARGE_LOG`
 *    (alternating blocks of 100).
 * 6. Diagnostic: scenario 3 with every read-write transaction in the page forced to `relaxed`.
 *
 * Every scenario runs `B1_ROUNDS` times (default 3), interleaved; throughput is the median over
 * rounds, latency percentiles pool every round. "rw tx" counts the read-write IndexedDB
 * transactions a scenario opened while timed (median over rounds).
 */
import type { Page } from 'playwright';
import {
  type Column,
  envInteger,
  formatNumber,
  formatTable,
  median,
  now,
  opsPerSecond,
  progress,
  type RateRow,
  rateRow,
  verdict,
  withRatio,
} from '../lib.js';
import type { PageSample } from './b1.page.js';
import type { BenchBrowser } from './chromium.js';

const ROUNDS = envInteger('B1_ROUNDS', 3);
const BURST_OPS = 10_000;
const BATCH = 100;
const SINGLE_PUTS = envInteger('B1_SINGLE_PUTS', 2_000);
const WARM_UP = 500;
const DOCUMENTS = 100;
const SEQUENTIAL_OPS = 1_000;
const SMALL_LOG = 1_000;
const LARGE_LOG = envInteger('B1_LARGE_LOG', 100_000);

/** Burst throughput relative to raw batched puts. */
const BURST_TARGET = 0.6;
/** Sequential rate at the large log relative to the small one. */
const FLAT_TARGET = 0.8;

interface Row extends RateRow {
  readonly transactions?: number;
}

function rowOf(scenario: string, ops: number, samples: readonly PageSample[]): Row {
  return { ...rateRow(scenario, ops, samples), transactions: median(samples.map((sample) => sample.transactions)) };
}

function ratioTo(row: Row, of: Row, label: string, target?: number): Row {
  return withRatio(row, row.opsPerSec / of.opsPerSec, label, target);
}

const columns: readonly Column<Row>[] = [
  { header: 'scenario', cell: (row) => row.scenario },
  { header: 'ops', cell: (row) => formatNumber(row.ops), align: 'right' },
  { header: 'ops/s (median)', cell: (row) => formatNumber(row.opsPerSec), align: 'right' },
  {
    header: 'ops/s min–max',
    cell: (row) => (row.range === undefined ? '' : `${formatNumber(row.range[0])}–${formatNumber(row.range[1])}`),
    align: 'right',
  },
  { header: 'p50 ms', cell: (row) => formatNumber(row.p50, 2), align: 'right' },
  { header: 'p99 ms', cell: (row) => formatNumber(row.p99, 2), align: 'right' },
  { header: 'rw tx', cell: (row) => formatNumber(row.transactions), align: 'right' },
  { header: 'ratio', cell: (row) => row.ratio ?? '', align: 'right' },
  { header: 'target', cell: (row) => row.target ?? '' },
  { header: 'result', cell: (row) => verdict(row.met) },
];

type Scenario = 'batched' | 'relaxed' | 'strict' | 'single' | 'one' | 'many' | 'forced' | 'small' | 'large';

/** Runs B1 in `page` (bench/browser/index.html) and prints its table; resolves with the targets missed. */
export async function runB1(page: Page, browser: BenchBrowser): Promise<number> {
  const started = now();
  const samples = Object.fromEntries(
    (['batched', 'relaxed', 'strict', 'single', 'one', 'many', 'forced', 'small', 'large'] as const).map((key) => [
      key,
      [] as PageSample[],
    ]),
  ) as Record<Scenario, PageSample[]>;
  const run = async (tag: string, key: Scenario, name: string, ops: number, scenario: () => Promise<PageSample>) => {
    progress(`${tag}: ${name}`);
    const sample = await scenario();
    samples[key].push(sample);
    progress(`${tag}: ${name}: ${formatNumber(opsPerSecond(ops, sample.ms))} ops/s`);
  };
  const raw = (batch: number, ops: number, durability?: IDBTransactionDurability) => () =>
    page.evaluate((options) => window.b1!.rawPuts(options), {
      ops,
      batch,
      warmUp: WARM_UP,
      ...(durability === undefined ? {} : { durability }),
    });
  const reactor = (documents: number, forceDurability?: IDBTransactionDurability) => () =>
    page.evaluate((options) => window.b1!.reactorBurst(options), {
      documents,
      ops: BURST_OPS,
      warmUp: WARM_UP,
      ...(forceDurability === undefined ? {} : { forceDurability }),
    });

  for (let round = 1; round <= ROUNDS; round++) {
    const tag = `B1 Chromium round ${round}/${ROUNDS}`;
    await run(tag, 'batched', '1. raw IndexedDB, batches of 100', BURST_OPS, raw(BATCH, BURST_OPS));
    await run(tag, 'relaxed', "1. raw, batches of 100, 'relaxed'", BURST_OPS, raw(BATCH, BURST_OPS, 'relaxed'));
    await run(tag, 'strict', "1. raw, batches of 100, 'strict'", BURST_OPS, raw(BATCH, BURST_OPS, 'strict'));
    await run(tag, 'single', '2. raw IndexedDB, one put per transaction', SINGLE_PUTS, raw(1, SINGLE_PUTS));
    await run(tag, 'one', '3. reactor burst, 1 document', BURST_OPS, reactor(1));
    await run(tag, 'many', `4. reactor burst, ${DOCUMENTS} documents`, BURST_OPS, reactor(DOCUMENTS));
    await run(tag, 'forced', "6. reactor burst, 1 document, forced 'relaxed'", BURST_OPS, reactor(1, 'relaxed'));
    progress(`${tag}: 5. sequential, logs of ${formatNumber(SMALL_LOG)} and ${formatNumber(LARGE_LOG)} (interleaved)`);
    const pair = await page.evaluate((options) => window.b1!.sequentialPair(options), {
      smallLog: SMALL_LOG,
      largeLog: LARGE_LOG,
      ops: SEQUENTIAL_OPS,
      block: 100,
      warmUp: WARM_UP,
    });
    samples.small.push(pair.small);
    samples.large.push(pair.large);
    const rate = (sample: PageSample) => formatNumber(opsPerSecond(SEQUENTIAL_OPS, sample.ms));
    progress(`${tag}: 5. sequential: ${rate(pair.small)} ops/s at ${SMALL_LOG}, ${rate(pair.large)} at ${LARGE_LOG}`);
  }

  const base = rowOf(
    `1. raw IndexedDB, ${BURST_OPS / BATCH} tx × ${BATCH} puts (latency per tx)`,
    BURST_OPS,
    samples.batched,
  );
  const relaxed = rowOf("1r. the same, durability 'relaxed'", BURST_OPS, samples.relaxed);
  const single = rowOf('2. raw IndexedDB, one transaction per put', SINGLE_PUTS, samples.single);
  const small = rowOf(`5. sequential, log of ${formatNumber(SMALL_LOG)} ops`, SEQUENTIAL_OPS, samples.small);
  const rows: Row[] = [
    base,
    ratioTo(relaxed, base, '1.'),
    ratioTo(rowOf("1s. the same, durability 'strict'", BURST_OPS, samples.strict), base, '1.'),
    ratioTo(single, base, '1.'),
    ratioTo(rowOf('3. reactor burst, 1 document', BURST_OPS, samples.one), base, '1.', BURST_TARGET),
    ratioTo(rowOf(`4. reactor burst, ${DOCUMENTS} documents`, BURST_OPS, samples.many), base, '1.', BURST_TARGET),
    ratioTo(small, single, '2.'),
    ratioTo(
      rowOf(`5. sequential, log of ${formatNumber(LARGE_LOG)} ops`, SEQUENTIAL_OPS, samples.large),
      small,
      '5. (1k)',
      FLAT_TARGET,
    ),
    ratioTo(rowOf("6. diagnostic: 3. with rw tx forced 'relaxed'", BURST_OPS, samples.forced), relaxed, '1r.'),
  ];

  const version = browser.browser.version();
  console.log('');
  console.log(
    `B1 in Chromium ${version} (headless, real IndexedDB), ${ROUNDS} round(s) per scenario; ` +
      'latency = submit → resolve of each call; rw tx = read-write transactions opened while timed',
  );
  console.log(formatTable(columns, rows));
  const missed = rows.filter((row) => row.met === false).length;
  console.log(
    `${missed === 0 ? 'All targets met' : `${missed} target(s) not met`}. ` +
      `B1 Chromium time ${((now() - started) / 1000).toFixed(1)} s.`,
  );
  return missed;
}
