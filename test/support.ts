import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
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
