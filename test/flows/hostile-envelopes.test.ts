import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type Channel,
  CLOSE_CODES,
  CREATE_DOCUMENT,
  canonicalJson,
  connect,
  createWebSocketChannel,
  DELETE_DOCUMENT,
  encodeHlc,
  type OperationEnvelope,
  operationId,
  PROTOCOL_VERSION,
  type PullResponse,
  type PushResponse,
  type Reactor,
  ReactorError,
  SCOPES,
  type Scope,
  type WebSocketChannel,
} from '../../src/index.js';
import { type Exit, killAllServers, type ServerProcess, startServer } from '../server/serverProcess.js';
import { countOf, envelope, freshStorage, openReactor, untilDocument } from '../support.js';

/**
 * Hostile input at every door a peer can knock on: `endpoint.push` and `endpoint.pull` in process,
 * the pages a hostile remote answers a pull with, and the frame parser of a switchboard process.
 * Garbage and adversarial envelopes are mixed with honest ops; whatever arrives, nothing crashes or
 * hangs, the honest ops are applied, refused ops are not, and an honest peer converges with the
 * victim afterwards. On failure fast-check prints the seed and path; replay with
 * `PROPERTY_SEED=<seed> PROPERTY_PATH=<path>` (`PROPERTY_RUNS=<n>` for a longer search).
 */

const SEED = Number(process.env.PROPERTY_SEED ?? 20_261_127);
const PATH = process.env.PROPERTY_PATH;
const RUNS = process.env.PROPERTY_RUNS === undefined ? undefined : Number(process.env.PROPERTY_RUNS);
const runs = (numRuns: number) => ({
  seed: SEED,
  numRuns: RUNS ?? numRuns,
  ...(PATH === undefined ? {} : { path: PATH }),
});

/** No call may take longer than this: a slower one counts as a hang. */
const CALL_MS = 10_000;
/** Every generated timestamp of an acceptable op is at or before this wall time. */
const T0 = Date.now();
const DAY = 86_400_000;
/** The largest wall time a timestamp holds (the largest exact integer). */
const MAX_WALL = Number.MAX_SAFE_INTEGER;
const MAX_LOGICAL = 36 ** 5 - 1;
const FAST = { retry: { baseMs: 5, maxMs: 50 } } as const;
const ALL_SCOPES: Scope[] = ['document', 'global', 'local'];

// ---------------------------------------------------------------------------------------------
// Bounds and outcomes

/** Resolves or rejects as `promise` does, or fails the test once `ms` have passed (a hang). */
async function within<T>(what: string, promise: Promise<T>, ms = CALL_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Runs a call to its end within the bound; a synchronous throw counts as a rejection. */
function outcome<T>(what: string, call: () => Promise<T>): Promise<Outcome<T>> {
  const run = (async () => call())().then(
    (value): Outcome<T> => ({ ok: true, value }),
    (error: unknown): Outcome<T> => ({ ok: false, error }),
  );
  return within(what, run);
}

/** A refusal of bad input: a ReactorError of kind protocol or validation, never anything else. */
function expectInputRefusal(error: unknown, what: string) {
  expect(error, `${what}: rejected with something other than a ReactorError`).toBeInstanceOf(ReactorError);
  expect(['protocol', 'validation'], `${what}: ${(error as Error).message}`).toContain((error as ReactorError).kind);
}

function expectResolved<T>(result: Outcome<T>, what: string): T {
  if (!result.ok) {
    const error = result.error;
    throw new Error(
      `${what} rejected: ${error instanceof ReactorError ? `${error.kind}: ` : ''}${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return result.value;
}

// ---------------------------------------------------------------------------------------------
// Ops

/** Only the envelope's fields (stored ops carry ordinals and sources besides). */
function plain(op: OperationEnvelope): OperationEnvelope {
  const { id, documentId, scope, branch, type, input, timestamp, origin } = op;
  return { id, documentId, scope, branch, type, input, timestamp, origin };
}

/** True when the op's id is the one its content derives. */
function derivesItsId(op: OperationEnvelope): boolean {
  const { id, ...content } = plain(op);
  return id === operationId(content);
}

/** Every op a reactor serves (all scopes), in arrival order. */
async function wholeLog(reactor: Reactor, scopes: Scope[] = ALL_SCOPES): Promise<OperationEnvelope[]> {
  const ops: OperationEnvelope[] = [];
  let cursor = 0;
  for (;;) {
    const page = await reactor.endpoint.pull({ cursor, limit: 5000, filter: { scopes } });
    ops.push(...page.operations.map(plain));
    cursor = page.cursor;
    if (!page.hasMore) return ops;
  }
}

/** Honest ops as a peer would send them: made by a real reactor and read from its log. */
interface HonestMaterial {
  /** Document and global ops. */
  readonly ops: readonly OperationEnvelope[];
  /** Ops of the `local` scope: honest, but no other reactor accepts them from outside. */
  readonly local: readonly OperationEnvelope[];
}

async function honestMaterial(id: string, prefix = ''): Promise<HonestMaterial> {
  const source = await openReactor({ id });
  try {
    const [c, l, gone] = [`${prefix}c`, `${prefix}l`, `${prefix}gone`];
    await source.createDocument('counter', { id: c });
    for (const by of [1, 2, 3]) await source.mutate(c, [{ type: 'INCREMENT', input: { by } }]);
    await source.mutate(c, [{ type: 'INCREMENT', input: { by: 10 } }], { branch: 'draft' });
    await source.mutate(c, [{ type: 'INCREMENT', input: { by: 100 }, scope: 'local' }]);
    await source.createDocument('list', { id: l });
    await source.mutate(l, [{ type: 'ADD', input: { item: 'one' } }]);
    await source.mutate(l, [{ type: 'ADD', input: { item: 'two' } }]);
    await source.createDocument('counter', { id: gone });
    await source.deleteDocument(gone);
    const all = await wholeLog(source);
    return {
      ops: all.filter((op) => op.scope !== 'local'),
      local: all.filter((op) => op.scope === 'local'),
    };
  } finally {
    await source.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries of envelopes

/** Names a peer chooses: prototype names, the honest documents' ids, unicode, the longest allowed. */
const name = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '__proto__',
        'constructor',
        'prototype',
        'toString',
        'hasOwnProperty',
        'valueOf',
        'then',
        'c',
        'l',
        'v',
        'main',
      ),
    },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }) },
    { weight: 1, arbitrary: fc.constant('x'.repeat(1024)) },
  )
  .filter((text) => !text.startsWith('ghost:'));

/** A timestamp's node for an origin (a timestamp holds at most 1024 characters). */
const nodeOf = (origin: string) => (origin.length > 500 ? 'n' : origin);

/** A value nested `depth` arrays deep. */
function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Inputs that are JSON data (so an op holding one is acceptable), some in odd forms. */
const goodInput = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  // Prototype names as own keys, the way JSON.parse makes them.
  {
    weight: 2,
    arbitrary: fc
      .jsonValue({ maxDepth: 2 })
      .map((v) => JSON.parse(`{"by":1,"__proto__":${JSON.stringify(v)},"constructor":{"prototype":{"x":1}}}`)),
  },
  // Undefined members and -0: normal form drops the first and makes the second 0, on every side alike.
  {
    weight: 1,
    arbitrary: fc.record({
      by: fc.oneof(fc.integer(), fc.constant(-0)),
      gap: fc.constant(undefined),
      item: fc.string(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ item: 'y'.repeat(20_000) }) },
  { weight: 1, arbitrary: fc.constant(nested(90)) },
);

/** `[1, <hole>, 3]`. */
function sparse(): unknown[] {
  const array: unknown[] = [1];
  array[2] = 3;
  return array;
}

class Instance {
  readonly by = 1;
}

/** Inputs that are not JSON data: an op holding one is malformed. */
const badInput = fc.oneof(
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.constant({ by: Number.NaN }),
  fc.date().map((date) => ({ at: date })),
  fc.constant(new Map([['by', 1]])),
  fc.constant(new Set([1])),
  fc.bigInt().map((n) => ({ by: n })),
  fc.constant(sparse()),
  fc.constant([undefined]),
  fc.constant(new Uint8Array([1, 2])),
  fc.constant(new Instance()),
  fc.constant(nested(150)),
);

const stamp = (wall: number, logical: number, origin: string) => encodeHlc({ wall, logical }, nodeOf(origin));
const pastWall = fc.integer({ min: 0, max: T0 });
const anyLogical = fc.integer({ min: 0, max: MAX_LOGICAL });

interface Draft {
  readonly documentId: string;
  readonly branch: string;
  readonly type: string;
  readonly input: unknown;
  readonly wall: number;
  readonly logical: number;
  readonly origin: string;
}

const draft = fc.record({
  documentId: name,
  branch: name,
  type: fc.oneof(fc.constantFrom('INCREMENT', 'ADD', 'FAIL_IF_NEGATIVE', '__proto__', 'constructor', 'toString'), name),
  input: goodInput,
  wall: pastWall,
  logical: anyLogical,
  origin: name,
});

const fromDraft = (d: Draft, scope: Scope, wall = d.wall): OperationEnvelope =>
  envelope({
    documentId: d.documentId,
    scope,
    branch: d.branch,
    type: d.type,
    input: d.input,
    timestamp: stamp(wall, d.logical, d.origin),
    origin: d.origin,
  });

/**
 * One entry of a batch. `honest` and `stranger` ops are acceptable and must be stored (a stranger
 * is a well-formed op no honest reactor made: any peer may write any document). `refused` ones
 * must not be; `id` is a well-formed id that must then never be stored.
 */
type Item =
  | { readonly kind: 'honest'; readonly op: OperationEnvelope; readonly value: unknown }
  | { readonly kind: 'stranger'; readonly op: OperationEnvelope }
  | { readonly kind: 'refused'; readonly why: string; readonly value: unknown; readonly id?: string };

const wireValue = (item: Item): unknown => (item.kind === 'stranger' ? item.op : item.value);

/** Well-formed ops that the victim stores although no honest reactor made them. */
const stranger: fc.Arbitrary<Item> = fc
  .oneof(
    { weight: 3, arbitrary: draft.map((d) => fromDraft(d, 'global')) },
    // A CREATE of a known model, for any document (an honest one too: a second CREATE).
    {
      weight: 1,
      arbitrary: fc
        .tuple(draft, fc.constantFrom('counter', 'list'))
        .map(([d, model]) => fromDraft({ ...d, type: CREATE_DOCUMENT, input: { model } }, 'document')),
    },
    // A DELETE of any document, an honest one most often.
    {
      weight: 1,
      arbitrary: fc
        .tuple(draft, fc.constantFrom('c', 'l', 'v', '__proto__'))
        .map(([d, documentId]) => fromDraft({ ...d, documentId, type: DELETE_DOCUMENT }, 'document')),
    },
  )
  .map((op) => ({ kind: 'stranger', op }));

/**
 * Well-formed ops the victim refuses: of the local scope, stamped far in the future (clock-drift),
 * a CREATE naming a model the victim lacks (of a document nothing else touches: see the known bugs
 * below for what such a CREATE does to a document that has other ops), a document-scope op that is
 * neither CREATE nor DELETE.
 */
const refusedWellFormed: fc.Arbitrary<Item> = fc
  .oneof(
    draft.map((d) => ({ why: 'local scope', op: fromDraft(d, 'local') })),
    fc
      .tuple(draft, fc.integer({ min: T0 + 3 * DAY, max: MAX_WALL }))
      .map(([d, wall]) => ({ why: 'clock drift', op: fromDraft(d, 'global', wall) })),
    fc
      .tuple(
        draft,
        // Few ghost documents, so that later CREATEs meet the dead letters of earlier ones.
        fc.constantFrom('', 'a', '__proto__'),
        fc.oneof(
          fc.constantFrom('nope', '__proto__', 'constructor', 'toString', 'Counter').map((model) => ({ model })),
          fc.constant({}),
          fc.integer(),
          fc.constant([]),
          // Not null or undefined: see the known bugs below.
        ),
      )
      .map(([d, suffix, input]) => ({
        why: 'unknown model',
        op: fromDraft({ ...d, documentId: `ghost:${suffix}`, type: CREATE_DOCUMENT, input }, 'document'),
      })),
    draft
      .filter((d) => d.type !== CREATE_DOCUMENT && d.type !== DELETE_DOCUMENT)
      .map((d) => ({ why: 'not an op of the document scope', op: fromDraft(d, 'document') })),
  )
  .map(({ why, op }) => ({ kind: 'refused', why, value: op, id: op.id }));

const ENVELOPE_FIELDS = ['id', 'documentId', 'scope', 'branch', 'type', 'input', 'timestamp', 'origin'] as const;

const badString = fc.oneof(
  fc.anything({ maxDepth: 1 }).filter((v) => typeof v !== 'string'),
  fc.constant(''),
  fc.constant('z'.repeat(1025)),
);
const badScope = fc.oneof(
  fc.string().filter((s) => !(SCOPES as readonly string[]).includes(s)),
  fc.constantFrom('Global', '__proto__', null, 0),
);
const badTimestamp = fc.oneof(
  badString,
  fc.constantFrom(
    'yesterday',
    '00000000000:00000:',
    '0000000000:00000:n',
    `${'z'.repeat(12)}:00000:n`,
    'zzzzzzzzzzz:00000:n',
  ),
  fc.date().map((date) => date.toISOString()),
  fc.constant(`00000000001:00000:${'n'.repeat(1020)}`),
);

/**
 * Honest ops made malformed or forged: a field of the wrong type or missing, an input that is not
 * JSON data, another id, another op's id, or the same id over altered contents.
 */
function malformedFrom(ops: readonly OperationEnvelope[]): fc.Arbitrary<Item> {
  const op = fc.constantFrom(...ops);
  const wrongField = fc.tuple(op, fc.constantFrom(...ENVELOPE_FIELDS)).chain(([o, field]) => {
    const bad =
      field === 'scope'
        ? badScope
        : field === 'timestamp'
          ? badTimestamp
          : field === 'input'
            ? badInput
            : fc.oneof(badString, fc.constant(undefined));
    return bad.map((value) => ({ why: `bad ${field}`, value: { ...o, [field]: value } as unknown }));
  });
  // Every honest op has an input (`{}` at least), so one without is altered too.
  const missingField = fc.tuple(op, fc.constantFrom(...ENVELOPE_FIELDS)).map(([o, field]) => {
    const copy: Record<string, unknown> = { ...o };
    delete copy[field];
    return { why: `no ${field}`, value: copy as unknown };
  });
  const forgedId = fc
    .tuple(op, fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{22}$/), name))
    .filter(([o, id]) => id !== o.id)
    .map(([o, id]) => ({ why: 'forged id', value: { ...o, id } as unknown }));
  const othersId = fc
    .tuple(op, op)
    .filter(([a, b]) => a.id !== b.id)
    .map(([a, b]) => ({ why: "another op's id", value: { ...a, id: b.id } as unknown }));
  const altered = fc
    .tuple(op, fc.jsonValue({ maxDepth: 2 }))
    .filter(([o, input]) => canonicalJson(input) !== canonicalJson(o.input))
    .map(([o, input]) => ({ why: 'altered input under its id', value: { ...o, input } as unknown }));
  const restamped = fc
    .tuple(op, pastWall, anyLogical)
    .map(([o, wall, logical]) => ({ o, timestamp: stamp(wall, logical, o.origin) }))
    .filter(({ o, timestamp }) => timestamp !== o.timestamp)
    .map(({ o, timestamp }) => ({ why: 'altered timestamp under its id', value: { ...o, timestamp } as unknown }));
  return fc
    .oneof(wrongField, missingField, forgedId, othersId, altered, restamped)
    .map(({ why, value }) => ({ kind: 'refused', why, value }));
}

/** An honest op of the local scope: no reactor takes one from outside unless it opted in. */
const localItem = (op: OperationEnvelope): Item => ({ kind: 'refused', why: 'honest local op', value: op, id: op.id });

/** Anything at all, of every kind structured cloning carries. */
const anythingAtAll = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withBoxedValues: true,
});

/** Garbage where an op should be. */
const garbage: fc.Arbitrary<Item> = anythingAtAll.map((value) => ({ kind: 'refused', why: 'garbage', value }));

/** An honest op in odd but harmless clothes: itself, without a prototype, or with extra keys. */
function honestFrom(ops: readonly OperationEnvelope[]): fc.Arbitrary<Item> {
  return fc.tuple(fc.constantFrom(...ops), fc.constantFrom('as is', 'no prototype', 'extra keys')).map(([op, how]) => {
    const value =
      how === 'as is'
        ? op
        : how === 'no prototype'
          ? Object.assign(Object.create(null) as object, op)
          : Object.assign(
              JSON.parse('{"__proto__":{"id":"x"},"constructor":1,"ordinal":-1,"index":"?"}') as object,
              op,
            );
    return { kind: 'honest', op, value };
  });
}

/** A batch: a share of the honest ops and any number of other items, shuffled, duplicates allowed. */
function batchOf(
  honest: readonly OperationEnvelope[],
  others: fc.Arbitrary<Item>,
  maxOthers = 10,
): fc.Arbitrary<Item[]> {
  return fc
    .tuple(
      fc.subarray([...honest]),
      fc.array(fc.oneof({ weight: 1, arbitrary: honestFrom(honest) }, { weight: 4, arbitrary: others }), {
        maxLength: maxOthers,
      }),
    )
    .chain(([share, extra]) => {
      const items: Item[] = [...share.map((op): Item => ({ kind: 'honest', op, value: op })), ...extra];
      return fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length });
    });
}

// ---------------------------------------------------------------------------------------------
// Requests

/** A push request that is not one: the whole request is a protocol error. */
function malformedPush(ops: readonly OperationEnvelope[]): fc.Arbitrary<unknown> {
  const good = { from: 'mallory', operations: [...ops], cursor: ops.length };
  return fc.oneof(
    fc.constantFrom(null, 'ops', 42, [good], new Date(T0)),
    fc.constantFrom(
      { ...good, from: '' },
      { ...good, from: 7 },
      { operations: good.operations, cursor: 1 },
      { ...good, operations: { 0: ops[0] } },
      { ...good, operations: 'all' },
      { ...good, operations: new Set(ops) },
      { ...good, cursor: -1 },
      { ...good, cursor: 1.5 },
      { ...good, cursor: '3' },
      { ...good, cursor: Number.NaN },
      { ...good, cursor: Number.POSITIVE_INFINITY },
      { from: good.from, operations: good.operations },
      { ...good, operations: new Array(5001).fill(ops[0]) },
    ),
  );
}

interface PullShape {
  readonly scopes?: readonly Scope[];
  readonly documentIds?: readonly string[];
  readonly branch?: string;
}

/** A well-formed pull request (odd but valid), with the filter it asks for. */
const validPull = fc
  .record(
    {
      cursor: fc.oneof(fc.nat({ max: 40 }), fc.constantFrom(-0, 1e15, Number.MAX_SAFE_INTEGER)),
      limit: fc.oneof(fc.nat({ max: 50 }), fc.constantFrom(-0, 5000)),
      from: name,
      filter: fc.record(
        {
          documentIds: fc.array(name, { maxLength: 4 }),
          scopes: fc.subarray(ALL_SCOPES),
          branch: name,
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['cursor', 'limit'] },
  )
  .map((request) => ({ request: { ...request, constructor: 'x' } as unknown, shape: request.filter ?? {} }));

/** A pull request that is not one: a protocol error. */
const malformedPull: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, 'pull', 7, [], new Map()),
  fc
    .tuple(
      fc.constantFrom('cursor', 'limit', 'from', 'filter'),
      fc.constantFrom<unknown>(
        -1,
        1.5,
        5001,
        Number.NaN,
        Number.NEGATIVE_INFINITY,
        '0',
        null,
        [],
        'all',
        { documentIds: 'c' },
        { documentIds: ['c', 1] },
        { scopes: ['shared'] },
        { scopes: 'global' },
        { branch: '' },
        { branch: 5 },
      ),
    )
    .filter(([field, value]) => {
      // Only combinations that are certainly malformed.
      if (field === 'from') return typeof value !== 'string' && value !== undefined;
      if (field === 'filter') return true;
      return typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (field === 'limit' && value > 5000);
    })
    .map(([field, value]) => ({ cursor: 0, limit: 10, [field]: value })),
);

/** One thing thrown at the victim's endpoint. */
type Request =
  | {
      readonly kind: 'push';
      readonly peer: string | undefined;
      readonly from: string;
      readonly cursor: number;
      readonly items: readonly Item[];
    }
  | { readonly kind: 'malformed push'; readonly request: unknown }
  | { readonly kind: 'anything'; readonly target: 'push' | 'pull'; readonly request: unknown }
  | { readonly kind: 'pull'; readonly request: unknown; readonly shape: PullShape }
  | { readonly kind: 'malformed pull'; readonly request: unknown };

function requestsAgainst(material: HonestMaterial): fc.Arbitrary<(Request & { readonly wave: number })[]> {
  const honest = material.ops;
  const others = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...material.local).map(localItem) },
    { weight: 2, arbitrary: stranger },
    { weight: 2, arbitrary: refusedWellFormed },
    { weight: 3, arbitrary: malformedFrom(honest) },
    { weight: 1, arbitrary: garbage },
  );
  const push = fc
    .record({
      peer: fc.option(fc.constantFrom('mallory', 'eve', '__proto__'), { nil: undefined }),
      from: fc.oneof(name, fc.constant('f'.repeat(2_000))),
      cursor: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
      items: batchOf(honest, others),
    })
    .map((r): Request => ({ kind: 'push', ...r }));
  const request: fc.Arbitrary<Request> = fc.oneof(
    { weight: 5, arbitrary: push },
    { weight: 1, arbitrary: malformedPush(honest).map((r): Request => ({ kind: 'malformed push', request: r })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('push' as const, 'pull' as const), anythingAtAll)
        .map(([target, value]): Request => ({ kind: 'anything', target, request: value })),
    },
    { weight: 2, arbitrary: validPull.map(({ request: r, shape }): Request => ({ kind: 'pull', request: r, shape })) },
    { weight: 1, arbitrary: malformedPull.map((r): Request => ({ kind: 'malformed pull', request: r })) },
  );
  // Each request comes in one of three waves: a wave's requests run at once, after the wave before.
  return fc
    .array(fc.tuple(request, fc.nat({ max: 2 })), { minLength: 1, maxLength: 6 })
    .map((timed) => timed.sort(([, a], [, b]) => a - b).map(([r, wave]) => ({ ...r, wave })));
}

function pushBody(request: Extract<Request, { kind: 'push' }>): unknown {
  return {
    from: request.from,
    operations: request.items.map(wireValue),
    cursor: request.cursor,
    // Keys a careless parser would take for something else.
    ...(JSON.parse('{"__proto__":{"operations":[]},"constructor":{"name":"x"}}') as object),
  };
}

// ---------------------------------------------------------------------------------------------
// What must hold of a victim

/** Every op the victim stores is well formed, stored once, allowed, and never a refused one. */
function expectOnlyAllowedStored(
  stored: readonly OperationEnvelope[],
  allowed: ReadonlyMap<string, OperationEnvelope>,
  forbidden: ReadonlySet<string>,
) {
  const ids = stored.map((op) => op.id);
  expect(new Set(ids).size, 'an op is stored twice').toBe(ids.length);
  for (const op of stored) {
    expect(derivesItsId(op), `stored op ${op.id} does not derive its id`).toBe(true);
    expect(forbidden.has(op.id), `a refused op is stored: ${JSON.stringify(op).slice(0, 300)}`).toBe(false);
    const expected = allowed.get(op.id);
    expect(expected, `an op nobody sent honestly is stored: ${JSON.stringify(op).slice(0, 300)}`).toBeDefined();
    expect(canonicalJson(op)).toBe(canonicalJson(plain(expected as OperationEnvelope)));
  }
}

/** The document ids and branches a log touches (document-scope ops hold for the main branch). */
function streamsOf(ops: readonly OperationEnvelope[]): [documentId: string, branch: string][] {
  const keys = new Map<string, [string, string]>();
  for (const op of ops) {
    const branch = op.scope === 'document' ? 'main' : op.branch;
    keys.set(JSON.stringify([op.documentId, branch]), [op.documentId, branch]);
  }
  return [...keys.values()];
}

const snapshotOf = (reactor: Reactor, documentId: string, branch: string) => {
  const snapshot = reactor.documents.get(documentId, { branch });
  if (snapshot === undefined) return undefined;
  // The local scope stays on each reactor: only shared state must agree.
  const { localState: _localState, ...shared } = snapshot;
  return shared;
};

/**
 * An honest peer holding `honest` syncs with the victim (ping-pong, in memory); afterwards both
 * hold the same shared log and the same state and hash of every document, and no remote of the
 * victim has stopped.
 */
async function expectHonestPeerConverges(victim: Reactor, honest: readonly OperationEnvelope[]) {
  const peer = await openReactor({ id: 'peer', ...FAST });
  try {
    await within('loading the honest ops into the peer', peer.load(honest));
    await victim.sync.add({
      name: 'peer',
      channel: connect(victim, peer),
      mode: 'ping-pong',
      pullIntervalMs: 60_000,
      debounceMs: 0,
    });
    await within('syncing with the honest peer', victim.sync.settled({ timeoutMs: CALL_MS }));
    await Promise.all([victim.whenIdle(), peer.whenIdle()]);
    expect(victim.sync.list().filter((status) => status.phase === 'stopped')).toEqual([]);

    const [mine, theirs] = await Promise.all([
      wholeLog(victim, ['document', 'global']),
      wholeLog(peer, ['document', 'global']),
    ]);
    expect(theirs.map((op) => op.id).sort(), 'the logs differ').toEqual(mine.map((op) => op.id).sort());
    for (const op of honest) expect(mine.some((o) => o.id === op.id)).toBe(true);
    for (const [documentId, branch] of streamsOf(mine)) {
      expect(snapshotOf(peer, documentId, branch), `document ${JSON.stringify([documentId, branch])}`).toEqual(
        snapshotOf(victim, documentId, branch),
      );
      // `operations` takes ids and branches of up to 256 characters.
      if (documentId.length > 256 || branch.length > 256) continue;
      for (const scope of ['document', 'global'] as const) {
        const [a, b] = await Promise.all([
          victim.operations(documentId, { scope, branch }),
          peer.operations(documentId, { scope, branch }),
        ]);
        expect(b, `log of ${JSON.stringify([documentId, scope, branch])}`).toEqual(a);
      }
    }
  } finally {
    await peer.stop();
  }
}

/** A victim with a document of its own, with a local op that must never leave it. */
async function openVictim(receiveLocal = false) {
  const storage = freshStorage('victim');
  const victim = await openReactor({ id: 'victim', ...FAST, receiveLocal, storage });
  const own: OperationEnvelope[] = [];
  own.push(...(await victim.createDocument('counter', { id: 'v' })).operations);
  own.push(...(await victim.mutate('v', [{ type: 'INCREMENT', input: { by: 1 } }])).operations);
  own.push(...(await victim.mutate('v', [{ type: 'INCREMENT', input: { by: 5 }, scope: 'local' }])).operations);
  return { victim, own: own.map(plain), storage };
}

/** The victim, stopped and opened again on its storage, holds the same log and documents. */
async function expectSurvivesRestart(victim: Reactor, storage: ReturnType<typeof freshStorage>) {
  const log = await wholeLog(victim);
  const documents = streamsOf(log).map(([documentId, branch]) => victim.documents.get(documentId, { branch }));
  await within('stopping the victim', victim.stop());
  const again = await within('opening the victim again', openReactor({ id: 'victim', ...FAST, storage }));
  try {
    await again.whenIdle();
    expect(await wholeLog(again), 'the log after a restart').toEqual(log);
    expect(
      streamsOf(log).map(([documentId, branch]) => again.documents.get(documentId, { branch })),
      'the documents after a restart',
    ).toEqual(documents);
  } finally {
    await again.stop();
  }
}

function expectWellFormedPull(page: PullResponse, shape: PullShape, victim: Reactor) {
  expect(page.from).toBe(victim.id);
  expect(Number.isInteger(page.cursor) && page.cursor >= 0).toBe(true);
  expect(typeof page.hasMore).toBe('boolean');
  const scopes = shape.scopes ?? ['document', 'global'];
  for (const op of page.operations) {
    expect(derivesItsId(op)).toBe(true);
    expect(scopes, `an op outside the scopes asked for: ${op.id}`).toContain(op.scope);
    if (shape.documentIds !== undefined) expect(shape.documentIds).toContain(op.documentId);
    if (shape.branch !== undefined && op.scope !== 'document') expect(op.branch).toBe(shape.branch);
  }
}

// ---------------------------------------------------------------------------------------------
// In process: endpoint.push and endpoint.pull

describe(`hostile requests at endpoint.push and endpoint.pull (seed ${SEED})`, () => {
  let material: HonestMaterial;
  beforeAll(async () => {
    material = await honestMaterial('honest');
  });

  it('nothing crashes or hangs, honest ops are applied, refused ones are not, and an honest peer converges', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constant(null).chain(() => requestsAgainst(material)),
        // A victim that opted in to receiving local-scope ops stores them like any other.
        fc.boolean(),
        async (requests, receiveLocal) => {
          const { victim, own, storage } = await openVictim(receiveLocal);
          /** Whether the victim refuses an item. */
          const refuses = (item: Item) =>
            item.kind === 'refused' &&
            !(receiveLocal && item.id !== undefined && (item.value as OperationEnvelope).scope === 'local');
          try {
            const allowed = new Map<string, OperationEnvelope>([
              ...material.ops.map((op): [string, OperationEnvelope] => [op.id, op]),
              ...own.map((op): [string, OperationEnvelope] => [op.id, op]),
            ]);
            const forbidden = new Set<string>();
            for (const request of requests) {
              if (request.kind !== 'push') continue;
              for (const item of request.items) {
                if (item.kind === 'stranger') allowed.set(item.op.id, item.op);
                if (item.kind === 'refused' && item.id !== undefined) {
                  if (refuses(item)) forbidden.add(item.id);
                  else allowed.set(item.id, item.value as OperationEnvelope);
                }
              }
            }

            const serve = (request: Request, i: number): Promise<Outcome<unknown>> => {
              const what = `request ${i} (${request.kind})`;
              switch (request.kind) {
                case 'push': {
                  const context = request.peer === undefined ? undefined : { peer: request.peer };
                  return outcome(what, () => victim.endpoint.push(pushBody(request), context));
                }
                case 'malformed push':
                  return outcome(what, () => victim.endpoint.push(request.request, { peer: 'mallory' }));
                case 'anything':
                  return outcome<unknown>(what, () =>
                    request.target === 'push'
                      ? victim.endpoint.push(request.request, { peer: 'mallory' })
                      : victim.endpoint.pull(request.request, { peer: 'mallory' }),
                  );
                default:
                  return outcome(what, () => victim.endpoint.pull(request.request, { peer: 'mallory' }));
              }
            };
            // A wave at once, as concurrent peers would send; the next wave once it is answered.
            const results: Outcome<unknown>[] = [];
            for (const wave of [0, 1, 2]) {
              const now = requests.flatMap((request, i) => (request.wave === wave ? [i] : []));
              const answers = await Promise.all(now.map((i) => serve(requests[i] as Request, i)));
              now.forEach((i, k) => {
                results[i] = answers[k] as Outcome<unknown>;
              });
            }
            await within('the victim going idle', victim.whenIdle());
            const stored = await wholeLog(victim);
            const storedIds = new Set(stored.map((op) => op.id));

            requests.forEach((request, i) => {
              const result = results[i] as Outcome<unknown>;
              const what = `request ${i} (${request.kind})`;
              switch (request.kind) {
                case 'push': {
                  const response = expectResolved(result, what) as PushResponse;
                  const refused = request.items.filter(refuses);
                  expect(response).toMatchObject({ from: victim.id, cursor: request.cursor });
                  expect(response.rejected, `${what}: the refused ops`).toHaveLength(refused.length);
                  expect(response.accepted + response.duplicates, `${what}: the accepted ops`).toBe(
                    request.items.length - refused.length,
                  );
                  for (const item of request.items) {
                    if (refuses(item)) continue;
                    const id = item.kind === 'refused' ? (item.id as string) : item.op.id;
                    expect(storedIds.has(id), `${what}: ${item.kind} op ${id} is not stored`).toBe(true);
                  }
                  return;
                }
                case 'malformed push':
                case 'malformed pull':
                  expect(result.ok, `${what} was served`).toBe(false);
                  if (!result.ok) expectInputRefusal(result.error, what);
                  return;
                case 'anything':
                  if (!result.ok) expectInputRefusal(result.error, what);
                  return;
                case 'pull':
                  expectWellFormedPull(expectResolved(result, what) as PullResponse, request.shape, victim);
                  return;
              }
            });
            expectOnlyAllowedStored(stored, allowed, forbidden);
            // Unless the victim opted in, no foreign local op got in.
            if (!receiveLocal) {
              expect(stored.filter((op) => op.scope === 'local').map((op) => op.origin)).toEqual([victim.id]);
            }

            await expectHonestPeerConverges(victim, material.ops);
            await expectSurvivesRestart(victim, storage);
          } finally {
            await victim.stop();
          }
        },
      ),
      runs(40),
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// In process: the pages a hostile remote answers a pull with

/** A remote that answers pulls with the given pages, one per cursor, and refuses pushes. */
function hostileRemote(pages: readonly unknown[]): Channel & { pulls: number } {
  const remote = {
    pulls: 0,
    async push(): Promise<PushResponse> {
      throw new ReactorError('network', 'this remote takes no pushes');
    },
    async pull(request: { cursor: number; limit: number }): Promise<PullResponse> {
      remote.pulls += 1;
      if (request.limit === 0 || request.cursor >= pages.length) {
        return { from: 'mallory', operations: [], cursor: pages.length, hasMore: false };
      }
      // Structured-cloned, as every in-memory transport does.
      return structuredClone(pages[request.cursor]) as PullResponse;
    },
    close() {},
  };
  return remote;
}

describe(`hostile pull pages (seed ${SEED})`, () => {
  let material: HonestMaterial;
  beforeAll(async () => {
    material = await honestMaterial('honest');
  });

  it('a page of garbage and honest ops: the honest ones are applied, the rest become dead letters, sync goes on', async () => {
    // Forged or malformed copies of a CREATE are left out here: see the known bugs below.
    const notCreates = material.ops.filter((op) => op.type !== CREATE_DOCUMENT);
    const others = fc.oneof(
      // Outside the filter asked for (the default one leaves the local scope out).
      { weight: 1, arbitrary: fc.constantFrom(...material.local).map(localItem) },
      { weight: 2, arbitrary: stranger },
      { weight: 2, arbitrary: refusedWellFormed },
      { weight: 3, arbitrary: malformedFrom(notCreates) },
      { weight: 1, arbitrary: garbage.filter((item) => isCloneable(wireValue(item))) },
    );
    const scenario = fc.record({
      pages: fc.array(batchOf(material.ops, others, 6), { minLength: 1, maxLength: 4 }),
      /** The last page is not a page at all: the remote must stop with a protocol error, not hang. */
      badPage: fc.option(
        fc.constantFrom<unknown>(
          null,
          'page',
          { operations: [], cursor: 9, hasMore: 'yes' },
          { operations: {}, cursor: 9, hasMore: false },
          { operations: [], cursor: -1, hasMore: false },
          { operations: [], hasMore: false },
        ),
        { nil: undefined },
      ),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ pages, badPage }) => {
        const { victim, own, storage } = await openVictim();
        try {
          const served = pages.map((items, i) => ({
            from: 'mallory',
            operations: items.map(wireValue),
            cursor: i + 1,
            hasMore: i + 1 < pages.length || badPage !== undefined,
            ...(JSON.parse('{"__proto__":{"hasMore":true},"constructor":1}') as object),
          }));
          const remote = hostileRemote(badPage === undefined ? served : [...served, badPage]);
          await victim.sync.add({ name: 'mallory', channel: remote, mode: 'pull', pullIntervalMs: 60_000 });
          const settled = await outcome('pulling from the hostile remote', () =>
            victim.sync.settled({ timeoutMs: CALL_MS }),
          );
          if (badPage === undefined) {
            expectResolved(settled, 'settled()');
            expect(victim.sync.status('mallory')).toMatchObject({ phase: 'idle' });
          } else {
            expect(settled.ok, 'settled() after a malformed page').toBe(false);
            if (!settled.ok) expect(settled.error).toMatchObject({ kind: 'protocol' });
            expect(victim.sync.status('mallory')).toMatchObject({ phase: 'stopped', lastError: { kind: 'protocol' } });
          }
          await victim.whenIdle();

          const items = pages.flat();
          const stored = await wholeLog(victim);
          const storedIds = new Set(stored.map((op) => op.id));
          const allowed = new Map<string, OperationEnvelope>();
          for (const op of [...material.ops, ...own]) allowed.set(op.id, op);
          const forbidden = new Set<string>();
          for (const item of items) {
            if (item.kind === 'stranger') allowed.set(item.op.id, item.op);
            if (item.kind === 'refused' && item.id !== undefined) forbidden.add(item.id);
            if (item.kind !== 'refused') {
              expect(storedIds.has(item.op.id), `${item.kind} op ${item.op.id} is not stored`).toBe(true);
            }
          }
          expectOnlyAllowedStored(stored, allowed, forbidden);
          const refused = items.filter((item) => item.kind === 'refused');
          if (refused.length > 0) {
            expect(victim.sync.deadLetters().filter((letter) => letter.direction === 'pull').length).toBeGreaterThan(0);
          }
          // Each page was asked for once (a refused op does not make the remote ask again).
          expect(remote.pulls).toBeLessThanOrEqual(served.length + 3);

          await victim.sync.remove('mallory');
          await expectHonestPeerConverges(victim, material.ops);
          await expectSurvivesRestart(victim, storage);
        } finally {
          await victim.stop();
        }
      }),
      runs(30),
    );
  }, 60_000);
});

function isCloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Found by the properties above: refused CREATEs used to be taken as the truth about a document.

describe('a refused CREATE decides nothing about its document', () => {
  const at = (wall: number, origin = 'mallory') => encodeHlc({ wall, logical: 0 }, origin);
  const bogusCreate = (documentId: string, input: unknown) =>
    envelope({
      documentId,
      scope: 'document',
      branch: 'main',
      type: CREATE_DOCUMENT,
      input,
      timestamp: at(T0),
      origin: 'mallory',
    });

  async function honestPair() {
    const source = await openReactor({ id: 'source', ...FAST });
    const victim = await openReactor({ id: 'victim', ...FAST });
    await source.createDocument('counter', { id: 'c' });
    await source.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    await source.mutate('c', [{ type: 'INCREMENT', input: { by: 3 } }]);
    return { source, victim, honest: await wholeLog(source, ['document', 'global']) };
  }

  it('a refused CREATE of an unknown model does not make the honest ops of that document refused', async () => {
    const { source, victim, honest } = await honestPair();
    try {
      await victim.endpoint.push({ from: 'mallory', operations: [bogusCreate('c', { model: 'nope' })], cursor: 1 });
      // The honest batch is stored whole (the INCREMENTs used to be refused as "unknown-model").
      const response = await victim.endpoint.push(
        { from: 'source', operations: honest, cursor: 3 },
        { peer: 'source' },
      );
      expect(response.rejected).toEqual([]);
    } finally {
      await Promise.all([source.stop(), victim.stop()]);
    }
  });

  it('… so a push-only honest sender and the victim do not diverge', async () => {
    const { source, victim } = await honestPair();
    try {
      await victim.endpoint.push({ from: 'mallory', operations: [bogusCreate('c', { model: 'nope' })], cursor: 1 });
      await source.sync.add({ name: 'victim', channel: connect(source, victim), mode: 'push' });
      await source.sync.settled({ timeoutMs: CALL_MS });
      await victim.whenIdle();
      // It used to hold { count: 0 }, the sender two push dead letters (unknown-model).
      expect(countOf(victim, 'c')).toBe(5);
    } finally {
      await Promise.all([source.stop(), victim.stop()]);
    }
  });

  it('a refused CREATE without an input does not make later loads of the document fail', async () => {
    const { source, victim, honest } = await honestPair();
    try {
      await victim.endpoint.push({ from: 'mallory', operations: [bogusCreate('c', null)], cursor: 1 });
      // This used to reject with "internal: preparing jobs failed: Cannot read properties of null
      // (reading 'model')", and an honest remote pushing document c stopped with that error.
      const response = await victim.endpoint.push(
        { from: 'source', operations: honest, cursor: 3 },
        { peer: 'source' },
      );
      expect(response.accepted).toBe(3);
    } finally {
      await Promise.all([source.stop(), victim.stop()]);
    }
  });

  it('a malformed copy of an honest CREATE in a pulled page does not poison the document', async () => {
    const { source, victim, honest } = await honestPair();
    try {
      const create = honest[0] as OperationEnvelope;
      // Refused as malformed (the input is not JSON data), it is filed as a dead letter, which later
      // loads used to read as the document's CREATE (and throw on its missing input).
      const remote = hostileRemote([
        { from: 'mallory', operations: [{ ...create, input: { model: Number.NaN } }], cursor: 1, hasMore: false },
      ]);
      await victim.sync.add({ name: 'mallory', channel: remote, mode: 'pull', pullIntervalMs: 60_000 });
      await victim.sync.settled({ timeoutMs: CALL_MS });
      await victim.sync.remove('mallory');
      await victim.sync.add({ name: 'source', channel: connect(victim, source), mode: 'ping-pong' });
      await victim.sync.settled({ timeoutMs: CALL_MS });
      expect(countOf(victim, 'c')).toBe(5);
    } finally {
      await Promise.all([source.stop(), victim.stop()]);
    }
  });

  it('an op that is stored is not reported rejected when a refused CREATE comes between two copies', async () => {
    const victim = await openReactor({ id: 'victim', ...FAST });
    try {
      const op = envelope({
        documentId: 'd',
        scope: 'global',
        branch: 'main',
        type: 'INCREMENT',
        input: { by: 1 },
        timestamp: at(T0 + 1),
        origin: 'mallory',
      });
      const response = await victim.endpoint.push({
        from: 'mallory',
        operations: [op, bogusCreate('d', { model: 'nope' }), op],
        cursor: 3,
      });
      const stored = (await wholeLog(victim)).map((o) => o.id);
      // It used to be stored and listed in `rejected` too (accepted 1, duplicates 0, two rejections).
      expect(stored).toContain(op.id);
      expect(response).toMatchObject({ accepted: 1, duplicates: 1 });
      expect(response.rejected.map((r) => r.reason.kind)).toEqual(['unknown-model']);
    } finally {
      await victim.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A switchboard process: its frame parser

/** A raw WebSocket that sees every frame the server sends and how the connection ended. */
interface RawSocket {
  send(data: string | Uint8Array, options?: { binary: boolean }): void;
  /** The next frame that is not a poke, or how the connection closed; `undefined` after `ms`. */
  next(ms?: number): Promise<{ frame: Record<string, unknown> } | { closed: number } | undefined>;
  readonly open: () => boolean;
  close(): void;
}

async function openRaw(url: string): Promise<RawSocket> {
  const socket = new WebSocket(url);
  const queue: Record<string, unknown>[] = [];
  let closed: number | undefined;
  let wake: (() => void) | undefined;
  socket.on('message', (data, isBinary) => {
    let frame: Record<string, unknown>;
    try {
      frame = isBinary
        ? { type: '(binary from the server)' }
        : (JSON.parse(data.toString()) as Record<string, unknown>);
    } catch {
      frame = { type: '(not JSON)', text: data.toString().slice(0, 200) };
    }
    queue.push(frame);
    wake?.();
  });
  socket.on('close', (code) => {
    closed = code;
    wake?.();
  });
  // An error is followed by a close; that is what the tests look at.
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    send: (data, options) => socket.send(data, options ?? { binary: typeof data !== 'string' }),
    async next(ms = 5_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        while (queue.length > 0) {
          const frame = queue.shift() as Record<string, unknown>;
          if (frame.type !== 'poke') return { frame };
        }
        if (closed !== undefined) return { closed };
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    open: () => closed === undefined && socket.readyState === socket.OPEN,
    close: () => socket.close(),
  };
}

/** The frame limit the switchboard runs with here (small, so oversize frames are cheap). */
const LIMIT = 16_384;

/**
 * What a frame a client sends is. `request`s know whether their body is a well-formed push or
 * pull (`wellFormed`), and which honest ops a push carries; text frames are judged by their text.
 */
type Frame =
  | { readonly kind: 'hello'; readonly client?: string }
  | {
      readonly kind: 'request';
      readonly type: 'push' | 'pull';
      readonly id: number;
      readonly body: unknown;
      readonly wellFormed: boolean | undefined;
      readonly honest: readonly OperationEnvelope[];
      readonly refused: number;
      readonly count: number;
    }
  | { readonly kind: 'text'; readonly what: string; readonly text: string; readonly malformed?: true }
  | { readonly kind: 'binary'; readonly bytes: Uint8Array }
  | { readonly kind: 'bad utf-8' }
  | { readonly kind: 'oversize'; readonly bytes: number };

/** What a frame must be answered with: the reply types allowed and the close code, if it closes. */
interface Expectation {
  readonly replies: readonly string[];
  /** The reply may be missing (only when the connection closes). */
  readonly replyOptional?: boolean;
  readonly close?: number;
  readonly id?: number;
}

function textOf(frame: Frame): string | undefined {
  switch (frame.kind) {
    case 'hello':
      return JSON.stringify({
        v: PROTOCOL_VERSION,
        type: 'hello',
        ...(frame.client === undefined ? {} : { client: frame.client }),
      });
    case 'request':
      return JSON.stringify({ v: PROTOCOL_VERSION, type: frame.type, id: frame.id, body: frame.body });
    case 'text':
      return frame.text;
    case 'oversize':
      return 'o'.repeat(frame.bytes);
    default:
      return undefined;
  }
}

function expectationOf(frame: Frame, text: string | undefined, welcomed: boolean): Expectation {
  if (frame.kind === 'binary') return { replies: ['error'] };
  // `ws` itself refuses text that is not UTF-8 (1007, no error frame).
  if (frame.kind === 'bad utf-8' || text === undefined) return { replies: ['error'], replyOptional: true, close: 1007 };
  const size = Buffer.byteLength(text);
  // Far over the limit, `ws` cuts the frame itself; up to four times it, the server answers first.
  if (size > LIMIT * 4 + 1024) return { replies: ['error'], replyOptional: true, close: CLOSE_CODES.tooBig };
  if (size > LIMIT) return { replies: ['error'], close: CLOSE_CODES.tooBig };
  if (frame.kind === 'hello') return { replies: [welcomed ? 'error' : 'welcome'] };
  if (frame.kind === 'request') {
    const id = frame.id;
    if (!welcomed) return { replies: ['error'], id };
    if (frame.wellFormed === undefined) return { replies: ['result', 'error'], id };
    return { replies: [frame.wellFormed ? 'result' : 'error'], id };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { replies: ['error'] };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { replies: ['error'] };
  const record = value as Record<string, unknown>;
  // Another version number closes the connection; no version at all is only a malformed frame.
  if (typeof record.v === 'number' && record.v !== PROTOCOL_VERSION)
    return { replies: ['error'], close: CLOSE_CODES.protocol };
  if (record.v !== PROTOCOL_VERSION) return { replies: ['error'] };
  const known = record.type === 'hello' || record.type === 'push' || record.type === 'pull';
  // A random frame of this version with a known type could be anything (the generators make none on purpose).
  if (known && !(frame.kind === 'text' && frame.malformed === true)) return { replies: ['welcome', 'result', 'error'] };
  return { replies: ['error'] };
}

function framesAgainst(honest: readonly OperationEnvelope[], local: readonly OperationEnvelope[]): fc.Arbitrary<Frame> {
  const v = PROTOCOL_VERSION;
  const requestId = fc.oneof(fc.nat({ max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER));
  // JSON can carry only JSON: refused items here are forged, malformed (in JSON terms), local or from the future.
  const jsonRefused: fc.Arbitrary<Item> = fc.oneof(
    malformedFrom(honest).filter((item) => {
      let text: string | undefined;
      try {
        text = JSON.stringify(wireValue(item));
      } catch {
        return false; // a BigInt
      }
      return text !== undefined && !derivesItsIdJson(text);
    }),
    fc.constantFrom(...local).map(localItem),
    fc
      .tuple(draft, fc.integer({ min: T0 + 3 * DAY, max: MAX_WALL }))
      .map(([d, wall]) => fromDraft({ ...d, input: { by: 1 } }, 'global', wall))
      .map((op): Item => ({ kind: 'refused', why: 'clock drift', value: op, id: op.id })),
    fc.jsonValue({ maxDepth: 2 }).map((value): Item => ({ kind: 'refused', why: 'garbage', value })),
  );
  const wellFormedPush = fc
    .tuple(requestId, fc.string({ minLength: 1, maxLength: 20 }), fc.nat(), batchOf(honest, jsonRefused, 6))
    .map(
      ([id, from, cursor, items]): Frame => ({
        kind: 'request',
        type: 'push',
        id,
        body: { from, operations: items.map(wireValue), cursor },
        wellFormed: true,
        honest: items.flatMap((item) => (item.kind === 'honest' ? [item.op] : [])),
        refused: items.filter((item) => item.kind === 'refused').length,
        count: items.length,
      }),
    );
  const request = (
    type: 'push' | 'pull',
    body: fc.Arbitrary<unknown>,
    wellFormed: boolean | undefined,
  ): fc.Arbitrary<Frame> =>
    fc.tuple(requestId, body).map(([id, b]) => ({
      kind: 'request',
      type,
      id,
      body: JSON.parse(JSON.stringify(b) ?? 'null') as unknown,
      wellFormed,
      honest: [],
      refused: 0,
      count: 0,
    }));
  const jsonMalformedPush = malformedPush(honest).filter((body) => {
    // Only bodies that stay malformed once they are JSON (NaN becomes null, a Set {}, …).
    const copy = JSON.parse(JSON.stringify(body) ?? 'null') as Record<string, unknown> | null;
    return !(
      typeof copy === 'object' &&
      copy !== null &&
      typeof copy.from === 'string' &&
      copy.from !== '' &&
      Array.isArray(copy.operations) &&
      copy.operations.length <= 5000 &&
      Number.isInteger(copy.cursor) &&
      (copy.cursor as number) >= 0
    );
  });
  const text = (what: string, arbitrary: fc.Arbitrary<string>, malformed = false): fc.Arbitrary<Frame> =>
    arbitrary.map((t) => ({ kind: 'text', what, text: t, ...(malformed ? { malformed: true as const } : {}) }));
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record({ client: fc.string({ minLength: 1, maxLength: 30 }) }, { requiredKeys: [] })
        .map((r): Frame => ({ kind: 'hello', ...r }))
        .filter((f) => f.kind !== 'hello' || !['writer', 'reader', 'alice'].includes(f.client ?? '')),
    },
    { weight: 4, arbitrary: wellFormedPush },
    { weight: 1, arbitrary: request('push', jsonMalformedPush, false) },
    { weight: 1, arbitrary: request('push', fc.jsonValue({ maxDepth: 3 }), undefined) },
    {
      weight: 2,
      arbitrary: request(
        'pull',
        validPull.map(({ request: r }) => r),
        true,
      ),
    },
    {
      weight: 1,
      arbitrary: request(
        'pull',
        malformedPull.filter((r) => r !== undefined),
        false,
      ),
    },
    { weight: 1, arbitrary: request('pull', fc.jsonValue({ maxDepth: 3 }), undefined) },
    {
      weight: 2,
      arbitrary: text(
        'truncated JSON',
        fc.tuple(wellFormedPush, fc.double({ min: 0, max: 1, noNaN: true })).map(([frame, cut]) => {
          const full = textOf(frame) as string;
          return full.slice(0, Math.floor(full.length * cut));
        }),
      ),
    },
    {
      weight: 2,
      arbitrary: text(
        'random JSON',
        fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
      ),
    },
    { weight: 1, arbitrary: text('random text', fc.string({ unit: 'binary', maxLength: 200 })) },
    {
      weight: 2,
      arbitrary: text(
        'another protocol version',
        fc
          .record(
            {
              v: fc.constantFrom<unknown>(1, 3, '2', null, 2.5, v + 1),
              type: fc.constantFrom('hello', 'push', 'pull'),
              id: fc.nat(),
              body: fc.constant({ cursor: 0, limit: 1 }),
            },
            { requiredKeys: ['type'] },
          )
          .map((frame) => JSON.stringify(frame)),
      ),
    },
    {
      weight: 2,
      arbitrary: text(
        'unknown or malformed frame',
        fc
          .oneof(
            fc
              .string()
              .filter((t) => !['hello', 'push', 'pull'].includes(t))
              .map((type) => ({ v, type, id: 1 })),
            fc.constantFrom(
              { v },
              { v, type: 'welcome', server: 'me', maxFrameBytes: 1 },
              { v, type: 'result', id: 1, body: {} },
              { v, type: 'poke', cursor: 1 },
              { v, type: '__proto__' },
              { v, type: 'push', id: -1, body: {} },
              { v, type: 'pull', id: 1.5, body: {} },
              { v, type: 'push', id: '1', body: {} },
              { v, type: 'hello', client: 5 },
              { v, type: 'hello', client: '' },
              { v, type: 'hello', client: 'c'.repeat(201) },
              { v, type: 'hello', token: 5 },
            ),
          )
          .map((frame) => JSON.stringify(frame)),
        true,
      ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): Frame => ({ kind: 'binary', bytes })) },
    { weight: 1, arbitrary: fc.constant<Frame>({ kind: 'bad utf-8' }) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.integer({ min: LIMIT + 1, max: LIMIT * 3 }), fc.integer({ min: LIMIT * 4 + 2048, max: LIMIT * 5 }))
        .map((bytes): Frame => ({ kind: 'oversize', bytes })),
    },
  );
}

/** True when JSON text is an op whose id derives from its content (a "malformed" op JSON made good again). */
function derivesItsIdJson(text: string): boolean {
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  try {
    const { id, ...content } = record as unknown as OperationEnvelope;
    return typeof id === 'string' && id === operationId(content);
  } catch {
    return false;
  }
}

describe(`hostile frames at a switchboard process (seed ${SEED})`, () => {
  let data: string;
  let server: ServerProcess;
  let exit: Exit | undefined;
  let writer: Reactor;
  let reader: Reactor;
  let material: HonestMaterial;
  const channels: WebSocketChannel[] = [];

  async function joinHub(reactor: Reactor) {
    const channel = createWebSocketChannel(server.url, {
      clientId: reactor.id,
      reconnect: { baseMs: 50, maxMs: 400 },
      requestTimeoutMs: CALL_MS,
    });
    channels.push(channel);
    await reactor.sync.add({ name: 'hub', channel, mode: 'ping-pong', pullIntervalMs: 60_000 });
  }

  beforeAll(async () => {
    data = mkdtempSync(join(tmpdir(), 'xstate-reactor-hostile-'));
    server = await startServer({ data, args: ['--max-frame-bytes', String(LIMIT)] });
    void server.exited.then((e) => {
      exit = e;
    });
    material = await honestMaterial('helper', 'h-');
    writer = await openReactor({ id: 'writer', ...FAST });
    reader = await openReactor({ id: 'reader', ...FAST });
    await joinHub(writer);
    await joinHub(reader);
    await writer.createDocument('counter', { id: 'w' });
    await untilDocument(reader, 'w', () => true, CALL_MS);
  }, 60_000);

  afterAll(async () => {
    for (const channel of channels.splice(0)) channel.close();
    await Promise.all([writer?.stop(), reader?.stop()]);
    await killAllServers();
    rmSync(data, { recursive: true, force: true });
  });

  /** Waits for a frame's answer and checks it against what was expected. */
  async function expectAnswer(raw: RawSocket, expected: Expectation, what: string) {
    const first = await raw.next();
    expect(first, `${what}: no answer within 5 s`).toBeDefined();
    if (expected.close === undefined) {
      expect(first && 'frame' in first, `${what}: the connection closed (${JSON.stringify(first)})`).toBe(true);
      const frame = (first as { frame: Record<string, unknown> }).frame;
      expect(expected.replies, `${what}: answered ${JSON.stringify(frame).slice(0, 300)}`).toContain(frame.type);
      if (expected.id !== undefined) expect(frame.id, `${what}: the answer's id`).toBe(expected.id);
      return frame;
    }
    let closing = first;
    if (first !== undefined && 'frame' in first) {
      expect(expected.replies, `${what}: answered ${JSON.stringify(first.frame).slice(0, 300)}`).toContain(
        first.frame.type,
      );
      closing = await raw.next();
    } else {
      expect(expected.replyOptional, `${what}: closed without an error frame`).toBe(true);
    }
    expect(closing, `${what}: expected the connection to close`).toEqual({ closed: expected.close });
    return undefined;
  }

  it('any frames: at most one answer each, the process lives on, and honest clients keep syncing', async () => {
    const delivered = new Set<string>();
    let run = 0;
    const sequence = fc.record({
      greetFirst: fc.boolean(),
      frames: fc.array(framesAgainst(material.ops, material.local), { minLength: 1, maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(sequence, async ({ greetFirst, frames }) => {
        run += 1;
        // The honest writer writes while the fuzzing goes on; the reader must get it.
        const written = writer.mutate('w', [{ type: 'INCREMENT', input: { by: run } }]);
        const raw = await openRaw(server.url);
        let welcomed = false;
        try {
          const all: Frame[] = greetFirst ? [{ kind: 'hello' }, ...frames] : frames;
          for (const [i, frame] of all.entries()) {
            const what = `frame ${i} (${frame.kind === 'text' ? frame.what : frame.kind})`;
            const text = textOf(frame);
            const expected = expectationOf(frame, text, welcomed);
            if (frame.kind === 'binary') raw.send(frame.bytes, { binary: true });
            else if (frame.kind === 'bad utf-8')
              raw.send(Uint8Array.from([0x7b, 0xc3, 0x28, 0xff, 0x7d]), { binary: false });
            else raw.send(text as string);
            const answer = await expectAnswer(raw, expected, what);
            if (answer?.type === 'welcome') welcomed = true;
            if (answer?.type === 'result' && frame.kind === 'request' && frame.type === 'push') {
              const body = answer.body as PushResponse;
              expect(body.rejected, `${what}: the refused ops`).toHaveLength(frame.refused);
              expect(body.accepted + body.duplicates, `${what}: the accepted ops`).toBe(frame.count - frame.refused);
              for (const op of frame.honest) delivered.add(op.id);
            }
            if (!raw.open()) break;
          }
          if (raw.open()) {
            // Nothing more comes for the frames above: the next answer is this one's.
            raw.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'pull', id: 999_999, body: { cursor: 0, limit: 0 } }));
            await expectAnswer(raw, { replies: [welcomed ? 'result' : 'error'], id: 999_999 }, 'the last frame');
          }
        } finally {
          raw.close();
        }
        expect(exit, `the switchboard exited; its log:\n${server.log()}`).toBeUndefined();
        expect((await server.health()).accepting).toBe(true);
        await within('the write', written);
        const count = countOf(writer, 'w') as number;
        await untilDocument(reader, 'w', (snapshot) => (snapshot.state as { count: number }).count === count, CALL_MS);
      }),
      runs(60),
    );

    // Afterwards: the two honest clients hold the same log as the server, with every honest op a
    // raw client pushed and got a result for, and the same documents.
    await within('the writer settling', writer.sync.settled({ timeoutMs: CALL_MS }));
    await within('the reader settling', reader.sync.settled({ timeoutMs: CALL_MS }));
    const [ofWriter, ofReader] = await Promise.all([wholeLog(writer), wholeLog(reader)]);
    const ids = ofReader.map((op) => op.id).sort();
    expect(ofWriter.map((op) => op.id).sort()).toEqual(ids);
    expect((await server.health()).ordinal).toBe(ids.length);
    for (const id of delivered) expect(ids, `honest op ${id} pushed by a raw client`).toContain(id);
    for (const op of ofReader) expect(derivesItsId(op)).toBe(true);
    for (const [documentId, branch] of streamsOf(ofReader)) {
      expect(snapshotOf(reader, documentId, branch)).toEqual(snapshotOf(writer, documentId, branch));
    }
    for (const client of [writer, reader]) {
      expect(client.sync.status('hub')).toMatchObject({ phase: 'idle', connection: 'online' });
    }
    expect(exit).toBeUndefined();
  }, 60_000);

  // The switchboard takes the hello's `client` as the source of what a connection pushes, but skips
  // only a client's own ops (its source *and* origin) when it pulls: claiming another's id in a
  // hello no longer hides what one pushes from that client.
  it('a client that claims another client’s id in its hello: what it pushes still reaches that client', async () => {
    const alice = await openReactor({ id: 'alice', ...FAST });
    try {
      await joinHub(alice);
      await untilDocument(alice, 'w', () => true, CALL_MS);
      await spoofAs(alice);
      await untilDocument(alice, 'spoof-c', (snapshot) => (snapshot.state as { count: number }).count === 6, 3_000);
    } finally {
      await alice.stop();
    }
  }, 30_000);

  async function spoofAs(victim: Reactor) {
    const spoof = await honestMaterial('spoofer', 'spoof-');
    const raw = await openRaw(server.url);
    try {
      raw.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'hello', client: victim.id }));
      expect(await raw.next()).toMatchObject({ frame: { type: 'welcome' } });
      raw.send(
        JSON.stringify({
          v: PROTOCOL_VERSION,
          type: 'push',
          id: 1,
          body: { from: victim.id, operations: spoof.ops, cursor: spoof.ops.length },
        }),
      );
      expect(await raw.next()).toMatchObject({
        frame: { type: 'result', id: 1, body: { accepted: spoof.ops.length } },
      });
    } finally {
      raw.close();
    }
    // Everyone else gets it.
    await untilDocument(reader, 'spoof-c', (snapshot) => (snapshot.state as { count: number }).count === 6, CALL_MS);
  }
});
