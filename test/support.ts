import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { filter, firstValueFrom, map, timeout } from 'rxjs';
import { afterEach } from 'vitest';
import { createReactor, defineDocumentModel, type Reactor, type ReactorOptions } from '../src/index.js';

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
