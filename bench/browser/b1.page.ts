/**
 * Runs in the bench page (Chromium, real IndexedDB): the scenarios of workload B1, one call each,
 * driven by `bench/browser/b1.ts` through playwright. Every scenario opens its own database and
 * deletes it afterwards, and checks its result before reporting a time.
 */
import { createReactor, defineDocumentModel, type Reactor } from '../../src/index.js';
import { baselineRows, countRows, deleteDatabase, openBaseline, putAll, transactions } from './rawIndexedDb.js';

/** One timed run: wall time, each call's (or batch's) latency, read-write transactions opened. */
export interface PageSample {
  readonly ms: number;
  readonly latencies: number[];
  readonly transactions: number;
}

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { INCREMENT: (s: { count: number }, input: { by: number }) => ({ count: s.count + input.by }) },
});
const INCREMENT = [{ type: 'INCREMENT', input: { by: 1 } }] as const;

const now = () => performance.now();
/** A full GC before a timed section (Chromium runs with --js-flags=--expose-gc). */
const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.();

let databases = 0;
const databaseName = (label: string) => {
  databases += 1;
  return `bench-b1-${databases}-${label}`;
};

/** Times `run`, counting the read-write transactions it opens. */
async function timed(run: (latencies: number[]) => Promise<void>): Promise<PageSample> {
  const latencies: number[] = [];
  collectGarbage();
  const before = transactions.readwrite;
  const start = now();
  await run(latencies);
  return { ms: now() - start, latencies, transactions: transactions.readwrite - before };
}

/** Raw IndexedDB: `ops` puts in awaited transactions of `batch` (1: one transaction per put). */
async function rawPuts(options: {
  ops: number;
  batch: number;
  warmUp: number;
  durability?: IDBTransactionDurability;
}): Promise<PageSample> {
  const name = databaseName(`raw-${options.batch}`);
  const db = await openBaseline(name);
  const warmUp = baselineRows(0, options.warmUp);
  for (let i = 0; i < warmUp.length; i += options.batch) await putAll(db, warmUp.slice(i, i + options.batch));
  const batches: ReturnType<typeof baselineRows>[] = [];
  for (let i = 0; i < options.ops; i += options.batch) {
    batches.push(baselineRows(options.warmUp + i, Math.min(options.batch, options.ops - i)));
  }
  const sample = await timed(async (latencies) => {
    for (const batch of batches) {
      const started = now();
      await putAll(db, batch, options.durability);
      latencies.push(now() - started);
    }
  });
  const stored = await countRows(db);
  db.close();
  await deleteDatabase(name);
  if (stored !== options.warmUp + options.ops) throw new Error(`raw baseline stored ${stored} rows`);
  return sample;
}

/** Submits `count` mutations without awaiting each; records each one's submit → resolve latency. */
async function burst(reactor: Reactor, count: number, documentFor: (i: number) => string, latencies: number[]) {
  const calls: Promise<unknown>[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const submitted = now();
    calls[i] = reactor.mutate(documentFor(i), INCREMENT).then(() => {
      latencies[i] = now() - submitted;
    });
  }
  await Promise.all(calls);
}

function countOf(reactor: Reactor, documentId: string): number | undefined {
  return (reactor.documents.get(documentId)?.state as { count: number } | undefined)?.count;
}

/** After a stop: a reopen finds every op stored, each count right and no job left. */
async function expectStored(name: string, counts: ReadonlyMap<string, number>, operations: number) {
  const reopened = await createReactor({ models: [counter], storage: { dbName: name } });
  const status = reopened.status();
  const wrong = [...counts].filter(([id, expected]) => countOf(reopened, id) !== expected);
  await reopened.stop();
  if (status.ordinal !== operations || status.jobs.waiting + status.jobs.running !== 0 || wrong.length > 0) {
    throw new Error(
      `${name}: expected ${operations} ops and no jobs, found ${status.ordinal} ops, jobs ${JSON.stringify(status.jobs)}, ` +
        `${wrong.length} document(s) with a wrong count`,
    );
  }
}

/** The reactor: `ops` single-action mutations submitted at once, round-robin over `documents`. */
async function reactorBurst(options: {
  documents: number;
  ops: number;
  warmUp: number;
  forceDurability?: IDBTransactionDurability;
}): Promise<PageSample> {
  const name = databaseName(`burst-${options.documents}`);
  transactions.forceDurability = options.forceDurability;
  try {
    const reactor = await createReactor({ models: [counter], storage: { dbName: name } });
    const ids = Array.from({ length: options.documents }, (_, i) => `doc-${i}`);
    await Promise.all(ids.map((id) => reactor.createDocument('counter', { id })));
    const documentFor = (i: number) => ids[i % options.documents] as string;
    await burst(reactor, options.warmUp, documentFor, []);
    const sample = await timed((latencies) => burst(reactor, options.ops, documentFor, latencies));

    const share = (n: number, d: number) => Math.floor(n / options.documents) + (d < n % options.documents ? 1 : 0);
    const counts = new Map(ids.map((id, d) => [id, share(options.warmUp, d) + share(options.ops, d)]));
    for (const [id, expected] of counts) {
      if (countOf(reactor, id) !== expected)
        throw new Error(`${id}: expected ${expected}, got ${countOf(reactor, id)}`);
    }
    await reactor.stop();
    await expectStored(name, counts, options.documents + options.warmUp + options.ops);
    await deleteDatabase(name);
    return sample;
  } finally {
    transactions.forceDurability = undefined;
  }
}

/** A reactor holding document `doc` with a log of `logSize` ops (filled by bursts), warmed on another document. */
async function prefilledReactor(logSize: number, chunk: number, warmUp: number) {
  const name = databaseName(`seq-${logSize}`);
  const reactor = await createReactor({ models: [counter], storage: { dbName: name } });
  await reactor.createDocument('counter', { id: 'doc' });
  await reactor.createDocument('counter', { id: 'warm' });
  for (let done = 0; done < logSize; done += chunk) {
    await burst(reactor, Math.min(chunk, logSize - done), () => 'doc', []);
  }
  for (let i = 0; i < warmUp; i++) await reactor.mutate('warm', INCREMENT);
  return { name, reactor };
}

/**
 * Awaited mutations one after another into a small log and a large one, in alternating blocks so
 * both see the same page state (JIT, heap, load from elsewhere).
 */
async function sequentialPair(options: {
  smallLog: number;
  largeLog: number;
  ops: number;
  block: number;
  warmUp: number;
}): Promise<{ small: PageSample; large: PageSample }> {
  const chunk = 10_000;
  const pair = [
    await prefilledReactor(options.smallLog, chunk, options.warmUp),
    await prefilledReactor(options.largeLog, chunk, options.warmUp),
  ] as const;
  const samples: [PageSample, PageSample] = [
    { ms: 0, latencies: [], transactions: 0 },
    { ms: 0, latencies: [], transactions: 0 },
  ];
  collectGarbage();
  for (let block = 0; block < options.ops / options.block; block++) {
    for (const which of block % 2 === 0 ? [0, 1] : [1, 0]) {
      const { reactor } = pair[which] as (typeof pair)[number];
      const sample = samples[which] as PageSample;
      const before = transactions.readwrite;
      const start = now();
      for (let i = 0; i < options.block; i++) {
        const submitted = now();
        await reactor.mutate('doc', INCREMENT);
        sample.latencies.push(now() - submitted);
      }
      samples[which] = {
        ...sample,
        ms: sample.ms + now() - start,
        transactions: sample.transactions + transactions.readwrite - before,
      };
    }
  }
  const logs = [options.smallLog, options.largeLog];
  for (const [which, { name, reactor }] of pair.entries()) {
    const expected = (logs[which] as number) + options.ops;
    if (countOf(reactor, 'doc') !== expected)
      throw new Error(`${name}: expected ${expected}, got ${countOf(reactor, 'doc')}`);
    await reactor.stop();
    await deleteDatabase(name);
  }
  return { small: samples[0], large: samples[1] };
}

/** What the runner calls through `page.evaluate`. */
export const b1 = { rawPuts, reactorBurst, sequentialPair };
export type B1Page = typeof b1;

declare global {
  interface Window {
    b1?: B1Page;
  }
}
window.b1 = b1;
