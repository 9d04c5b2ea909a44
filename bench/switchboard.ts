/**
 * B4 fan-out through a switchboard: one writer and N readers in this process, the switchboard
 * (`xstate-reactor switchboard`, durable SQLite storage in a temporary directory) in a child
 * process, over WebSockets on 127.0.0.1. Run with `npm run bench:switchboard`.
 *
 * The writer pushes (`debounceMs: 0`) one INCREMENT at a time to one document; readers pull,
 * woken by the server's pokes (their pull interval is a minute). Each scenario — readers × rate —
 * runs on a fresh server and fresh reactors:
 *
 * - readers: 1 (the baseline, measured in the same run), 10 and 50;
 * - rate: 10 ops/s (paced) and the maximum (each mutation awaited, then the next).
 *
 * Latency is from the writer's `mutate` resolving to the op showing in a reader's
 * `documents.get` (an observer of the reader's view; one clock, one process), over every
 * (op, reader) pair. An op a reader showed before the writer's call resolved counts as 0 ms (column
 * "early"). The readers share the writer's process and event loop: at 50 readers their work delays
 * the writer too, as it would not with readers on other machines.
 *
 * Server CPU is the child's user + system time from /proc/<pid>/stat over the timed part
 * (10 ms resolution), shown as a share of one core and per op delivered (ops × readers); RSS is
 * VmRSS at the end and VmHWM (peak) from /proc/<pid>/status. Linux only.
 *
 * `B4_SLOW_OPS` (default 100) and `B4_FAST_OPS` (default 1000) set the ops per scenario;
 * `B4_READERS=1,10,50` picks reader counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import {
  createReactor,
  createWebSocketChannel,
  defineDocumentModel,
  type Reactor,
  type WebSocketChannel,
} from '../src/index.js';
import { healthUntil, type ServerProcess, startServer } from '../test/server/serverProcess.js';
import {
  type Column,
  collectGarbage,
  envInteger,
  formatNumber,
  formatTable,
  now,
  percentile,
  progress,
  withTimeout,
} from './lib.js';

const SLOW_OPS = envInteger('B4_SLOW_OPS', 100);
const FAST_OPS = envInteger('B4_FAST_OPS', 1000);
const SLOW_RATE = 10;
const READERS = (process.env.B4_READERS ?? '1,10,50').split(',').map((n) => {
  const value = Number(n);
  if (!Number.isInteger(value) || value < 1) throw new Error(`B4_READERS: ${n} is not a positive integer`);
  return value;
});
const WARM_UP_OPS = 20;
/** A scenario that makes no progress for this long fails instead of hanging the run. */
const STALL_MS = 120_000;
const DOC = 'doc';

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { INCREMENT: (s: { count: number }, input: { by: number }) => ({ count: s.count + input.by }) },
});

let databases = 0;
function openReactor(id: string): Promise<Reactor> {
  databases += 1;
  return createReactor({
    id,
    models: [counter],
    storage: { dbName: `b4-${databases}-${id}`, indexedDB: new IDBFactory(), IDBKeyRange },
  });
}

const countOf = (reactor: Reactor) => (reactor.documents.get(DOC)?.state as { count: number } | undefined)?.count ?? 0;

/** Records when a reader's view first showed each count (op k of the stream is count k). */
function watchArrivals(reader: Reactor, total: number) {
  const shownAt = new Array<number>(total + 1).fill(Number.NaN);
  let shown = 0;
  let done: () => void = () => {};
  const complete = new Promise<void>((resolve) => {
    done = resolve;
  });
  const subscription = reader.documents.observe(DOC).subscribe((snapshot) => {
    const at = now();
    const count = Math.min(total, (snapshot?.state as { count: number } | undefined)?.count ?? 0);
    for (let k = shown + 1; k <= count; k++) shownAt[k] = at;
    shown = Math.max(shown, count);
    if (shown >= total) done();
  });
  return { shownAt, complete, stop: () => subscription.unsubscribe(), shown: () => shown };
}

interface Row {
  readonly readers: number;
  readonly rate: string;
  readonly ops: number;
  readonly writeRate: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly early: number;
  readonly seconds: number;
  readonly serverCpuShare: number;
  readonly serverCpuPerDelivery: number;
  readonly rss: number;
  readonly peak: number;
  readonly clientCpuShare: number;
}

async function scenario(readerCount: number, paced: boolean): Promise<Row> {
  const ops = paced ? SLOW_OPS : FAST_OPS;
  const label = `${readerCount} readers, ${paced ? `${SLOW_RATE} ops/s` : 'max rate'}`;
  const data = mkdtempSync(join(tmpdir(), 'xstate-reactor-b4-'));
  let server: ServerProcess | undefined;
  const reactors: Reactor[] = [];
  const channels: WebSocketChannel[] = [];
  try {
    server = await startServer({ data });
    const url = server.url;
    const connectTo = async (reactor: Reactor, mode: 'push' | 'pull') => {
      const channel = createWebSocketChannel(url, { clientId: reactor.id });
      channels.push(channel);
      await reactor.sync.add({ name: 'hub', channel, mode, debounceMs: 0, pullIntervalMs: 60_000 });
    };
    const writer = await openReactor('writer');
    reactors.push(writer);
    await connectTo(writer, 'push');
    const readers: Reactor[] = [];
    for (let i = 0; i < readerCount; i++) {
      const reader = await openReactor(`reader-${i}`);
      reactors.push(reader);
      readers.push(reader);
      await connectTo(reader, 'pull');
    }
    await healthUntil(server.port, (h) => h.clients === readerCount + 1, 30_000);

    // Warm-up: the document and a few ops reach every reader before anything is timed.
    await writer.createDocument('counter', { id: DOC });
    for (let i = 0; i < WARM_UP_OPS; i++) await writer.mutate(DOC, [{ type: 'INCREMENT', input: { by: 1 } }]);
    const warm = readers.map((reader) => watchArrivals(reader, WARM_UP_OPS));
    await withTimeout(Promise.all(warm.map((w) => w.complete)), STALL_MS, () => `${label}: warm-up`);
    for (const w of warm) w.stop();

    const total = WARM_UP_OPS + ops;
    const watches = readers.map((reader) => watchArrivals(reader, total));
    const resolvedAt = new Array<number>(total + 1).fill(Number.NaN);
    collectGarbage();
    const cpuBefore = server.cpuMs();
    const clientCpuBefore = process.cpuUsage();
    const start = now();
    for (let k = WARM_UP_OPS + 1; k <= total; k++) {
      if (paced) {
        const due = start + ((k - WARM_UP_OPS - 1) * 1000) / SLOW_RATE;
        const wait = due - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await writer.mutate(DOC, [{ type: 'INCREMENT', input: { by: 1 } }]);
      resolvedAt[k] = now();
    }
    const written = now();
    await withTimeout(
      Promise.all(watches.map((w) => w.complete)),
      STALL_MS,
      () => `${label}: readers show ${watches.map((w) => w.shown()).join(', ')} of ${total}`,
    );
    const end = now();
    const cpuMs = server.cpuMs() - cpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const memory = server.memory();
    for (const w of watches) w.stop();
    for (const reader of readers) {
      if (reader.documents.get(DOC)?.hash !== writer.documents.get(DOC)?.hash || countOf(reader) !== total) {
        throw new Error(`${label}: ${reader.id} did not converge`);
      }
    }

    const latencies: number[] = [];
    let early = 0;
    for (const w of watches) {
      for (let k = WARM_UP_OPS + 1; k <= total; k++) {
        const latency = (w.shownAt[k] as number) - (resolvedAt[k] as number);
        if (latency < 0) early += 1;
        latencies.push(Math.max(0, latency));
      }
    }
    const elapsed = end - start;
    return {
      readers: readerCount,
      rate: paced ? `${SLOW_RATE} ops/s` : 'max',
      ops,
      writeRate: (ops * 1000) / (written - start),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
      early,
      seconds: elapsed / 1000,
      serverCpuShare: cpuMs / elapsed,
      serverCpuPerDelivery: (cpuMs * 1000) / (ops * readerCount),
      rss: memory.rss,
      peak: memory.peak,
      clientCpuShare: (clientCpu.user + clientCpu.system) / 1000 / elapsed,
    };
  } finally {
    for (const channel of channels) channel.close();
    await Promise.all(reactors.map((reactor) => reactor.stop({ drain: false })));
    if (server !== undefined) await server.kill('SIGTERM');
    rmSync(data, { recursive: true, force: true });
  }
}

const mib = (bytes: number) => formatNumber(bytes / 1024 / 1024);
const percent = (share: number) => `${formatNumber(share * 100)}%`;

const columns: readonly Column<Row>[] = [
  { header: 'readers', cell: (row) => `${row.readers}${row.readers === 1 ? ' (baseline)' : ''}`, align: 'right' },
  { header: 'rate', cell: (row) => row.rate },
  { header: 'ops', cell: (row) => formatNumber(row.ops), align: 'right' },
  { header: 'writes/s', cell: (row) => formatNumber(row.writeRate), align: 'right' },
  { header: 'p50 ms', cell: (row) => formatNumber(row.p50, 1), align: 'right' },
  { header: 'p99 ms', cell: (row) => formatNumber(row.p99, 1), align: 'right' },
  { header: 'max ms', cell: (row) => formatNumber(row.max, 1), align: 'right' },
  { header: 'early', cell: (row) => formatNumber(row.early), align: 'right' },
  { header: 'server CPU', cell: (row) => percent(row.serverCpuShare), align: 'right' },
  { header: 'µs/delivery', cell: (row) => formatNumber(row.serverCpuPerDelivery), align: 'right' },
  { header: 'RSS MiB end/peak', cell: (row) => `${mib(row.rss)} / ${mib(row.peak)}`, align: 'right' },
  { header: 'client CPU', cell: (row) => percent(row.clientCpuShare), align: 'right' },
];

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const paced of [true, false]) {
    for (const readers of READERS) {
      progress(`B4 ${readers} readers, ${paced ? `${SLOW_RATE} ops/s` : 'max rate'}`);
      const row = await scenario(readers, paced);
      progress(`B4 ${readers} readers: p50 ${formatNumber(row.p50, 1)} ms, p99 ${formatNumber(row.p99, 1)} ms`);
      rows.push(row);
    }
  }
  console.log('');
  console.log(
    'B4 fan-out — 1 writer (push) → switchboard process (SQLite) → N readers (pull, poked), WebSocket on 127.0.0.1',
  );
  console.log(
    'latency: writer mutate resolved → op in reader documents.get, over every (op, reader); server CPU: child /proc stat',
  );
  console.log(formatTable(columns, rows));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
