import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebSocketChannel, type Reactor, type WebSocketChannel } from '../../src/index.js';
import { reactorsPerTest } from '../support.js';
import { healthUntil, killAllServers, startServer } from './serverProcess.js';

/**
 * Many clients against one switchboard process (durable storage) on 127.0.0.1: every client
 * writes its own document while all of them sync in ping-pong (pokes from the server drive the
 * pulls), and every client must end up with every op of every document. It asserts convergence,
 * not speed; the numbers are printed.
 *
 * Each client writes in bursts (`BURST` mutations at once, awaited together), as an app does when
 * one user action makes several ops. One op at a time from 50 reactors in this one process on fake
 * IndexedDB makes ~17,000 one-op pushes and small pulls (against ~900) and takes ~4x as long
 * (~90 s of CPU in this process, against ~21 s): the cost is per request on the client side, not
 * the server's.
 */

const CLIENTS = 50;
/** Ops each client makes: its document's CREATE and the increments after it. */
const OPS_PER_CLIENT = 200;
const TOTAL = CLIENTS * OPS_PER_CLIENT;
/** Mutations a client makes at once. */
const BURST = 20;
/** A run that has not converged by then fails instead of hanging CI. */
const DEADLINE_MS = 120_000;

const openReactor = reactorsPerTest({ retry: { baseMs: 50, maxMs: 1000 } });
const channels: WebSocketChannel[] = [];
let data: string;

beforeEach(() => {
  data = mkdtempSync(join(tmpdir(), 'xstate-reactor-load-'));
});

afterEach(async () => {
  for (const channel of channels.splice(0)) channel.close();
  await killAllServers();
  rmSync(data, { recursive: true, force: true });
});

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

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

describe('switchboard under load', () => {
  it(
    `${CLIENTS} clients × ${OPS_PER_CLIENT} ops converge through one switchboard process`,
    async () => {
      const server = await startServer({ data });
      const idle = server.memory();
      const clients = await Promise.all(
        Array.from({ length: CLIENTS }, (_, i) => openReactor({ id: `client-${String(i).padStart(2, '0')}` })),
      );
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

      const start = performance.now();
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
      const written = performance.now();
      await healthUntil(server.port, (h) => h.ordinal === TOTAL, DEADLINE_MS, 100);
      const stored = performance.now();
      await Promise.all(clients.map((client) => stores(client, TOTAL, DEADLINE_MS)));
      const converged = performance.now();
      const memory = server.memory();
      const cpuMs = server.cpuMs() - cpuBefore;
      const clientCpu = process.cpuUsage(clientCpuBefore);
      const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;

      // Every client holds every op of every document, once, and the same state of each (once its
      // read model has caught up with what it stored).
      await Promise.all(clients.map((client) => client.whenIdle()));
      const expected = (OPS_PER_CLIENT * (OPS_PER_CLIENT - 1)) / 2;
      for (const client of clients) {
        expect(client.status().ordinal, client.id).toBe(TOTAL);
        expect(client.documents.list()).toHaveLength(CLIENTS);
      }
      for (const owner of clients) {
        const id = `doc-${owner.id}`;
        const hash = owner.documents.get(id)?.hash;
        expect(owner.documents.get(id)?.state).toEqual({ count: expected });
        for (const client of clients) expect(client.documents.get(id)?.hash, `${id} on ${client.id}`).toBe(hash);
      }
      expect((await server.health()).ordinal).toBe(TOTAL);

      const seconds = (converged - start) / 1000;
      const rows: [string, string][] = [
        ['clients × ops', `${CLIENTS} × ${OPS_PER_CLIENT} = ${TOTAL.toLocaleString('en-US')} ops (bursts of ${BURST})`],
        ['all written', `${((written - start) / 1000).toFixed(1)} s`],
        ['all on the server', `${((stored - start) / 1000).toFixed(1)} s`],
        ['all on every client', `${seconds.toFixed(1)} s`],
        ['ops/s (written → everywhere)', (TOTAL / seconds).toFixed(0)],
        ['deliveries/s (ops × clients)', ((TOTAL * CLIENTS) / seconds).toFixed(0)],
        [
          'server CPU',
          `${(cpuMs / 1000).toFixed(1)} s (${((100 * cpuMs) / (converged - start)).toFixed(0)}% of a core)`,
        ],
        ['server RSS idle / end / peak', `${mib(idle.rss)} / ${mib(memory.rss)} / ${mib(memory.peak)}`],
        ['clients (this process) CPU', `${(clientCpuMs / 1000).toFixed(1)} s`],
        ['clients (this process) RSS', mib(process.memoryUsage().rss)],
      ];
      const width = Math.max(...rows.map(([label]) => label.length));
      console.log(
        `\nswitchboard load\n${rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n')}`,
      );
    },
    DEADLINE_MS + 60_000,
  );
});
