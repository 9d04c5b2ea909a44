/**
 * Workload B1: write throughput and latency of local mutations, against raw Dexie on the same
 * table shape, all on fake-indexeddb in Node. Run with `npm run bench`.
 *
 * 1. Baseline: raw Dexie `bulkAdd` of 10,000 operation rows in awaited batches of 100.
 * 2. Reactor, one document: 10,000 single-action mutations submitted without awaiting each.
 * 3. Reactor, 100 documents: the same, round-robin over 100 documents.
 * 4. Sequential: 1,000 awaited mutations into a document whose log holds 1,000 ops, and 100,000
 *    (both reactors open at once, timed in alternating blocks of 100).
 * 5. State protection: what checking and freezing every reducer's result costs (the reactor folds
 *    through `applyOperation`, which seals each new state), against calling the same reducers
 *    bare, for a counter and for a list that grows to 1,000 items; and that cost as a share of an
 *    op's time in scenario 2.
 *
 * Every scenario runs `B1_ROUNDS` times (default 3), interleaved, each on a fresh `IDBFactory`,
 * so a burst of load from elsewhere on the machine hits every scenario alike. Throughput is the
 * median over rounds; latency percentiles pool every round's samples.
 */
import { Dexie, type EntityTable } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { type AnyDocumentModel, createReactor, defineDocumentModel, encodeHlc, type Reactor } from '../src/index.js';
import { applyOperation } from '../src/model/fold.js';
import type { BaselineRow } from './browser/rawIndexedDb.js';
import {
  type Column,
  collectGarbage,
  envInteger,
  formatNumber,
  formatTable,
  now,
  opsPerSecond,
  progress,
  type RateRow,
  type RateSample,
  rateRow,
  settleWithLatency,
  verdict,
  withRatio,
} from './lib.js';

const ROUNDS = envInteger('B1_ROUNDS', 3);
const BURST_OPS = 10_000;
const BASELINE_BATCH = 100;
const WARM_UP_OPS = 500;
const DOCUMENTS = 100;
const SEQUENTIAL_OPS = 1_000;
const SMALL_LOG = 1_000;
const LARGE_LOG = envInteger('B1_LARGE_LOG', 100_000);
const PREFILL_CHUNK = 10_000;
/** Sequential mutations timed in one go before switching to the other log size. */
const SEQUENTIAL_BLOCK = 100;

/** Burst throughput relative to raw Dexie. */
const BASELINE_TARGET = 0.5;
/** Sequential rate at the large log relative to the small one. */
const FLAT_TARGET = 0.8;

/** Quoted, not measured here: Powerhouse reactor (npm 6.2.2), sequential ops/s by log size. */
const POWERHOUSE = [
  { logSize: 1_000, opsPerSec: 36 },
  { logSize: 5_000, opsPerSec: 14 },
] as const;

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { INCREMENT: (s: { count: number }, input: { by: number }) => ({ count: s.count + input.by }) },
});

const INCREMENT = [{ type: 'INCREMENT', input: { by: 1 } }] as const;

/** A list of items, the state size growing with every op (scenario 5). */
const todo = defineDocumentModel({
  type: 'todo',
  initialState: () => ({ items: [] as { id: number; text: string; done: boolean }[] }),
  reducers: {
    ADD: (s: { items: { id: number; text: string; done: boolean }[] }, input: { id: number; text: string }) => ({
      items: [...s.items, { id: input.id, text: input.text, done: false }],
    }),
  },
});
const PROTECTION_OPS = 20_000;
const LIST_LENGTH = 1_000;

/** One timed run of a scenario: its wall time and each call's (or batch's) latency. */
type Sample = RateSample;

let databases = 0;
function freshStorage(label: string) {
  databases += 1;
  return { dbName: `b1-${databases}-${label}`, indexedDB: new IDBFactory(), IDBKeyRange };
}

function expectCount(reactor: Reactor, documentId: string, expected: number): void {
  const state = reactor.documents.get(documentId)?.state as { count: number } | undefined;
  if (state?.count !== expected) {
    throw new Error(`document ${documentId}: expected count ${expected}, got ${JSON.stringify(state)}`);
  }
}

/** After `stop()`: every op is stored and no job is left in the persistent queue. */
async function expectStored(storage: ReturnType<typeof freshStorage>, operations: number): Promise<void> {
  const db = new Dexie(storage.dbName, { indexedDB: storage.indexedDB, IDBKeyRange: storage.IDBKeyRange });
  await db.open();
  const [stored, jobs] = await Promise.all([db.table('operations').count(), db.table('jobLog').count()]);
  db.close();
  if (stored !== operations || jobs !== 0) {
    throw new Error(`${storage.dbName}: expected ${operations} ops and no jobs, found ${stored} ops and ${jobs} jobs`);
  }
}

/** Submits `count` mutations without awaiting each; resolves with each one's submit→resolve latency. */
async function burst(reactor: Reactor, count: number, documentFor: (i: number) => string): Promise<number[]> {
  const promises: Promise<unknown>[] = new Array(count);
  const submittedAt: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    submittedAt[i] = now();
    promises[i] = reactor.mutate(documentFor(i), INCREMENT);
  }
  return settleWithLatency(promises, submittedAt);
}

class BaselineDatabase extends Dexie {
  operations!: EntityTable<BaselineRow, 'ordinal'>;
  constructor(storage: ReturnType<typeof freshStorage>) {
    super(storage.dbName, { indexedDB: storage.indexedDB, IDBKeyRange: storage.IDBKeyRange });
    this.version(1).stores({ operations: 'ordinal, &id, [stream+timestamp+id]' });
  }
}

function baselineRows(from: number, count: number): BaselineRow[] {
  const documentId = 'doc-1';
  const stream = JSON.stringify([documentId, 'global', 'main']);
  const rows: BaselineRow[] = [];
  for (let i = from; i < from + count; i++) {
    rows.push({
      ordinal: i + 1,
      id: `op${i.toString(36).padStart(14, '0')}`,
      stream,
      documentId,
      scope: 'global',
      branch: 'main',
      type: 'INCREMENT',
      input: { by: 1 },
      timestamp: encodeHlc({ wall: 1_700_000_000_000, logical: i }, 'baseline'),
      origin: 'baseline',
    });
  }
  return rows;
}

async function baseline(): Promise<Sample> {
  const db = new BaselineDatabase(freshStorage('baseline'));
  await db.open();
  const warmUp = baselineRows(0, WARM_UP_OPS);
  for (let i = 0; i < warmUp.length; i += BASELINE_BATCH) {
    await db.operations.bulkAdd(warmUp.slice(i, i + BASELINE_BATCH));
  }
  const batches: BaselineRow[][] = [];
  for (let i = 0; i < BURST_OPS; i += BASELINE_BATCH) batches.push(baselineRows(WARM_UP_OPS + i, BASELINE_BATCH));

  const latencies: number[] = [];
  collectGarbage();
  const start = now();
  for (const batch of batches) {
    const batchStart = now();
    await db.operations.bulkAdd(batch);
    latencies.push(now() - batchStart);
  }
  const ms = now() - start;

  const stored = await db.operations.count();
  db.close();
  if (stored !== WARM_UP_OPS + BURST_OPS) throw new Error(`baseline stored ${stored} rows`);
  return { ms, latencies };
}

async function burstScenario(documents: number): Promise<Sample> {
  const storage = freshStorage(`burst-${documents}`);
  const reactor = await createReactor({ models: [counter], storage });
  const ids = Array.from({ length: documents }, (_, i) => `doc-${i}`);
  await Promise.all(ids.map((id) => reactor.createDocument('counter', { id })));
  const documentFor = (i: number) => ids[i % documents] as string;
  await burst(reactor, WARM_UP_OPS, documentFor);

  collectGarbage();
  const start = now();
  const latencies = await burst(reactor, BURST_OPS, documentFor);
  const ms = now() - start;

  const share = (n: number, d: number) => Math.floor(n / documents) + (d < n % documents ? 1 : 0);
  ids.forEach((id, d) => {
    expectCount(reactor, id, share(WARM_UP_OPS, d) + share(BURST_OPS, d));
  });
  await reactor.stop();
  await expectStored(storage, documents + WARM_UP_OPS + BURST_OPS);
  return { ms, latencies };
}

/** Fills a document's log to `size` ops with un-awaited bursts, one chunk at a time. */
async function prefill(reactor: Reactor, documentId: string, size: number, label: string): Promise<void> {
  const started = now();
  for (let done = 0; done < size; ) {
    const chunk = Math.min(PREFILL_CHUNK, size - done);
    await burst(reactor, chunk, () => documentId);
    done += chunk;
    if (size > PREFILL_CHUNK) {
      const seconds = ((now() - started) / 1000).toFixed(1);
      progress(`  ${label} prefill ${formatNumber(done)}/${formatNumber(size)} ops (${seconds} s)`);
    }
  }
}

/** A reactor holding one document `doc` with a log of `logSize` ops, warmed up on another document. */
async function prefilledReactor(logSize: number, label: string): Promise<Reactor> {
  const reactor = await createReactor({ models: [counter], storage: freshStorage(`seq-${logSize}`) });
  await reactor.createDocument('counter', { id: 'doc' });
  await reactor.createDocument('counter', { id: 'warm' });
  await prefill(reactor, 'doc', logSize, label);
  // The sequential path (one job per run) is warmed on another document, leaving `doc` as filled.
  for (let i = 0; i < WARM_UP_OPS; i++) await reactor.mutate('warm', INCREMENT);
  return reactor;
}

/**
 * Sequential, awaited mutations into a small log and a large one, timed in alternating blocks so
 * both see the same process state (JIT, heap size, load from elsewhere): the ratio then measures
 * the log size, not which one happened to run during a noisy second.
 */
async function sequentialPair(label: string): Promise<{ small: Sample; large: Sample }> {
  const reactors = [await prefilledReactor(SMALL_LOG, label), await prefilledReactor(LARGE_LOG, label)] as const;
  const ms = [0, 0];
  const latencies: [number[], number[]] = [[], []];
  collectGarbage();
  for (let block = 0; block < SEQUENTIAL_OPS / SEQUENTIAL_BLOCK; block++) {
    const order = block % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const reactor = reactors[which] as Reactor;
      const start = now();
      for (let i = 0; i < SEQUENTIAL_BLOCK; i++) {
        const submitted = now();
        await reactor.mutate('doc', INCREMENT);
        latencies[which]?.push(now() - submitted);
      }
      ms[which] = (ms[which] as number) + now() - start;
    }
  }
  expectCount(reactors[0], 'doc', SMALL_LOG + SEQUENTIAL_OPS);
  expectCount(reactors[1], 'doc', LARGE_LOG + SEQUENTIAL_OPS);
  await Promise.all(reactors.map((reactor) => reactor.stop()));
  return {
    small: { ms: ms[0] as number, latencies: latencies[0] },
    large: { ms: ms[1] as number, latencies: latencies[1] },
  };
}

/** One fold of scenario 5: `ops` reducer calls, sealed (as the reactor does) or bare. */
function foldTime(model: 'counter' | 'todo', sealed: boolean): number {
  const definition: AnyDocumentModel = model === 'counter' ? counter : todo;
  const type = model === 'counter' ? 'INCREMENT' : 'ADD';
  const reducer = definition.reducers[type] as (s: unknown, i: unknown) => unknown;
  const inputs = Array.from({ length: PROTECTION_OPS }, (_, i) =>
    Object.freeze(model === 'counter' ? { by: 1 } : { id: i, text: `item ${i}` }),
  );
  collectGarbage();
  const start = now();
  let state = definition.initialState() as unknown;
  for (let i = 0; i < PROTECTION_OPS; i++) {
    // The list restarts every LIST_LENGTH items, so its state stays between 0 and 1,000 items.
    if (model === 'todo' && i % LIST_LENGTH === 0) state = definition.initialState();
    state = sealed ? applyOperation(definition, state, { type, input: inputs[i] }).state : reducer(state, inputs[i]);
  }
  return now() - start;
}

/** Scenario 5: median fold times, sealed and bare, interleaved over rounds. */
function protection(): { model: string; bare: number; sealed: number }[] {
  return (['counter', 'todo'] as const).map((model) => {
    const bare: number[] = [];
    const sealed: number[] = [];
    foldTime(model, true);
    for (let round = 0; round < ROUNDS + 2; round++) {
      bare.push(foldTime(model, false));
      sealed.push(foldTime(model, true));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    return { model, bare: median(bare), sealed: median(sealed) };
  });
}

type Row = RateRow;

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
  { header: 'ratio', cell: (row) => row.ratio ?? '', align: 'right' },
  { header: 'target', cell: (row) => row.target ?? '' },
  { header: 'result', cell: (row) => verdict(row.met) },
];

async function main(): Promise<void> {
  const started = now();
  const samples: Record<'baseline' | 'one' | 'many' | 'small' | 'large', Sample[]> = {
    baseline: [],
    one: [],
    many: [],
    small: [],
    large: [],
  };
  const run = async (tag: string, name: string, ops: number, scenario: () => Promise<Sample>, into: Sample[]) => {
    progress(`${tag}: ${name}`);
    const sample = await scenario();
    into.push(sample);
    progress(`${tag}: ${name}: ${formatNumber(opsPerSecond(ops, sample.ms))} ops/s`);
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const tag = `round ${round}/${ROUNDS}`;
    await run(tag, '1. raw Dexie bulkAdd', BURST_OPS, baseline, samples.baseline);
    await run(tag, '2. reactor burst, 1 document', BURST_OPS, () => burstScenario(1), samples.one);
    await run(tag, `3. reactor burst, ${DOCUMENTS} documents`, BURST_OPS, () => burstScenario(DOCUMENTS), samples.many);
    progress(`${tag}: 4. sequential, logs of ${formatNumber(SMALL_LOG)} and ${formatNumber(LARGE_LOG)} (interleaved)`);
    const pair = await sequentialPair(tag);
    samples.small.push(pair.small);
    samples.large.push(pair.large);
    const rate = (sample: Sample) => formatNumber(opsPerSecond(SEQUENTIAL_OPS, sample.ms));
    progress(
      `${tag}: 4. sequential: ${rate(pair.small)} ops/s at ${formatNumber(SMALL_LOG)}, ${rate(pair.large)} at ${formatNumber(LARGE_LOG)}`,
    );
  }

  const base = rateRow(
    `1. raw Dexie bulkAdd ${BURST_OPS / BASELINE_BATCH}×${BASELINE_BATCH} (latency per batch)`,
    BURST_OPS,
    samples.baseline,
  );
  const burstRow = (label: string, runs: readonly Sample[]) => {
    const row = rateRow(label, BURST_OPS, runs);
    return withRatio(row, row.opsPerSec / base.opsPerSec, '1.', BASELINE_TARGET);
  };
  const small = rateRow(`4. sequential, log of ${formatNumber(SMALL_LOG)} ops`, SEQUENTIAL_OPS, samples.small);
  const largeRow = rateRow(`4. sequential, log of ${formatNumber(LARGE_LOG)} ops`, SEQUENTIAL_OPS, samples.large);
  const rows: Row[] = [
    base,
    burstRow('2. reactor burst, 1 document', samples.one),
    burstRow(`3. reactor burst, ${DOCUMENTS} documents`, samples.many),
    small,
    withRatio(largeRow, largeRow.opsPerSec / small.opsPerSec, '1k', FLAT_TARGET),
    ...POWERHOUSE.map(
      (ref): Row => ({
        scenario: `ref: Powerhouse 6.2.2, sequential, ${formatNumber(ref.logSize)} ops (quoted)`,
        opsPerSec: ref.opsPerSec,
      }),
    ),
  ];

  console.log('');
  console.log(
    `B1 — local writes on fake-indexeddb, Node ${process.version}, ${ROUNDS} round(s) per scenario; ` +
      'latency = submit → resolve of each call',
  );
  console.log(formatTable(columns, rows));
  const reference = POWERHOUSE.map((ref) => `~${ref.opsPerSec} ops/s at ${formatNumber(ref.logSize)} ops`).join(
    ' and ',
  );
  console.log(
    `Reference, quoted and not measured here: the Powerhouse reactor (npm 6.2.2) managed ${reference} ` +
      'sequentially on this kind of machine.',
  );
  progress('5. state protection: sealed vs bare folds');
  const burstOne = rows[1] as Row;
  const usPerBurstOp = 1e6 / burstOne.opsPerSec;
  const protectionRows = protection().map((row) => {
    const overheadUs = ((row.sealed - row.bare) * 1000) / PROTECTION_OPS;
    return [
      row.model === 'counter' ? 'counter { count }' : `list of up to ${formatNumber(LIST_LENGTH)} items`,
      formatNumber(opsPerSecond(PROTECTION_OPS, row.bare)),
      formatNumber(opsPerSecond(PROTECTION_OPS, row.sealed)),
      `${formatNumber(overheadUs, 2)} µs`,
      `${formatNumber((100 * overheadUs) / usPerBurstOp, 1)}% of a scenario-2 op (${formatNumber(usPerBurstOp, 1)} µs)`,
    ];
  });
  console.log('');
  console.log(
    `5. State protection: ${formatNumber(PROTECTION_OPS)} reducer calls, bare vs checked and frozen (applyOperation); ` +
      "the reactor runs a local op's reducer twice (executor and view)",
  );
  console.log(
    formatTable(
      [
        { header: 'state', cell: (row: string[]) => row[0] as string },
        { header: 'bare calls/s', cell: (row: string[]) => row[1] as string, align: 'right' },
        { header: 'sealed calls/s', cell: (row: string[]) => row[2] as string, align: 'right' },
        { header: 'cost per call', cell: (row: string[]) => row[3] as string, align: 'right' },
        { header: 'share', cell: (row: string[]) => row[4] as string },
      ],
      protectionRows,
    ),
  );
  const missed = rows.filter((row) => row.met === false).length;
  console.log(
    `${missed === 0 ? 'All targets met' : `${missed} target(s) not met`}. ` +
      `Total bench time ${((now() - started) / 1000).toFixed(1)} s.`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
