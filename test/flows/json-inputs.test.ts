import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type BroadcastTransport,
  connect,
  createBroadcastTransport,
  createWebSocketChannel,
  encodeHlc,
  type Reactor,
  type WebSocketChannel,
} from '../../src/index.js';
import { createSwitchboard, type Switchboard } from '../../src/server/index.js';
import { createSqliteStorage } from '../../src/sqlite.js';
import { envelope, reactorsPerTest } from '../support.js';

/**
 * One rule for action inputs on every path: they are JSON data, kept in one normal form (keys
 * sorted, no undefined members, no -0), so an op is the same value in memory, over a
 * BroadcastChannel (structured clone), over a WebSocket (JSON), in SQLite and in IndexedDB, and
 * every replica folds it to the same state and hash. What JSON cannot carry is refused at submit,
 * and refused when a peer sends it anyway.
 */

const openReactor = reactorsPerTest({ retry: { baseMs: 5, maxMs: 50 } });
const folder = mkdtempSync(join(tmpdir(), 'xstate-reactor-json-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Waits until every reactor stores `n` ops (bounded). */
async function untilStored(reactors: readonly Reactor[], n: number) {
  for (let i = 0; i < 500; i++) {
    if (reactors.every((r) => r.status().ordinal >= n)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(
    `not every reactor stores ${n} ops: ${reactors.map((r) => `${r.id}=${r.status().ordinal}`).join(', ')}`,
  );
}

describe('inputs are JSON data in one normal form on every path', () => {
  it('memory, BroadcastChannel and WebSocket carry an op unchanged between SQLite and IndexedDB replicas', async () => {
    const writer = await openReactor({
      id: 'writer',
      storage: { backend: createSqliteStorage({ path: join(folder, 'w.db') }) },
    });
    const viaMemory = await openReactor({ id: 'memory' });
    const viaTabs = await openReactor({ id: 'tabs' });
    const viaSocket = await openReactor({ id: 'socket' });

    await viaMemory.sync.add({ name: 'writer', channel: connect(viaMemory, writer), mode: 'pull', pullIntervalMs: 20 });
    const name = `json-${crypto.randomUUID()}`;
    const tabs: BroadcastTransport[] = [createBroadcastTransport(writer, { channelName: name, heartbeatMs: 0 })];
    tabs.push(createBroadcastTransport(viaTabs, { channelName: name, heartbeatMs: 0 }));
    for (const tab of tabs) cleanups.push(() => tab.close());
    await viaTabs.sync.add({
      name: 'writer',
      channel: tabs[1]?.channelTo('writer') as never,
      mode: 'pull',
      pullIntervalMs: 20,
    });
    const board: Switchboard = await createSwitchboard({
      port: 0,
      storage: { backend: createSqliteStorage({ path: join(folder, 'board.db') }) },
    });
    cleanups.push(() => board.close());
    const sockets: WebSocketChannel[] = [writer, viaSocket].map((r) =>
      createWebSocketChannel(board.url, { clientId: r.id, reconnect: { baseMs: 10, maxMs: 100 } }),
    );
    for (const socket of sockets) cleanups.push(() => socket.close());
    await writer.sync.add({ name: 'board', channel: sockets[0] as WebSocketChannel, mode: 'push' });
    await viaSocket.sync.add({
      name: 'board',
      channel: sockets[1] as WebSocketChannel,
      mode: 'pull',
      pullIntervalMs: 20,
    });

    await writer.createDocument('list', { id: 'l' });
    await writer.mutate('l', [
      { type: 'ADD', input: { item: 'x', zeta: { b: -0, a: [1, { y: null, x: '\u{1F600}' }] }, gone: undefined } },
      { type: 'ADD', input: { item: 'y', n: 1e21, m: -1.5e-7, s: 'line\nbreak\u2028' } },
    ]);
    const readers = [viaMemory, viaTabs, viaSocket];
    await untilStored(readers, 3);
    const written = await writer.operations('l');
    const text = JSON.stringify(written.map((op) => op.input));
    expect(text).toBe(
      '[{"item":"x","zeta":{"a":[1,{"x":"\u{1F600}","y":null}],"b":0}},{"item":"y","m":-1.5e-7,"n":1e+21,"s":"line\\nbreak\u2028"}]',
    );
    for (const reader of readers) {
      const read = await reader.operations('l');
      expect(read, reader.id).toEqual(written);
      expect(JSON.stringify(read.map((op) => op.input)), reader.id).toBe(text);
      expect(Object.is((read[0]?.input as { zeta?: { b: number } } | undefined)?.zeta?.b, 0), reader.id).toBe(true);
      expect(reader.documents.get('l'), reader.id).toEqual(writer.documents.get('l'));
    }
    // The switchboard relays without the model and holds the same op too.
    const relayed = await board.reactor.endpoint.pull({ cursor: 0, limit: 10 });
    expect(JSON.stringify(relayed.operations.filter((op) => op.type === 'ADD').map((op) => op.input))).toBe(text);
  });

  it('what JSON cannot carry is refused from a peer too, even over a transport that could carry it', async () => {
    const victim = await openReactor({ id: 'victim' });
    await victim.createDocument('list', { id: 'l' });
    const at = (wall: number) => encodeHlc({ wall, logical: 0 }, 'peer');
    const base = { documentId: 'l', scope: 'global', branch: 'main', type: 'ADD', origin: 'peer' } as const;
    const honest = envelope({ ...base, input: { item: 'ok' }, timestamp: at(Date.now() - 1000) });
    // In memory a Date survives the structured clone; over JSON it would become a string.
    const dated = { ...honest, input: { item: new Date(0) }, timestamp: at(Date.now() - 999) };
    const response = await victim.endpoint.push(
      { from: 'peer', operations: [dated, honest], cursor: 2 },
      { peer: 'peer' },
    );
    expect(response.accepted).toBe(1);
    expect(response.rejected).toEqual([
      {
        id: dated.id,
        reason: expect.objectContaining({ kind: 'protocol', message: expect.stringMatching(/input\.item is a Date/) }),
      },
    ]);
    expect(victim.documents.get('l')?.state).toEqual({ items: ['ok'] });
  });
});
