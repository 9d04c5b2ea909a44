/**
 * One tab of an app, for `test/e2e/origin.test.ts` and `bench/browser/tabs.ts`: `createReactor`
 * on the default database, as every tab of an app calls it, optionally pushing to a switchboard.
 * The test drives it through `window.app`; each acknowledged write is reported to the test
 * through `window.reportAck` (exposed by the test) the moment its promise resolves, so writes
 * acknowledged by a page that then closes or crashes are still known.
 */
import { createReactor, createWebSocketChannel, defineDocumentModel, type Reactor } from '../../../src/index.js';

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: {
    INCREMENT: (s: { count: number }, input: { by: number; tag: string }) => ({ count: s.count + input.by }),
  },
});

let reactor: Reactor | undefined;
const failures: string[] = [];
let bursts = 0;
let burstsDone = 0;

function opened(): Reactor {
  if (reactor === undefined) throw new Error('app.open() first');
  return reactor;
}

declare global {
  interface Window {
    app?: typeof app;
    reportAck?: (tag: string) => Promise<void>;
  }
}

export const app = {
  /** Opens the app's reactor (default database); with `server`, pushes to that switchboard. */
  async open(options: { server?: string; leaderTimeoutMs?: number } = {}): Promise<void> {
    reactor = await createReactor({
      models: [counter],
      retry: { baseMs: 5, maxMs: 100 },
      ...(options.leaderTimeoutMs === undefined ? {} : { tabs: { leaderTimeoutMs: options.leaderTimeoutMs } }),
    });
    if (options.server !== undefined) {
      const channel = createWebSocketChannel(options.server, { reconnect: { baseMs: 50, maxMs: 250 } });
      await reactor.sync.add({ name: 'server', channel, mode: 'push' });
    }
  },
  role: () => opened().status().role,
  id: () => opened().id,
  createDocument: async (id: string) => {
    await opened().createDocument('counter', { id });
  },
  /**
   * Starts `count` increments tagged `${prefix}-${i}`, `inFlight` at a time, and returns at once;
   * each acknowledged write is reported, each failure kept (see `failures`).
   */
  startBurst(documentId: string, prefix: string, count: number, inFlight = 8): void {
    bursts += 1;
    let next = 0;
    const r = opened();
    const worker = async () => {
      while (next < count) {
        const tag = `${prefix}-${next}`;
        next += 1;
        try {
          await r.mutate(documentId, [{ type: 'INCREMENT', input: { by: 1, tag } }]);
          await window.reportAck?.(tag);
        } catch (error) {
          failures.push(`${tag}: ${(error as Error).message}`);
        }
      }
    };
    void Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker)).then(() => {
      burstsDone += 1;
    });
  },
  /** Whether every burst this page started has finished. */
  burstsDone: () => burstsDone === bursts,
  failures: () => [...failures],
  /** Increments now, all submitted at once; resolves when every one is acknowledged. */
  async increment(documentId: string, tags: readonly string[]): Promise<void> {
    const r = opened();
    await Promise.all(tags.map((tag) => r.mutate(documentId, [{ type: 'INCREMENT', input: { by: 1, tag } }])));
  },
  /** What this page shows of a document. */
  count: (documentId: string): number | undefined =>
    (opened().documents.get(documentId)?.state as { count: number } | undefined)?.count,
  /** The tags of the document's log, in canonical order. */
  tags: async (documentId: string): Promise<string[]> =>
    (await opened().operations(documentId)).map((op) => (op.input as { tag: string }).tag),
  settled: () => opened().sync.settled({ timeoutMs: 20_000 }),
  remote: () => opened().sync.status('server'),
  close: () => opened().stop(),
  /** Ops stored in the default database, read with plain IndexedDB (no reactor in this page needed). */
  rawOperationCount: () =>
    new Promise<number>((resolve, reject) => {
      const request = indexedDB.open('xstate-reactor');
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const db = request.result;
        const count = db.transaction('operations', 'readonly').objectStore('operations').count();
        count.onsuccess = () => {
          db.close();
          resolve(count.result);
        };
        count.onerror = () => reject(count.error);
      };
    }),
};

window.app = app;
