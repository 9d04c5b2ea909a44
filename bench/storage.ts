/**
 * Storage backends compared on the same reactor workloads: Dexie on fake-indexeddb (the baseline,
 * measured in the same run) against SQLite through better-sqlite3 in a file, WAL journal, with
 * `synchronous = FULL` (the switchboard's setting: every commit fsynced) and `NORMAL`. Run with
 * `npm run bench:storage`.
 *
 * 1. Burst: 10,000 single-action mutations into one document, submitted without awaiting each.
 * 2. Sequential: 1,000 awaited mutations into a document whose log holds 1,000 ops.
 * 3. Load (sync receive): 20,000 ops of 20 documents made elsewhere, `load()`ed in pages of 2,000
 *    as a pull delivers them (dedupe on, as for every received op).
 *
 * Every scenario runs `STORAGE_ROUNDS` times (default 3), interleaved over backends, each on fresh
 * storage (a new `IDBFactory`, a new file in `STORAGE_BENCH_DIR`, default the OS temp folder).
 * Throughput is the median over rounds; latency percentiles pool every round's samples.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import {
  CREATE_DOCUMENT,
  createReactor,
  defineDocumentModel,
  encodeHlc,
  type OperationContent,
  type OperationEnvelope,
  operationId,
  type Reactor,
  type StorageOptions,
} from '../src/index.js';
import { createSqliteStorage } from '../src/sqlite.js';
import {
  type Column,
  collectGarbage,
  envInteger,
  formatNumber,
  formatPercent,
  formatTable,
  median,
  now,
  opsPerSecond,
  progress,
  settleWithLatency,
  summarise,
} from './lib.js';

const ROUNDS = envInteger('STORAGE_ROUNDS', 3);
const BURST_OPS = 10_000;
const WARM_UP_OPS = 500;
const SEQUENTIAL_OPS = 1_000;
const SEQUENTIAL_LOG = 1_000;
const LOAD_DOCS = 20;
const LOAD_OPS = envInteger('STORAGE_LOAD_OPS', 20_000);
const LOAD_PAGE = 2_000;

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { INCREMENT: (s: { count: number }, input: { by: number }) => ({ count: s.count + input.by }) },
});
const INCREMENT = [{ type: 'INCREMENT', input: { by: 1 } }] as const;

const folder = mkdtempSync(join(process.env.STORAGE_BENCH_DIR ?? tmpdir(), 'xstate-reactor-bench-'));
let places = 0;

/** A backend under test: fresh storage for one scenario, and how to clean it up. */
interface Backend {
  readonly label: string;
  fresh(): { storage: StorageOptions; dispose(): void };
}

const sqlite = (synchronous: 'full' | 'normal'): Backend => ({
  label: `SQLite file, WAL, synchronous ${synchronous.toUpperCase()}`,
  fresh() {
    places += 1;
    const path = join(folder, `bench-${places}.db`);
    return {
      storage: { backend: createSqliteStorage({ path, synchronous }) },
      dispose: () => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      },
    };
  },
});

const BACKENDS: readonly Backend[] = [
  {
    label: 'Dexie on fake-indexeddb',
    fresh: () => ({
      storage: { dbName: `bench-${++places}`, indexedDB: new IDBFactory(), IDBKeyRange },
      dispose: () => {},
    }),
  },
  sqlite('full'),
  sqlite('normal'),
];

/** One timed run: its wall time, the ops it wrote and each call's latency. */
interface Sample {
  readonly ms: number;
  readonly ops: number;
  readonly latencies: readonly number[];
}

function expectCount(reactor: Reactor, documentId: string, expected: number): void {
  const state = reactor.documents.get(documentId)?.state as { count: number } | undefined;
  if (state?.count !== expected) {
    throw new Error(`document ${documentId}: expected count ${expected}, got ${JSON.stringify(state)}`);
  }
}

/** Opens a reactor on fresh storage of `backend`, runs `body`, stops it and removes the storage. */
async function withReactor(backend: Backend, body: (reactor: Reactor) => Promise<Sample>): Promise<Sample> {
  const place = backend.fresh();
  const reactor = await createReactor({ models: [counter], storage: place.storage });
  try {
    return await body(reactor);
  } finally {
    await reactor.stop();
    place.dispose();
  }
}

function burst(reactor: Reactor, count: number, documentId: string): Promise<number[]> {
  const promises: Promise<unknown>[] = new Array(count);
  const submittedAt: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    submittedAt[i] = now();
    promises[i] = reactor.mutate(documentId, INCREMENT);
  }
  return settleWithLatency(promises, submittedAt);
}

const burstScenario = (backend: Backend) =>
  withReactor(backend, async (reactor) => {
    await reactor.createDocument('counter', { id: 'c' });
    await burst(reactor, WARM_UP_OPS, 'c');
    collectGarbage();
    const start = now();
    const latencies = await burst(reactor, BURST_OPS, 'c');
    const ms = now() - start;
    expectCount(reactor, 'c', WARM_UP_OPS + BURST_OPS);
    return { ms, ops: BURST_OPS, latencies };
  });

const sequentialScenario = (backend: Backend) =>
  withReactor(backend, async (reactor) => {
    await reactor.createDocument('counter', { id: 'c' });
    await reactor.createDocument('counter', { id: 'warm' });
    await burst(reactor, SEQUENTIAL_LOG, 'c');
    for (let i = 0; i < WARM_UP_OPS; i++) await reactor.mutate('warm', INCREMENT);
    const latencies: number[] = [];
    collectGarbage();
    const start = now();
    for (let i = 0; i < SEQUENTIAL_OPS; i++) {
      const submitted = now();
      await reactor.mutate('c', INCREMENT);
      latencies.push(now() - submitted);
    }
    const ms = now() - start;
    expectCount(reactor, 'c', SEQUENTIAL_LOG + SEQUENTIAL_OPS);
    return { ms, ops: SEQUENTIAL_OPS, latencies };
  });

/** Ops as another reactor would have made them: a CREATE per document, then INCREMENTs round-robin. */
function remoteOps(): OperationEnvelope[][] {
  const origin = 'elsewhere';
  const ops: OperationContent[] = [];
  let wall = 1_700_000_000_000;
  const stamp = () => encodeHlc({ wall: wall++, logical: 0 }, origin);
  for (let d = 0; d < LOAD_DOCS; d++) {
    ops.push({
      documentId: `doc-${d}`,
      scope: 'document',
      branch: 'main',
      type: CREATE_DOCUMENT,
      input: { model: 'counter' },
      timestamp: stamp(),
      origin,
    });
  }
  for (let i = 0; i < LOAD_OPS; i++) {
    ops.push({
      documentId: `doc-${i % LOAD_DOCS}`,
      scope: 'global',
      branch: 'main',
      type: 'INCREMENT',
      input: { by: 1 },
      timestamp: stamp(),
      origin,
    });
  }
  const withIds = ops.map((content): OperationEnvelope => ({ id: operationId(content), ...content }));
  const pages: OperationEnvelope[][] = [];
  for (let i = 0; i < withIds.length; i += LOAD_PAGE) pages.push(withIds.slice(i, i + LOAD_PAGE));
  return pages;
}
const PAGES = remoteOps();

const loadScenario = (backend: Backend) =>
  withReactor(backend, async (reactor) => {
    const latencies: number[] = [];
    collectGarbage();
    const start = now();
    for (const page of PAGES) {
      const submitted = now();
      await reactor.load(page);
      latencies.push(now() - submitted);
    }
    await reactor.whenIdle();
    const ms = now() - start;
    for (let d = 0; d < LOAD_DOCS; d++) expectCount(reactor, `doc-${d}`, LOAD_OPS / LOAD_DOCS);
    return { ms, ops: LOAD_OPS + LOAD_DOCS, latencies };
  });

const SCENARIOS = [
  { name: `1. burst, ${formatNumber(BURST_OPS)} mutations`, run: burstScenario },
  { name: `2. sequential, log of ${formatNumber(SEQUENTIAL_LOG)}`, run: sequentialScenario },
  { name: `3. load ${formatNumber(LOAD_OPS)} ops, pages of ${formatNumber(LOAD_PAGE)}`, run: loadScenario },
] as const;

interface Row {
  readonly scenario: string;
  readonly backend: string;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly range: readonly [number, number];
  readonly p50: number;
  readonly p99: number;
  readonly ratio?: number;
}

const columns: readonly Column<Row>[] = [
  { header: 'scenario', cell: (row) => row.scenario },
  { header: 'backend', cell: (row) => row.backend },
  { header: 'ops', cell: (row) => formatNumber(row.ops), align: 'right' },
  { header: 'ops/s (median)', cell: (row) => formatNumber(row.opsPerSec), align: 'right' },
  {
    header: 'ops/s min–max',
    cell: (row) => `${formatNumber(row.range[0])}–${formatNumber(row.range[1])}`,
    align: 'right',
  },
  { header: 'p50 ms', cell: (row) => formatNumber(row.p50, 2), align: 'right' },
  { header: 'p99 ms', cell: (row) => formatNumber(row.p99, 2), align: 'right' },
  {
    header: 'vs Dexie',
    cell: (row) => (row.ratio === undefined ? 'baseline' : formatPercent(row.ratio, 0)),
    align: 'right',
  },
];

async function main(): Promise<void> {
  const started = now();
  const samples = SCENARIOS.map(() => BACKENDS.map((): Sample[] => []));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [s, scenario] of SCENARIOS.entries()) {
      for (const [b, backend] of BACKENDS.entries()) {
        const tag = `round ${round}/${ROUNDS}: ${scenario.name} on ${backend.label}`;
        progress(tag);
        const sample = await scenario.run(backend);
        samples[s]?.[b]?.push(sample);
        progress(`${tag}: ${formatNumber(opsPerSecond(sample.ops, sample.ms))} ops/s`);
      }
    }
  }

  const rows: Row[] = [];
  for (const [s, scenario] of SCENARIOS.entries()) {
    let baseline = Number.NaN;
    for (const [b, backend] of BACKENDS.entries()) {
      const runs = samples[s]?.[b] ?? [];
      const rates = runs.map((sample) => opsPerSecond(sample.ops, sample.ms));
      const { p50, p99 } = summarise(runs.flatMap((sample) => sample.latencies));
      const opsPerSec = median(rates);
      if (b === 0) baseline = opsPerSec;
      rows.push({
        scenario: b === 0 ? scenario.name : '',
        backend: backend.label,
        ops: runs[0]?.ops ?? 0,
        opsPerSec,
        range: [Math.min(...rates), Math.max(...rates)],
        p50,
        p99,
        ...(b === 0 ? {} : { ratio: opsPerSec / baseline }),
      });
    }
  }

  console.log('');
  console.log(
    `Storage backends, Node ${process.version}, ${ROUNDS} round(s) per scenario, files in ${folder}; ` +
      'latency = submit → resolve of each call (load: of each page)',
  );
  console.log(formatTable(columns, rows));
  console.log(`Total bench time ${((now() - started) / 1000).toFixed(1)} s.`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(folder, { recursive: true, force: true }));
