/**
 * One tab of `test/e2e/tabs.test.ts`: a reactor on its own IndexedDB database that syncs in
 * ping-pong with every other tab through `createBroadcastTransport`, as an app would set it up.
 * The test drives it through `window.tab`.
 */
import {
  type BroadcastTransport,
  createBroadcastTransport,
  createReactor,
  defineDocumentModel,
  type Reactor,
} from '../../../src/index.js';

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { INCREMENT: (s: { count: number }, input: { by: number }) => ({ count: s.count + input.by }) },
});

let reactor: Reactor | undefined;
let tabs: BroadcastTransport | undefined;

function opened(): { reactor: Reactor; tabs: BroadcastTransport } {
  if (reactor === undefined || tabs === undefined) throw new Error('tab.open() first');
  return { reactor, tabs };
}

export const tab = {
  /** Opens this tab's reactor on `dbName` and follows the other tabs on `channelName`. */
  async open(options: { id: string; dbName: string; channelName: string }): Promise<void> {
    reactor = await createReactor({
      models: [counter],
      id: options.id,
      storage: { dbName: options.dbName },
      retry: { baseMs: 5, maxMs: 50 },
    });
    tabs = createBroadcastTransport(reactor, { channelName: options.channelName });
    tabs.syncWithPeers({ mode: 'ping-pong' });
  },
  peers: (): readonly string[] => opened().tabs.peers(),
  /** This tab's remotes: name, mode and phase. */
  remotes: () =>
    opened()
      .reactor.sync.list()
      .map(({ name, mode, phase }) => ({ name, mode, phase })),
  createDocument: async (id: string) => {
    await opened().reactor.createDocument('counter', { id });
  },
  /** Increments, one mutate call each, all submitted before any is awaited. */
  increment: async (documentId: string, amounts: readonly number[]) => {
    const { reactor: r } = opened();
    await Promise.all(amounts.map((by) => r.mutate(documentId, [{ type: 'INCREMENT', input: { by } }])));
  },
  /** What this tab shows of a document: count, revision and hash (undefined until it has it). */
  document: (documentId: string) => {
    const snapshot = opened().reactor.documents.get(documentId);
    if (snapshot === undefined) return undefined;
    return { count: (snapshot.state as { count: number }).count, revision: snapshot.revision, hash: snapshot.hash };
  },
  /** The ids of the document's global log, in canonical order. */
  log: async (documentId: string) => (await opened().reactor.operations(documentId)).map((op) => op.id),
  /** Origins of the ops in the document's global log. */
  origins: async (documentId: string) => (await opened().reactor.operations(documentId)).map((op) => op.origin),
  /** Leaves: says goodbye to the other tabs and stops the reactor (what an app does on `pagehide`). */
  close: async () => {
    const { reactor: r, tabs: t } = opened();
    t.close();
    await r.stop();
  },
};

declare global {
  interface Window {
    tab?: typeof tab;
  }
}
window.tab = tab;
