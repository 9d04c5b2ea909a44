import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createReactor, defineDocumentModel, type Reactor } from '../index.js';

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: {
    INCREMENT: (state: { count: number }, input: { by: number }) => ({ count: state.count + input.by }),
  },
});

const todo = defineDocumentModel({
  type: 'todo',
  initialState: () => ({ items: [] as { title: string; done: boolean }[] }),
  reducers: {
    ADD: (state: { items: { title: string; done: boolean }[] }, input: { title: string }) => ({
      items: [...state.items, { title: input.title, done: false }],
    }),
    TOGGLE: (state: { items: { title: string; done: boolean }[] }, input: { index: number }) => {
      if (state.items[input.index] === undefined) throw new Error(`no item ${input.index}`);
      return { items: state.items.map((item, i) => (i === input.index ? { ...item, done: !item.done } : item)) };
    },
  },
});

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

/** A scripted tour of one reactor on fake IndexedDB: documents, mutations, errors, restart. */
export async function runDemo(log: (line: string) => void = console.log): Promise<void> {
  const storage = { dbName: 'demo', indexedDB: new IDBFactory(), IDBKeyRange };
  const open = () => createReactor({ models: [counter, todo], id: 'demo', storage });
  let reactor: Reactor = await open();
  log(`reactor "${reactor.id}" open on fake IndexedDB`);

  const counters = ['clicks', 'views', 'likes'];
  for (const id of counters) await reactor.createDocument('counter', { id });
  await reactor.createDocument('todo', { id: 'todo' });
  log(`created ${counters.length + 1} documents`);

  const burst = 3000;
  let start = performance.now();
  await Promise.all(
    Array.from({ length: burst }, (_, i) =>
      reactor.mutate(counters[i % counters.length] as string, [{ type: 'INCREMENT', input: { by: 1 } }]),
    ),
  );
  let elapsed = performance.now() - start;
  log(`burst: ${burst} mutations without awaiting in ${fmt(elapsed)} (${Math.round(burst / (elapsed / 1000))} ops/s)`);

  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await reactor.mutate('todo', [{ type: 'ADD', input: { title: `task ${i}` } }]);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  log(
    `sequential: 200 awaited mutations, p50 ${fmt(percentile(latencies, 50))}, p99 ${fmt(percentile(latencies, 99))}`,
  );

  try {
    await reactor.mutate('todo', [{ type: 'TOGGLE', input: { index: 999 } }]);
  } catch (error) {
    log(`rejected as expected: ${(error as Error).message}`);
  }

  const before = reactor.documents.list();
  start = performance.now();
  await reactor.stop();
  reactor = await open();
  elapsed = performance.now() - start;
  const after = reactor.documents.list();
  const same = before.every((doc) => after.find((d) => d.id === doc.id)?.hash === doc.hash);
  log(
    `restart: stopped and reopened in ${fmt(elapsed)}; every document restored with the same hash: ${same ? 'yes' : 'NO'}`,
  );

  const rows = after.map((doc) => ({
    document: doc.id,
    type: doc.type,
    revision: doc.revision,
    state: JSON.stringify(doc.state).slice(0, 40),
    hash: doc.hash,
  }));
  console.table(rows);
  await reactor.stop();
  if (!same) process.exitCode = 1;
}
