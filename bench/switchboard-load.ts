/**
 * Load through one switchboard: many clients against one switchboard process (`xstate-reactor
 * switchboard`, durable SQLite storage in a temporary directory) on 127.0.0.1. Every client writes
 * its own document while all of them sync in ping-pong (pokes from the server drive the pulls),
 * and every client must end up with every op of every document: the run fails (exit code 1) if
 * one does not, or if nothing converges within `LOAD_DEADLINE_MS`. Run with
 * `npm run bench:switchboard-load`.
 *
 * Each client writes in bursts (`LOAD_BURST` mutations at once, awaited together), as an app does
 * when one user action makes several ops. One op at a time from 50 reactors in this one process on
 * fake IndexedDB makes ~17,000 one-op pushes and small pulls (against ~900) and takes ~4x as long:
 * the cost is per request on the client side, not the server's.
 *
 * `LOAD_CLIENTS` (default 50), `LOAD_OPS` (ops per client, its CREATE included; default 200),
 * `LOAD_BURST` (default 20) and `LOAD_DEADLINE_MS` (default 120,000) set the workload.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { filter, firstValueFrom, timeout } from 'rxjs';
import {
  createReactor,
  createWebSocketChannel,
  defineDocumentModel,
  type Reactor,
  type WebSocketChannel,
} from '../src/index.js';
import { healthUntil, type ServerProcess, startServer } from '../test/server/serverProcess.js';
import { type Column, envInteger, formatNumber, formatTable, now, progress } from './lib.js';

const CLIENTS = envInteger('LOAD_CLIENTS', 50);
const OPS_PER_CLIENT = envInteger('LOAD_OPS', 200);
const BURST = envInteger('LOAD_BURST', 20);
const DEADLINE_MS = envInteger('LOAD_DEADLINE_MS', 120_000);
const TOTAL = CLIENTS * OPS_PER_CLIENT;

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { INCREMENT: (s: { count: number }, input: { by: number }) => ({ count: s.count + input.by }) },
});

function openClient(id: string): Promise<Reactor> {
  return createReactor({
    id,
    models: [counter],
    storage: { dbName: `load-${id}`, indexedDB: new IDBFactory(), IDBKeyRange },
    retry: { baseMs: 50, maxMs: 1000 },
  });
}

/** Resolves once the reactor stores `count` ops (checked whenever it writes something). */
function stores(reactor: Reactor, count: number, ms: number): Promise<unknown> {
  if (reactor.status().ordinal >= count) return Promise.resolve();
  return firstValueFrom(
    reactor.events$.pipe(
      filter(() => reactor.status().ordinal >= count),
      timeout({
        first: ms,
        with: () => Promise.reject(new Error(`${reactor.id} stores ${reactor.status().ordinal} of ${count} ops`)),
      }),
    ),
  );
}

/** Every client holds every op of every document, once, and the same state of each. */
async function checkConverged(clients: readonly Reactor[], server: ServerProcess): Promise<void> {
  await Promise.all(clients.map((client) => client.whenIdle()));
  const expected = (OPS_PER_CLIENT * (OPS_PER_CLIENT - 1)) / 2;
  const problems: string[] = [];
  for (const client of clients) {
    if (client.status().ordinal !== TOTAL) problems.push(`${client.id} stores ${client.status().ordinal} of ${TOTAL}`);
    const documents = client.documents.list().length;
    if (documents !== CLIENTS) problems.push(`${client.id} has ${documents} of ${CLIENTS} documents`);
  }
  for (const owner of clients) {
    const id = `doc-${owner.id}`;
    const mine = owner.documents.get(id);
    const count = (mine?.state as { count: number } | undefined)?.count;
    if (count !== expected) problems.push(`${id} counts ${count} on its owner, not ${expected}`);
    for (const client of clients) {
      if (client.documents.get(id)?.hash !== mine?.hash) problems.push(`${id} differs on ${client.id}`);
    }
  }
  const ordinal = (await server.health()).ordinal;
  if (ordinal !== TOTAL) problems.push(`the server stores ${ordinal} of ${TOTAL}`);
  if (problems.length > 0) {
    throw new Error(`did not converge:\n  ${problems.slice(0, 20).join('\n  ')}`);
  }
}

interface Row {
  readonly measure: string;
  readonly value: string;
}

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'xstate-reactor-load-'));
  const clients: Reactor[] = [];
  const channels: WebSocketChannel[] = [];
  let server: ServerProcess | undefined;
  try {
    server = await startServer({ data });
    const idle = server.memory();
    progress(`switchboard load: ${CLIENTS} clients connecting`);
    for (let i = 0; i < CLIENTS; i++) clients.push(await openClient(`client-${String(i).padStart(2, '0')}`));
    for (const client of clients) {
      const channel = createWebSocketChannel(server.url, {
        clientId: client.id,
        reconnect: { baseMs: 100, maxMs: 2000 },
        requestTimeoutMs: 60_000,
      });
      channels.push(channel);
      await client.sync.add({ name: 'hub', channel, mode: 'ping-pong', pullIntervalMs: 10_000 });
    }
    await healthUntil(server.port, (h) => h.clients === CLIENTS, 30_000);

    progress(`switchboard load: ${TOTAL.toLocaleString('en-US')} ops in bursts of ${BURST}`);
    const start = now();
    const cpuBefore = server.cpuMs();
    const clientCpuBefore = process.cpuUsage();
    await Promise.all(
      clients.map(async (client) => {
        const { documentId } = await client.createDocument('counter', { id: `doc-${client.id}` });
        for (let next = 1; next < OPS_PER_CLIENT; next += BURST) {
          const burst: Promise<unknown>[] = [];
          for (let by = next; by < Math.min(next + BURST, OPS_PER_CLIENT); by++) {
            burst.push(client.mutate(documentId, [{ type: 'INCREMENT', input: { by } }]));
          }
          await Promise.all(burst);
        }
      }),
    );
    const written = now();
    await healthUntil(server.port, (h) => h.ordinal === TOTAL, DEADLINE_MS, 100);
    const stored = now();
    await Promise.all(clients.map((client) => stores(client, TOTAL, DEADLINE_MS)));
    const converged = now();
    const memory = server.memory();
    const cpuMs = server.cpuMs() - cpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
    await checkConverged(clients, server);

    const seconds = (converged - start) / 1000;
    const mib = (bytes: number) => `${formatNumber(bytes / 1024 / 1024)} MiB`;
    const rows: Row[] = [
      {
        measure: 'clients × ops',
        value: `${CLIENTS} × ${OPS_PER_CLIENT} = ${formatNumber(TOTAL)} ops (bursts of ${BURST})`,
      },
      { measure: 'all written', value: `${formatNumber((written - start) / 1000, 1)} s` },
      { measure: 'all on the server', value: `${formatNumber((stored - start) / 1000, 1)} s` },
      { measure: 'all on every client', value: `${formatNumber(seconds, 1)} s` },
      { measure: 'ops/s (written → everywhere)', value: formatNumber(TOTAL / seconds) },
      { measure: 'deliveries/s (ops × clients)', value: formatNumber((TOTAL * CLIENTS) / seconds) },
      {
        measure: 'server CPU',
        value: `${formatNumber(cpuMs / 1000, 1)} s (${formatNumber((100 * cpuMs) / (converged - start))}% of a core)`,
      },
      { measure: 'server RSS idle / end / peak', value: `${mib(idle.rss)} / ${mib(memory.rss)} / ${mib(memory.peak)}` },
      { measure: 'clients (this process) CPU', value: `${formatNumber(clientCpuMs / 1000, 1)} s` },
      { measure: 'clients (this process) RSS', value: mib(process.memoryUsage().rss) },
    ];
    const columns: readonly Column<Row>[] = [
      { header: 'measure', cell: (row) => row.measure },
      { header: 'value', cell: (row) => row.value },
    ];
    console.log('');
    console.log(
      `Switchboard load — ${CLIENTS} clients in ping-pong (fake IndexedDB, this process) → switchboard process (SQLite), WebSocket on 127.0.0.1; every client converged on every document`,
    );
    console.log(formatTable(columns, rows));
  } finally {
    for (const channel of channels) channel.close();
    await Promise.all(clients.map((client) => client.stop({ drain: false })));
    if (server !== undefined) await server.kill('SIGTERM');
    rmSync(data, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
