import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CREATE_DOCUMENT,
  createReactor,
  defineDocumentModel,
  encodeHlc,
  fold,
  hashState,
  type Operation,
  type OperationEnvelope,
  sortCanonical,
} from '../../src/index.js';
import { applyOperation } from '../../src/model/fold.js';
import { envelope } from '../support.js';

/** The same op with the id its content derives (the drafts below name ops for reading only). */
const rehash = ({ id: _id, ...content }: OperationEnvelope): OperationEnvelope => envelope(content);

/** APPEND refuses once the list holds this many items, so which ops are marked depends on order. */
const LIMIT = 6;

type ListState = { readonly items: readonly string[] };

const list = defineDocumentModel({
  type: 'list',
  initialState: (): ListState => ({ items: [] }),
  reducers: {
    APPEND: (state: ListState, input: { value: string }): ListState => {
      if (state.items.length >= LIMIT) throw new Error(`the list is full (${LIMIT} items)`);
      return { items: [...state.items, input.value] };
    },
    /** Removes the first item; refuses on an empty list, so an earlier op arriving late can clear its mark. */
    SHIFT: (state: ListState): ListState => {
      if (state.items.length === 0) throw new Error('the list is empty');
      return { items: state.items.slice(1) };
    },
    REFUSE: (_state: ListState, input: { value: string }): ListState => {
      throw new Error(`refused ${input.value}`);
    },
  },
});

const DOCUMENTS = ['doc-a', 'doc-b'] as const;
const ORIGINS = ['alice', 'bob', 'carol'] as const;

/** The shape of a generated op before ids and timestamps are made. */
interface Draft {
  readonly doc: number;
  readonly origin: number;
  readonly wall: number;
  readonly logical: number;
  readonly type: 'APPEND' | 'SHIFT' | 'REFUSE';
}

interface Scenario {
  readonly documentIds: readonly string[];
  readonly creates: readonly OperationEnvelope[];
  readonly ops: readonly OperationEnvelope[];
}

/** Builds CREATE_DOCUMENT ops and global ops whose timestamps collide often (small walls, 2–3 origins). */
function buildScenario(documents: number, origins: number, createWalls: readonly number[], drafts: readonly Draft[]) {
  const documentIds = DOCUMENTS.slice(0, documents);
  const creates = documentIds.map(
    (documentId, i): OperationEnvelope => ({
      id: `create-${documentId}`,
      documentId,
      scope: 'document',
      branch: 'main',
      type: CREATE_DOCUMENT,
      input: { model: 'list' },
      timestamp: encodeHlc({ wall: createWalls[i] ?? 0, logical: 0 }, ORIGINS[i % origins] as string),
      origin: ORIGINS[i % origins] as string,
    }),
  );
  const ops = drafts.map((draft, i): OperationEnvelope => {
    const origin = ORIGINS[draft.origin % origins] as string;
    return {
      id: `op-${String(i).padStart(2, '0')}-${origin}`,
      documentId: documentIds[draft.doc % documents] as string,
      scope: 'global',
      branch: 'main',
      type: draft.type,
      input: { value: `${origin}#${i}` },
      timestamp: encodeHlc({ wall: draft.wall, logical: draft.logical }, origin),
      origin,
    };
  });
  return { documentIds, creates: creates.map(rehash), ops: ops.map(rehash) } satisfies Scenario;
}

/** What every reactor must show for a document: the canonical log with its marks, and the folded state. */
function expectedFor(scenario: Scenario, documentId: string) {
  const ops = sortCanonical(scenario.ops.filter((op) => op.documentId === documentId));
  const log: Operation[] = [];
  let state: unknown = list.initialState();
  ops.forEach((op, index) => {
    const result = applyOperation(list, state, op);
    state = result.state;
    log.push(result.error === undefined ? { ...op, index } : { ...op, index, error: result.error });
  });
  const folded = fold(list, ops);
  expect(state).toEqual(folded);
  return { log, state: folded, hash: hashState(folded) };
}

/** Splits `ops` into consecutive chunks of the given sizes (the last chunk takes what is left). */
function chunk<T>(ops: readonly T[], sizes: readonly number[]): T[][] {
  const chunks: T[][] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= ops.length) break;
    chunks.push(ops.slice(at, at + size));
    at += size;
  }
  if (at < ops.length) chunks.push(ops.slice(at));
  return chunks;
}

let databases = 0;

/** Loads the chunks, one awaited `load` after another, into a fresh reactor and reports what it shows. */
async function deliver(chunks: readonly (readonly OperationEnvelope[])[], documentIds: readonly string[]) {
  databases += 1;
  const reactor = await createReactor({
    models: [list],
    keyframeInterval: 3,
    storage: { dbName: `r${databases}`, indexedDB: new IDBFactory(), IDBKeyRange },
  });
  try {
    for (const batch of chunks) await reactor.load(batch);
    const seen = [];
    for (const documentId of documentIds) {
      const log = await reactor.operations(documentId);
      const created = await reactor.operations(documentId, { scope: 'document' });
      seen.push({ documentId, log, created, snapshot: reactor.documents.get(documentId) });
    }
    return seen;
  } finally {
    await reactor.stop();
  }
}

const draft: fc.Arbitrary<Draft> = fc.record({
  doc: fc.nat({ max: 1 }),
  origin: fc.nat({ max: 2 }),
  wall: fc.integer({ min: 1, max: 6 }),
  logical: fc.nat({ max: 2 }),
  type: fc.constantFrom('APPEND', 'APPEND', 'APPEND', 'APPEND', 'SHIFT', 'SHIFT', 'REFUSE'),
});

/** One way the ops can reach a reactor: an arrival order and the sizes of the `load` batches. */
function arrival(all: readonly OperationEnvelope[]) {
  return fc.record({
    order: fc.shuffledSubarray([...all], { minLength: all.length, maxLength: all.length }),
    sizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: all.length, maxLength: all.length }),
  });
}

const scenarioWithArrivals = fc
  .record({
    documents: fc.integer({ min: 1, max: 2 }),
    origins: fc.integer({ min: 2, max: 3 }),
    createWalls: fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 })),
    drafts: fc.array(draft, { minLength: 1, maxLength: 16 }),
  })
  .chain(({ documents, origins, createWalls, drafts }) => {
    const scenario = buildScenario(documents, origins, createWalls, drafts);
    const all = [...scenario.creates, ...scenario.ops];
    return fc.record({
      scenario: fc.constant(scenario),
      arrivals: fc.tuple(arrival(all), arrival(all)),
      createsLast: arrival(scenario.ops),
    });
  });

describe('convergence: the same ops give the same state whatever order and batches they arrive in', () => {
  it('materialises identical state, hash and log on every reactor, equal to the canonical fold', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioWithArrivals, async ({ scenario, arrivals, createsLast }) => {
        const deliveries = [
          ...arrivals.map((a) => chunk(a.order, a.sizes)),
          // Every data op before its document exists.
          [...chunk(createsLast.order, createsLast.sizes), [...scenario.creates]],
          // The CREATE first, then one op at a time from the canonically last: a rebase on every load.
          [
            [...scenario.creates],
            ...sortCanonical(scenario.ops)
              .reverse()
              .map((op) => [op]),
          ],
        ];
        for (const chunks of deliveries) {
          const seen = await deliver(chunks, scenario.documentIds);
          for (const { documentId, log, created, snapshot } of seen) {
            const expected = expectedFor(scenario, documentId);
            expect(log).toEqual(expected.log);
            expect(log.map((op) => op.index)).toEqual(expected.log.map((_, i) => i));
            expect(created.map((op) => op.id)).toEqual(
              scenario.creates.filter((op) => op.documentId === documentId).map((op) => op.id),
            );
            expect(snapshot).toMatchObject({
              id: documentId,
              type: 'list',
              state: expected.state,
              hash: expected.hash,
              revision: expected.log.length,
              deleted: false,
            });
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it('marks the ops past the limit by canonical position, not by arrival', async () => {
    const ops = Array.from({ length: LIMIT + 3 }, (_, i): OperationEnvelope => {
      const origin = i % 2 === 0 ? 'alice' : 'bob';
      return {
        id: `op-${i}`,
        documentId: 'doc-a',
        scope: 'global',
        branch: 'main',
        type: 'APPEND',
        input: { value: `v${i}` },
        timestamp: encodeHlc({ wall: 10 + i, logical: 0 }, origin),
        origin,
      };
    });
    const create: OperationEnvelope = {
      id: 'create-doc-a',
      documentId: 'doc-a',
      scope: 'document',
      branch: 'main',
      type: CREATE_DOCUMENT,
      input: { model: 'list' },
      timestamp: encodeHlc({ wall: 1, logical: 0 }, 'alice'),
      origin: 'alice',
    };
    const [seen] = await deliver([ops.map(rehash).reverse(), [rehash(create)]], ['doc-a']);
    expect(seen?.snapshot?.state).toEqual({ items: ['v0', 'v1', 'v2', 'v3', 'v4', 'v5'] });
    expect(seen?.log.filter((op) => op.error !== undefined).map((op) => (op.input as { value: string }).value)).toEqual(
      ['v6', 'v7', 'v8'],
    );
  });

  it('clears a mark when an op that sorts earlier arrives later and makes it apply', async () => {
    const at = (wall: number) => encodeHlc({ wall, logical: 0 }, 'alice');
    const create: OperationEnvelope = {
      id: 'create-doc-a',
      documentId: 'doc-a',
      scope: 'document',
      branch: 'main',
      type: CREATE_DOCUMENT,
      input: { model: 'list' },
      timestamp: at(1),
      origin: 'alice',
    };
    const base = { documentId: 'doc-a', scope: 'global', branch: 'main', origin: 'alice' } as const;
    const shift: OperationEnvelope = { ...base, id: 'shift', type: 'SHIFT', input: {}, timestamp: at(20) };
    const appends = ['x', 'y', 'z'].map(
      (value, i): OperationEnvelope => ({
        ...base,
        id: `append-${value}`,
        type: 'APPEND',
        input: { value },
        timestamp: at(10 + i),
      }),
    );
    const names = new Map([shift, ...appends].map((op) => [rehash(op).id, op.id]));
    const [seen] = await deliver(
      [[create], [shift], ...appends.map((op) => [op])].map((batch) => batch.map(rehash)),
      ['doc-a'],
    );
    expect(seen?.snapshot?.state).toEqual({ items: ['y', 'z'] });
    expect(seen?.log.map((op) => [names.get(op.id), op.index, op.error])).toEqual([
      ['append-x', 0, undefined],
      ['append-y', 1, undefined],
      ['append-z', 2, undefined],
      ['shift', 3, undefined],
    ]);
  });
});
