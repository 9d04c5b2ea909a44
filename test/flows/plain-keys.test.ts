import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CREATE_DOCUMENT,
  connect,
  createReactor,
  defineDocumentModel,
  hashState,
  type OperationEnvelope,
  type Reactor,
  ReactorError,
  type StorageOptions,
} from '../../src/index.js';
import { createSimulation } from '../../src/sim/index.js';
import { createSqliteStorage } from '../../src/sqlite.js';
import { counter, freshStorage, list, reactorsPerTest } from '../support.js';

/*
 * Every document id, branch, action type, reactor id and remote name is an ordinary key: the
 * reactor keeps them in Maps or prototype-less records and looks reducers up as own properties,
 * so a name that `Object.prototype` answers for (`__proto__`, `constructor`, `toString`, …) is
 * one more name, in the queue lanes, the read model, the stream keys, the sync tables, both
 * storage backends and on the wire.
 */

/** Every name `Object.prototype` answers for, `__proto__` and the `__defineGetter__` family included. */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

/** Names that other code treats specially: snapshot fields, thenables, JSON, arrays, the default branch. */
const AWKWARD_NAMES = ['id', 'state', 'then', 'toJSON', 'length', 'push', 'prototype', 'main', 'doc-1', 'ADD'];

/** Names the property draws ids and action types from, besides generated strings. */
const POOL = [...new Set([...PROTOTYPE_NAMES, ...AWKWARD_NAMES])];

type Bag = { readonly log: readonly string[] };

/** A reducer that records which action ran, with its input. */
const note =
  (name: string) =>
  (state: Bag, input: { v: string }): Bag => ({ log: [...state.log, `${name}:${input.v}`] });

/** A model that legitimately names reducers after prototype members, and lacks the others. */
const bag = defineDocumentModel({
  type: 'bag',
  initialState: (): Bag => ({ log: [] }),
  reducers: {
    // Computed on purpose: a plain `__proto__: fn` in an object literal sets the prototype instead.
    ['__proto__']: note('__proto__'),
    constructor: note('constructor'),
    toString: note('toString'),
    ADD: note('ADD'),
  },
});

/** The action types `bag` defines; every other name is not an action of it. */
const DEFINED = ['__proto__', 'constructor', 'toString', 'ADD'];
const isDefined = (type: string) => DEFINED.includes(type);

/** An action as the property generates it: a type and the `v` of its input. */
type Drawn = { readonly type: string; readonly v: string };

/** What `bag` folds a list of actions to, computed here without the reactor. */
const logOf = (actions: readonly Drawn[]) => actions.map((action) => `${action.type}:${action.v}`);

const folder = mkdtempSync(join(tmpdir(), 'xstate-reactor-plain-keys-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

/** Where a reactor keeps its data: `open()` gives storage options on the same data every time. */
interface Place {
  readonly open: () => StorageOptions;
}

/** The two storage backends, each handing out fresh places. */
const BACKENDS: readonly { readonly name: string; readonly place: () => Place }[] = [
  {
    name: 'fake IndexedDB',
    // One IDBFactory and dbName per place, so a reopened reactor finds its database again.
    place: () => {
      const storage = freshStorage('plain-keys');
      return { open: () => storage };
    },
  },
  {
    name: 'SQLite',
    place: () => {
      files += 1;
      const path = join(folder, `reactor-${files}.db`);
      return { open: () => ({ backend: createSqliteStorage({ path }) }) };
    },
  },
];

/** What a promise was rejected with, or `undefined` if it resolved. */
const refusalOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/** An op as it travels, without the fields this reactor added. */
const asEnvelope = ({ index: _index, error: _error, ...op }: { index: number; error?: string } & OperationEnvelope) =>
  op;

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

/** Generated names: printable ASCII, any code point, and raw UTF-16 code units (lone surrogates too). */
const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
    minLength: 1,
    maxLength: 40,
  }),
);
const name = fc.oneof({ arbitrary: fc.constantFrom(...POOL), weight: 3 }, { arbitrary: text, weight: 1 });
const actionType = fc.oneof({ arbitrary: fc.constantFrom(...DEFINED), weight: 3 }, { arbitrary: name, weight: 2 });

interface Mutation {
  readonly doc: number;
  readonly branch: string;
  readonly actions: readonly Drawn[];
}

interface Scenario {
  /** Ids of reactors A and B. */
  readonly reactors: readonly string[];
  /** A's name for its remote B. */
  readonly remote: string;
  /** The documents and which reactor (0 = A, 1 = B) creates and writes each. */
  readonly documents: readonly { readonly id: string; readonly home: 0 | 1 }[];
  readonly mutations: readonly Mutation[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  reactors: fc.uniqueArray(name, { minLength: 2, maxLength: 2 }),
  remote: name,
  documents: fc.uniqueArray(fc.record({ id: name, home: fc.constantFrom<0 | 1>(0, 1) }), {
    selector: (document) => document.id,
    minLength: 1,
    maxLength: 5,
  }),
  mutations: fc.array(
    fc.record({
      doc: fc.nat(),
      branch: fc.oneof({ arbitrary: fc.constant('main'), weight: 3 }, { arbitrary: name, weight: 1 }),
      actions: fc.array(fc.record({ type: actionType, v: name }), { minLength: 1, maxLength: 3 }),
    }),
    { maxLength: 12 },
  ),
});

/** The logs each document's branches must hold: documentId → branch → actions, in order. */
type Expected = Map<string, Map<string, readonly Drawn[]>>;

/** Checks that `reactor` holds exactly the documents `ids`, each in the state `expected` folds to. */
async function expectHolds(reactor: Reactor, ids: readonly string[], expected: Expected, names: readonly string[]) {
  for (const id of ids) {
    const branches = expected.get(id) ?? new Map<string, readonly Drawn[]>();
    for (const branch of new Set(['main', ...branches.keys()])) {
      const actions = branches.get(branch) ?? [];
      const state = { log: logOf(actions) };
      const snapshot = reactor.documents.get(id, { branch });
      expect(snapshot).toEqual({
        id,
        type: 'bag',
        branch,
        state,
        localState: { log: [] },
        revision: actions.length,
        hash: hashState(state),
        deleted: false,
      });
      const operations = await reactor.operations(id, { branch });
      expect(operations.map((op) => [op.documentId, op.branch, op.type, op.input, op.error])).toEqual(
        actions.map((action) => [id, branch, action.type, { v: action.v }, undefined]),
      );
    }
    const created = await reactor.operations(id, { scope: 'document' });
    expect(created.map((op) => [op.documentId, op.type, op.input])).toEqual([[id, CREATE_DOCUMENT, { model: 'bag' }]]);
  }
  for (const other of names) if (!ids.includes(other)) expect(reactor.documents.get(other)).toBeUndefined();
  expect(
    reactor.documents
      .list()
      .map((snapshot) => snapshot.id)
      .sort(),
  ).toEqual([...ids].sort());
}

/** Everything a reactor shows of the documents `ids`, to compare two reactors or one across a restart. */
async function everything(reactor: Reactor, ids: readonly string[], expected: Expected) {
  const shown = [];
  for (const id of ids) {
    const branches = ['main', ...(expected.get(id)?.keys() ?? [])];
    for (const branch of new Set(branches)) {
      shown.push({
        id,
        branch,
        snapshot: reactor.documents.get(id, { branch }),
        global: (await reactor.operations(id, { branch })).map(asEnvelope),
        document: (await reactor.operations(id, { scope: 'document' })).map(asEnvelope),
      });
    }
  }
  return {
    shown,
    list: reactor.documents
      .list()
      .map((snapshot) => snapshot.id)
      .sort(),
  };
}

async function runScenario(backend: (typeof BACKENDS)[number], s: Scenario): Promise<void> {
  const places = [backend.place(), backend.place()];
  const running: Reactor[] = [];
  const open = async (home: 0 | 1) => {
    const reactor = await createReactor({
      id: s.reactors[home] as string,
      models: [bag],
      storage: (places[home] as Place).open(),
      retry: { baseMs: 5, maxMs: 50 },
    });
    running.push(reactor);
    return reactor;
  };
  try {
    const homes = [await open(0), await open(1)] as const;
    const [a, b] = homes;
    for (const document of s.documents) {
      const created = await homes[document.home].createDocument('bag', { id: document.id });
      expect(created.documentId).toBe(document.id);
    }

    const expected: Expected = new Map();
    for (const mutation of s.mutations) {
      const document = s.documents[mutation.doc % s.documents.length] as Scenario['documents'][number];
      const home = homes[document.home];
      const actions = mutation.actions.map((action) => ({ type: action.type, input: { v: action.v } }));
      const undefinedType = mutation.actions.find((action) => !isDefined(action.type))?.type;
      if (undefinedType === undefined) {
        await home.mutate(document.id, actions, { branch: mutation.branch });
        const branches = expected.get(document.id) ?? new Map<string, readonly Drawn[]>();
        branches.set(mutation.branch, [...(branches.get(mutation.branch) ?? []), ...mutation.actions]);
        expected.set(document.id, branches);
      } else {
        // One action the model lacks refuses the whole mutation, and nothing is written.
        const ordinal = home.status().ordinal;
        const refusal = await refusalOf(home.mutate(document.id, actions, { branch: mutation.branch }));
        expect(refusal).toBeInstanceOf(ReactorError);
        expect(refusal).toMatchObject({
          kind: 'validation',
          message: expect.stringContaining(`model "bag" has no action "${undefinedType}"`),
        });
        expect(home.status().ordinal).toBe(ordinal);
      }
    }

    const ids = s.documents.map((document) => document.id);
    const names = [...new Set([...POOL, ...s.reactors, s.remote, ...s.mutations.map((m) => m.branch)])];
    const idsOf = (home: 0 | 1) => s.documents.filter((document) => document.home === home).map((d) => d.id);
    await expectHolds(a, idsOf(0), expected, names);
    await expectHolds(b, idsOf(1), expected, names);

    // A pushes its documents to B and pulls B's, under a remote name from the same pool.
    await a.sync.add({ name: s.remote, channel: connect(a, b), mode: 'ping-pong', pullIntervalMs: 20 });
    // A bounded wait, so a sync that never settles fails this run (and shrinks) instead of hanging.
    await a.sync.settled({ timeoutMs: 10_000 });
    await a.sync.settled({ timeoutMs: 10_000 });
    await expectHolds(a, ids, expected, names);
    await expectHolds(b, ids, expected, names);
    const seen = await everything(a, ids, expected);
    expect(await everything(b, ids, expected)).toEqual(seen);
    expect(a.sync.deadLetters()).toEqual([]);
    expect(b.sync.deadLetters()).toEqual([]);
    expect(a.sync.status(s.remote)).toMatchObject({ name: s.remote, pending: 0, lastError: undefined });

    // Both restart on their own data and show the same documents, and A still knows its remote.
    await Promise.all(running.splice(0).map((reactor) => reactor.stop()));
    const again = [await open(0), await open(1)] as const;
    expect(await everything(again[0], ids, expected)).toEqual(seen);
    expect(await everything(again[1], ids, expected)).toEqual(seen);
    await expectHolds(again[0], ids, expected, names);
    await expectHolds(again[1], ids, expected, names);
    expect(again[0].sync.list()).toEqual([expect.objectContaining({ name: s.remote, phase: 'detached' })]);
  } finally {
    await Promise.all(running.splice(0).map((reactor) => reactor.stop()));
  }
}

describe.each(BACKENDS)('on $name, ids and action types drawn from Object.prototype names', (backend) => {
  it('are ordinary keys: create, mutate, refuse, sync both ways and restart as any other name', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) => runScenario(backend, s)),
      { numRuns: 25 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The symptoms, one by one
// ---------------------------------------------------------------------------------------------

const reactor = reactorsPerTest({ models: [counter, list, bag], retry: { baseMs: 5, maxMs: 50 } });

describe('prototype names, one symptom at a time', () => {
  it('the bag model defines exactly its own reducers, `__proto__` included, and nothing inherited', () => {
    expect(Object.keys(bag.reducers).sort()).toEqual([...DEFINED].sort());
    expect(Object.getPrototypeOf(bag.reducers)).toBeNull();
  });

  it.each(['__proto__', 'constructor', 'hasOwnProperty', 'toString'])(
    '%s as a document id: created, mutated, read back, and loaded into another reactor',
    async (id) => {
      const here = await reactor({ id: 'here' });
      const created = await here.createDocument('counter', { id });
      expect(created.documentId).toBe(id);
      await here.mutate(id, [{ type: 'INCREMENT', input: { by: 2 } }]);
      await here.mutate(id, [{ type: 'INCREMENT', input: { by: 3 } }]);
      expect(here.documents.get(id)).toMatchObject({ id, type: 'counter', state: { count: 5 }, revision: 2 });
      expect(here.documents.list().map((snapshot) => snapshot.id)).toEqual([id]);
      expect(await here.operations(id)).toHaveLength(2);

      const elsewhere = await reactor({ id: 'elsewhere' });
      const ops = [...(await here.operations(id, { scope: 'document' })), ...(await here.operations(id))].map(
        asEnvelope,
      );
      expect(await elsewhere.load(ops)).toEqual({ stored: 3, duplicates: 0 });
      expect(await elsewhere.load(ops)).toEqual({ stored: 0, duplicates: 3 });
      expect(elsewhere.documents.get(id)).toEqual(here.documents.get(id));
      await elsewhere.mutate(id, [{ type: 'INCREMENT', input: { by: 10 } }]);
      expect(elsewhere.documents.get(id)).toMatchObject({ id, state: { count: 15 }, revision: 3 });
    },
  );

  it('an empty reactor knows no document, stream or remote by a prototype name', async () => {
    const empty = await reactor();
    for (const name of POOL) {
      expect(empty.documents.get(name)).toBeUndefined();
      expect(empty.documents.get(name, { branch: name })).toBeUndefined();
      expect(await empty.operations(name)).toEqual([]);
      expect(empty.sync.status(name)).toBeUndefined();
    }
    expect(empty.documents.get('constructor')).toBeUndefined();
    expect(empty.documents.list()).toEqual([]);
  });

  it('a pushed `__proto__` document is one document: it lends no fields to other ids and stays listed', async () => {
    const a = await reactor({ id: 'a' });
    const b = await reactor({ id: 'b' });
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'push' });
    await a.createDocument('counter', { id: '__proto__' });
    await a.mutate('__proto__', [{ type: 'INCREMENT', input: { by: 4 } }]);
    await a.sync.settled();
    expect(b.documents.get('__proto__')).toEqual(a.documents.get('__proto__'));
    for (const field of ['id', 'type', 'state', 'revision', 'hash', 'branch']) {
      expect(b.documents.get(field)).toBeUndefined();
    }

    // More writes on both sides, to it and to another document: it is still there, once.
    await b.createDocument('counter', { id: 'other' });
    await b.mutate('__proto__', [{ type: 'INCREMENT', input: { by: 100 } }]);
    await a.mutate('__proto__', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await a.sync.settled();
    expect(b.documents.get('__proto__')).toMatchObject({ id: '__proto__', state: { count: 105 }, revision: 3 });
    expect(
      b.documents
        .list()
        .map((snapshot) => snapshot.id)
        .sort(),
    ).toEqual(['__proto__', 'other']);
    expect(b.documents.get('id')).toBeUndefined();
    expect(b.documents.get('state')).toBeUndefined();
    expect(b.sync.deadLetters()).toEqual([]);
  });

  it('mutate refuses `toString` (and every other prototype name) on a model without such a reducer', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'c' });
    await expect(r.mutate('c', [{ type: 'toString', input: { by: 1 } }])).rejects.toMatchObject({
      kind: 'validation',
      message: expect.stringContaining('model "counter" has no action "toString"; expected one of: INCREMENT'),
    });
    for (const type of PROTOTYPE_NAMES) {
      const refusal = await refusalOf(r.mutate('c', [{ type, input: { by: 1 } }]));
      expect(refusal, type).toBeInstanceOf(ReactorError);
      expect(refusal, type).toMatchObject({
        kind: 'validation',
        message: expect.stringContaining(`model "counter" has no action "${type}"`),
      });
    }
    expect(await r.operations('c')).toEqual([]);
    expect(r.documents.get('c')).toMatchObject({ state: { count: 0 }, revision: 0 });
  });

  it('a model’s `constructor` and `__proto__` reducers run like any other, and `valueOf` is refused', async () => {
    const r = await reactor();
    await r.createDocument('bag', { id: 'b' });
    await r.mutate('b', [
      { type: '__proto__', input: { v: '1' } },
      { type: 'constructor', input: { v: '2' } },
      { type: 'toString', input: { v: '3' } },
    ]);
    for (const type of ['valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__']) {
      await expect(r.mutate('b', [{ type, input: { v: 'x' } }])).rejects.toMatchObject({ kind: 'validation' });
    }
    expect(r.documents.get('b')?.state).toEqual({ log: ['__proto__:1', 'constructor:2', 'toString:3'] });
    expect((await r.operations('b')).map((op) => op.type)).toEqual(['__proto__', 'constructor', 'toString']);
  });

  it('a document id that spells another document’s branch key is its own document', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'x' });
    await r.mutate('x', [{ type: 'INCREMENT', input: { by: 5 } }], { branch: 'draft' });
    expect(r.documents.get('["x","draft"]')).toBeUndefined();
    await r.createDocument('counter', { id: '["x","draft"]' });
    await r.mutate('["x","draft"]', [{ type: 'INCREMENT', input: { by: 100 } }]);
    expect(r.documents.get('x', { branch: 'draft' })).toMatchObject({ id: 'x', branch: 'draft', state: { count: 5 } });
    expect(r.documents.get('["x","draft"]')).toMatchObject({ id: '["x","draft"]', state: { count: 100 } });
  });

  it('the simulation summary counts documents named after prototype members', async () => {
    const sim = await createSimulation({ seed: 1, reactors: 2, topology: 'pair' });
    try {
      for (const id of ['constructor', '__proto__', 'plain']) await sim.reactor(0).createDocument('counter', { id });
      await sim.quiesce();
      expect(Object.keys((await sim.summary()).states).sort()).toEqual(['__proto__', 'constructor', 'plain']);
    } finally {
      await sim.stop();
    }
  });
});
