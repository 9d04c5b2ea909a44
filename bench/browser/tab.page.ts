/**
 * Runs in each tab of the B3-across-tabs benchmark (`bench/browser/b3.ts`): one reactor on its
 * own IndexedDB database, syncing in ping-pong with the reactors of the other tabs through
 * `createBroadcastTransport`. Times are `performance.timeOrigin + performance.now()`; a clock
 * probe over a second BroadcastChannel measures how far two tabs' clocks are apart.
 */
import { filter, firstValueFrom, type Subscription, timeout } from 'rxjs';
import {
  type BroadcastTransport,
  createBroadcastTransport,
  createReactor,
  defineDocumentModel,
  type Reactor,
} from '../../src/index.js';

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { INCREMENT: (s: { count: number }, input: { by: number }) => ({ count: s.count + input.by }) },
});
const INCREMENT = [{ type: 'INCREMENT', input: { by: 1 } }] as const;

/** A clock two tabs of one browser can compare (up to the offset `clockOffset` measures). */
const clock = () => performance.timeOrigin + performance.now();

let reactor: Reactor | undefined;
let tabs: BroadcastTransport | undefined;
let database = '';
let watching: { done: Promise<number[]>; subscription: Subscription } | undefined;
let clockChannel: BroadcastChannel | undefined;
/** Tells this tab's clock probes from another tab's. */
const tabToken = crypto.randomUUID();

function current(): Reactor {
  if (reactor === undefined) throw new Error('open() first');
  return reactor;
}

/** Opens this tab's reactor and follows every other tab's in ping-pong. Answers clock probes. */
async function open(options: { id: string; dbName: string; channelName: string; debounceMs: number }) {
  database = options.dbName;
  reactor = await createReactor({ models: [counter], id: options.id, storage: { dbName: options.dbName } });
  tabs = createBroadcastTransport(reactor, { channelName: options.channelName });
  tabs.syncWithPeers({ mode: 'ping-pong', debounceMs: options.debounceMs });
  clockChannel = new BroadcastChannel(`${options.channelName}-clock`);
  clockChannel.onmessage = (event: MessageEvent<{ ping?: number; from?: string }>) => {
    const { ping, from } = event.data;
    if (typeof ping === 'number' && from !== tabToken) clockChannel?.postMessage({ pong: ping, to: from, at: clock() });
  };
}

/** Resolves once the remote for tab `peerId` has finished a first round. */
async function connectedTo(peerId: string): Promise<void> {
  await firstValueFrom(
    current().sync.status$.pipe(
      filter((all) => all.some((status) => status.name === `tab:${peerId}` && status.phase === 'idle')),
      timeout(15_000),
    ),
  );
}

/** Creates a document and waits until every peer has it. */
async function createDocument(documentId: string): Promise<void> {
  await current().createDocument('counter', { id: documentId });
  await current().sync.settled();
}

/** Resolves once this tab shows the document with at least `count` increments. */
async function shows(documentId: string, count: number): Promise<void> {
  await firstValueFrom(
    current()
      .documents.observe(documentId)
      .pipe(
        filter((snapshot) => ((snapshot.state as { count: number }).count ?? 0) >= count),
        timeout(15_000),
      ),
  );
}

/**
 * Starts recording when each of the next `total` increments of `documentId` becomes visible here
 * (the n-th entry: when the count first reached n). Ops of one writer arrive in order, so a count
 * of n means its first n ops are in.
 */
function watch(documentId: string, total: number): void {
  const seenAt: number[] = [];
  let subscription: Subscription | undefined;
  const done = new Promise<number[]>((resolve) => {
    subscription = current()
      .documents.observe(documentId)
      .subscribe((snapshot) => {
        const count = (snapshot.state as { count: number }).count;
        const at = clock();
        while (seenAt.length < Math.min(count, total)) seenAt.push(at);
        if (seenAt.length >= total) resolve(seenAt);
      });
  });
  watching = { done, subscription: subscription! };
}

/** The times recorded by `watch`, once all are in (or fails after `timeoutMs`). */
async function watched(timeoutMs: number): Promise<number[]> {
  if (watching === undefined) throw new Error('watch() first');
  const { done, subscription } = watching;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not every op arrived within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    subscription.unsubscribe();
    watching = undefined;
  }
}

/** `count` single increments at `perSecond`, on a fixed schedule, not awaited one by one. */
async function writePaced(options: { documentId: string; count: number; perSecond: number }) {
  const interval = 1000 / options.perSecond;
  const calledAt: number[] = [];
  const resolvedAt: number[] = [];
  const calls: Promise<void>[] = [];
  const start = clock();
  for (let k = 0; k < options.count; k++) {
    const wait = start + k * interval - clock();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    calledAt[k] = clock();
    calls.push(
      current()
        .mutate(options.documentId, INCREMENT)
        .then(() => {
          resolvedAt[k] = clock();
        }),
    );
  }
  await Promise.all(calls);
  return { calledAt, resolvedAt, seconds: (clock() - start) / 1000 };
}

/**
 * The other tab's clock minus this one's, from the probe with the shortest round trip (NTP-style),
 * and half that round trip as the uncertainty.
 */
async function clockOffset(probes: number): Promise<{ offset: number; uncertainty: number }> {
  const channel = clockChannel;
  if (channel === undefined) throw new Error('open() first');
  const probe = new BroadcastChannel(channel.name);
  let best = { offset: 0, uncertainty: Number.POSITIVE_INFINITY };
  try {
    for (let ping = 0; ping < probes; ping++) {
      const sent = clock();
      const at = await new Promise<number>((resolve) => {
        probe.onmessage = (event: MessageEvent<{ pong?: number; to?: string; at: number }>) => {
          if (event.data.pong === ping && event.data.to === tabToken) resolve(event.data.at);
        };
        probe.postMessage({ ping, from: tabToken });
      });
      const received = clock();
      if ((received - sent) / 2 < best.uncertainty) {
        best = { offset: at - (sent + received) / 2, uncertainty: (received - sent) / 2 };
      }
    }
  } finally {
    probe.close();
  }
  return best;
}

/** Closes the transport, stops the reactor and deletes its database. */
async function close(): Promise<void> {
  tabs?.close();
  clockChannel?.close();
  await reactor?.stop();
  reactor = undefined;
  await new Promise<void>((resolve, reject) => {
    const request = indexedDB.deleteDatabase(database);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** What the runner calls through `page.evaluate`. */
export const b3 = {
  open,
  connectedTo,
  createDocument,
  shows,
  watch,
  watched,
  writePaced,
  clockOffset,
  close,
  id: () => current().id,
};
export type B3Page = typeof b3;

declare global {
  interface Window {
    b3?: B3Page;
  }
}
window.b3 = b3;
