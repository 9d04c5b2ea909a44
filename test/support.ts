import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { filter, firstValueFrom, map, throwError, timeout } from 'rxjs';
import { afterEach } from 'vitest';
import {
  type Channel,
  createReactor,
  type DocumentSnapshot,
  defineDocumentModel,
  type OperationContent,
  type OperationEnvelope,
  operationId,
  type PullRequest,
  type PullResponse,
  type PushRequest,
  type PushResponse,
  type Reactor,
  type ReactorOptions,
} from '../src/index.js';
import type { RemoteInput } from '../src/machines/remote/remoteSetup.js';

/** A counter: the model of the README. */
export const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: {
    INCREMENT: (state: { count: number }, input: { by: number }) => ({ count: state.count + input.by }),
    FAIL_IF_NEGATIVE: (state: { count: number }, input: { by: number }) => {
      if (state.count + input.by < 0) throw new Error(`count would be ${state.count + input.by}`);
      return { count: state.count + input.by };
    },
  },
});

/** A list whose state depends on op order. */
export const list = defineDocumentModel({
  type: 'list',
  initialState: () => ({ items: [] as string[] }),
  reducers: {
    ADD: (state: { items: string[] }, input: { item: string }) => ({ items: [...state.items, input.item] }),
  },
});

/** An op made elsewhere, as a peer would send it: its id derives from its content. */
export function envelope(content: OperationContent): OperationEnvelope {
  return { id: operationId(content), ...content };
}

/** A fresh fake IndexedDB with the matching key range: one per test. */
export function freshStorage(dbName = 'reactor') {
  return { dbName, indexedDB: new IDBFactory(), IDBKeyRange };
}

/** Opens a reactor on fresh storage (or the given storage) with both test models. */
export function openReactor(options: Partial<ReactorOptions> = {}): Promise<Reactor> {
  return createReactor({ models: [counter, list], storage: freshStorage(), ...options });
}

/**
 * Opens reactors for the tests of one file (with `defaults`) and stops every one after each test.
 * Reactors a test stopped already are fine: `stop()` returns the same promise again.
 */
export function reactorsPerTest(defaults: Partial<ReactorOptions> = {}) {
  const open: Reactor[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.stop()));
  });
  return async (options: Partial<ReactorOptions> = {}): Promise<Reactor> => {
    const reactor = await openReactor({ ...defaults, ...options });
    open.push(reactor);
    return reactor;
  };
}

/** A remote's status once it is idle again (an interval or a poke may start a round after `settled()`). */
export function idleStatus(reactor: Reactor, name: string) {
  return firstValueFrom(
    reactor.sync.status$.pipe(
      map((all) => all.find((status) => status.name === name)),
      filter((status) => status?.phase === 'idle'),
      timeout(5_000),
    ),
  );
}

/** A channel that records every request it carries and the answer it got (hooks see answers as they come). */
export function spyChannel(
  channel: Channel,
  hooks: { onPull?: (response: PullResponse) => void; onPush?: (response: PushResponse) => void } = {},
) {
  const pushes: { request: PushRequest; response: PushResponse }[] = [];
  const pulls: { request: PullRequest; response: PullResponse }[] = [];
  const wrapped: Channel = {
    async push(request) {
      const response = await channel.push(request);
      pushes.push({ request, response });
      hooks.onPush?.(response);
      return response;
    },
    async pull(request) {
      const response = await channel.pull(request);
      pulls.push({ request, response });
      hooks.onPull?.(response);
      return response;
    },
    ...(channel.pokes === undefined ? {} : { pokes: channel.pokes }),
    close: () => channel.close(),
  };
  return {
    channel: wrapped,
    pushes,
    pulls,
    pushed: () => pushes.flatMap((p) => p.request.operations),
    pulled: () => pulls.flatMap((p) => p.response.operations),
  };
}

/** Settings of one remote's statechart, for machine tests. */
export function remoteInput(name = 'hub', overrides: Partial<RemoteInput> = {}): RemoteInput {
  return {
    name,
    mode: 'ping-pong',
    batchSize: 10,
    debounceMs: 5,
    pullIntervalMs: 100,
    retry: { baseMs: 20, maxMs: 200 },
    offlineAfter: 3,
    pushCursor: 0,
    pullCursor: 0,
    localOrdinal: 0,
    seed: 42,
    ...overrides,
  };
}

/**
 * Waits until a document's snapshot passes `check` (the read model, not the bus: the view updates
 * after `operations.written` is published). Rejects naming the document after `ms`.
 */
export function untilDocument(
  reactor: Reactor,
  documentId: string,
  check: (snapshot: DocumentSnapshot) => boolean = () => true,
  ms = 5_000,
): Promise<DocumentSnapshot> {
  return firstValueFrom(
    reactor.documents.observe(documentId).pipe(
      filter(check),
      timeout({
        first: ms,
        with: () => throwError(() => new Error(`${reactor.id}: ${documentId} not as expected after ${ms} ms`)),
      }),
    ),
  );
}

/** The `count` of a counter document, if it exists. */
export const countOf = (reactor: Reactor, documentId: string) =>
  (reactor.documents.get(documentId)?.state as { count: number } | undefined)?.count;
