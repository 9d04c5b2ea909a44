import { classifyError } from '../model/errors.js';
import { encodeHlc } from '../model/hlc.js';
import { sortCanonical, streamKey } from '../model/order.js';
import type {
  CursorRow,
  DeadLetterRow,
  KeyframeRow,
  MetaRow,
  OperationRow,
  RemoteRow,
  WriteRow,
} from '../model/rows.js';
import type { TestApi } from '../model/testApi.js';
import type { Job, Operation } from '../model/types.js';
import {
  isConstraintError,
  isFencedError,
  type StorageBackend,
  type StorageFencedError,
  type WriteBatch,
} from './backend.js';

export type { TestApi } from '../model/testApi.js';

/**
 * One database a contract test writes to: `open()` opens it, and opens it again after the suite
 * closed it (a reopen must see everything committed before). Each call of the suite's `place()`
 * is a new, empty database.
 */
export interface StoragePlace {
  open(): StorageBackend;
}

function op(n: number, overrides: Partial<Omit<OperationRow, 'stream'>> = {}): OperationRow {
  const base = {
    id: `op-${String(n).padStart(4, '0')}`,
    documentId: 'doc',
    scope: 'global' as const,
    branch: 'main',
    type: 'ADD',
    input: { n },
    timestamp: encodeHlc({ wall: 1_700_000_000_000 + n, logical: 0 }, 'node-a'),
    origin: 'node-a',
    ordinal: n,
    ...overrides,
  };
  return { ...base, stream: streamKey(base) };
}

const STREAM = streamKey({ documentId: 'doc', scope: 'global', branch: 'main' });

function keyframe(n: number, state: unknown = { n }): KeyframeRow {
  const at = op(n);
  return { stream: STREAM, timestamp: at.timestamp, id: at.id, count: n, state };
}

const meta = (ordinal: number): MetaRow => ({
  key: 'reactor',
  reactorId: 'r1',
  hlc: { wall: 1_700_000_000_000 + ordinal, logical: 2 },
  ordinal,
  jobSeq: ordinal,
});

const job = (seq: number, documentId = 'doc'): Job => ({
  kind: 'mutate',
  id: `job-${seq}`,
  seq,
  documentId,
  branch: 'main',
  actions: [{ type: 'ADD', input: { n: seq } }],
});

const remote = (name: string, batchSize = 500): RemoteRow => ({
  name,
  mode: 'ping-pong',
  filter: { documentIds: ['doc'], scopes: ['global'] },
  pullIntervalMs: 1000,
  debounceMs: 10,
  batchSize,
});

const cursor = (name: string, direction: 'push' | 'pull', value: number): CursorRow => ({
  remote: name,
  direction,
  cursor: value,
});

const letter = (id: string, name = 'hub'): DeadLetterRow => ({
  id,
  remote: name,
  direction: 'receive',
  operation: op(90),
  reason: { kind: 'unknown-model', message: 'no model "x"', retryable: false },
  at: 1_700_000_000_000,
});

/** An op as a write's caller got it: the envelope with its `index` (and `error`), no ordinal. */
function operation(n: number, index: number, extra: Partial<Operation> = {}): Operation {
  const { ordinal: _ordinal, stream: _stream, ...envelope } = op(n);
  return { ...envelope, index, ...extra };
}

const recorded = (id: string, at: number, operations: readonly Operation[] = [operation(1, 0)]): WriteRow => ({
  id,
  at,
  operations,
});

const ids = (rows: readonly { id: string }[]) => rows.map((row) => row.id);
const byId = <Row extends { id: string }>(rows: readonly Row[]) => [...rows].sort((a, b) => (a.id < b.id ? -1 : 1));

/** What `commit` of a rejected promise threw, or `undefined` when it resolved. */
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/**
 * The storage contract (see `StorageBackend`): the suite every backend passes, Dexie and SQLite
 * included. It defines one `describe` block of tests with the given test functions (vitest's or
 * jest's); `place()` gives a fresh, empty database for each test. The suite closes every backend it
 * opened after each test; deleting files or databases afterwards is the caller's business.
 *
 * ```ts
 * import { afterEach, describe, expect, it } from 'vitest';
 * import { describeStorageContract } from 'xstate-reactor/storage';
 *
 * describeStorageContract('my backend', () => ({ open: () => createMyStorage(…) }), { describe, it, expect, afterEach });
 * ```
 */
export function describeStorageContract(name: string, place: () => StoragePlace, t: TestApi): void {
  const { describe, it, expect, afterEach } = t;
  describe(`storage contract: ${name}`, () => {
    const opened: StorageBackend[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((backend) => backend.close()));
    });
    /** A fresh database, and a way to open it again. */
    const fresh = () => {
      const where = place();
      const open = () => {
        const backend = where.open();
        opened.push(backend);
        return backend;
      };
      return { storage: open(), reopen: open };
    };

    it('starts empty', async () => {
      const { storage } = fresh();
      expect(typeof storage.name).toBe('string');
      expect(await storage.readBoot()).toEqual({ meta: undefined, jobLog: [], lanes: [], streams: [] });
      expect(await storage.readSync()).toEqual({ remotes: [], cursors: [], deadLetters: [] });
      expect(await storage.readSince(0, 10)).toEqual([]);
      expect(await storage.readStream(STREAM)).toEqual([]);
      expect(await storage.streamTail(STREAM)).toBeUndefined();
      expect(await storage.findOperations(['op-0001'])).toEqual([]);
    });

    it('keeps everything a batch wrote across close and reopen, equal to what went in', async () => {
      const { storage, reopen } = fresh();
      const batch: WriteBatch = {
        operations: [op(1), op(2, { source: 'hub' }), op(3, { documentId: 'other' })],
        jobLog: { put: [{ id: 'jobs:1:job-1', jobs: [job(1), job(2, 'other')] }] },
        lanes: [{ lane: 'doc', seq: 7 }],
        keyframes: { put: [keyframe(2)] },
        streams: [{ stream: STREAM, documentId: 'doc', scope: 'global', branch: 'main' }],
        remotes: { put: [remote('hub')] },
        cursors: { put: [cursor('hub', 'push', 7), cursor('hub', 'pull', 12)] },
        deadLetters: { put: [letter('x')] },
        meta: meta(3),
      };
      await storage.commit(batch);
      await storage.close();

      const again = reopen();
      expect(await again.readBoot()).toEqual({
        meta: meta(3),
        jobLog: batch.jobLog?.put,
        lanes: batch.lanes,
        streams: batch.streams,
      });
      const sync = await again.readSync();
      expect(sync.remotes).toEqual(batch.remotes?.put);
      expect(sync.cursors).toHaveLength(2);
      expect(sync.cursors).toEqual(expect.arrayContaining([...(batch.cursors?.put ?? [])]));
      expect(sync.deadLetters).toEqual(batch.deadLetters?.put);
      expect(await again.readSince(0, 10)).toEqual(batch.operations);
      expect(await again.readStream(STREAM)).toEqual([op(1), op(2, { source: 'hub' })]);
      expect(await again.readKeyframes(STREAM)).toEqual([keyframe(2)]);
    });

    it('applies a batch whole or not at all: a stored op id or ordinal fails it and writes nothing', async () => {
      const { storage } = fresh();
      await storage.commit({
        operations: [op(1)],
        meta: meta(1),
        cursors: { put: [cursor('hub', 'pull', 1)] },
        writes: { put: [recorded('w1', 1)] },
      });
      const everything = async () => ({
        boot: await storage.readBoot(),
        sync: await storage.readSync(),
        ops: await storage.readSince(0, 100),
        keyframes: await storage.readKeyframes(STREAM),
        writes: await storage.findWrites(['w1', 'w2']),
      });
      const before = await everything();
      const rest: WriteBatch = {
        jobLog: { put: [{ id: 'jobs:2:job-2', jobs: [job(2)] }] },
        lanes: [{ lane: 'doc', seq: 2 }],
        keyframes: { put: [keyframe(2)] },
        streams: [{ stream: 'new', documentId: 'new', scope: 'global', branch: 'main' }],
        remotes: { put: [remote('other')] },
        cursors: { put: [cursor('hub', 'pull', 99)] },
        deadLetters: { put: [letter('y')] },
        meta: meta(3),
        writes: { deleteBefore: 10, put: [recorded('w2', 20)] },
      };
      const reusedId = storage.commit({ ...rest, operations: [op(2), op(3, { id: op(1).id })] });
      await expect(reusedId).rejects.toSatisfy(isConstraintError);
      const reusedOrdinal = storage.commit({ ...rest, operations: [op(2), op(4, { ordinal: 1 })] });
      await expect(reusedOrdinal).rejects.toSatisfy(isConstraintError);
      expect(await everything()).toEqual(before);

      // The store is usable afterwards.
      await storage.commit({ operations: [op(2)] });
      expect(ids(await storage.readSince(0, 10))).toEqual([op(1).id, op(2).id]);
    });

    it('refuses a value that cannot be cloned as a permanent storage error, writing nothing', async () => {
      const { storage } = fresh();
      const failure = await storage
        .commit({ operations: [op(1)], keyframes: { put: [keyframe(1, { f: () => 1 })] } })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(classifyError(failure)).toMatchObject({ kind: 'storage', retryable: false });
      expect(await storage.readSince(0, 10)).toEqual([]);
    });

    it('reads ops in ordinal order, a page at a time', async () => {
      const { storage } = fresh();
      // Ordinals out of stream order and spread over streams.
      await storage.commit({ operations: [op(3, { documentId: 'b' }), op(1), op(2, { documentId: 'c' })] });
      await storage.commit({ operations: [op(5), op(4, { documentId: 'b' })] });
      const ordinals = async (after: number, limit: number) =>
        (await storage.readSince(after, limit)).map((row) => row.ordinal);
      expect(await ordinals(0, 100)).toEqual([1, 2, 3, 4, 5]);
      expect(await ordinals(0, 2)).toEqual([1, 2]);
      expect(await ordinals(2, 2)).toEqual([3, 4]);
      expect(await ordinals(4, 2)).toEqual([5]);
      expect(await ordinals(5, 2)).toEqual([]);
    });

    it('reads a stream in canonical order (timestamp, then id, as JavaScript compares strings), strictly after a key', async () => {
      const { storage } = fresh();
      const same = encodeHlc({ wall: 1_700_000_000_500, logical: 0 }, 'node-b');
      // Ids that UTF-8 byte order would sort differently from JavaScript's code-unit order.
      const rows = [
        op(1, { timestamp: same, id: '\u{1F600}' }),
        op(2, { timestamp: same, id: '\uE000' }),
        op(3, { timestamp: same, id: 'b' }),
        op(4),
        op(5, { timestamp: encodeHlc({ wall: 1_700_000_000_900, logical: 0 }, 'node-c') }),
        op(6, { documentId: 'elsewhere' }),
      ];
      await storage.commit({ operations: rows.slice(0, 3) });
      await storage.commit({ operations: rows.slice(3) });
      const expected = sortCanonical(rows.filter((row) => row.documentId === 'doc'));
      expect(ids(expected)).toEqual(['op-0004', 'b', '\u{1F600}', '\uE000', 'op-0005']);
      expect(await storage.readStream(STREAM)).toEqual(expected);
      expect(ids(await storage.readStream(STREAM, expected[2]))).toEqual(ids(expected.slice(3)));
      expect(ids(await storage.readStream(STREAM, { timestamp: same, id: 'a' }))).toEqual(ids(expected.slice(1)));
      expect(await storage.readStream(STREAM, expected[4])).toEqual([]);
      const last = expected[4] as OperationRow;
      expect(await storage.streamTail(STREAM)).toEqual({ timestamp: last.timestamp, id: last.id });
    });

    it('finds stored ops by id and leaves unknown ids out', async () => {
      const { storage } = fresh();
      await storage.commit({ operations: [op(1), op(2, { source: 'hub' })] });
      const found = await storage.findOperations([op(2).id, 'missing', op(1).id]);
      expect(found.sort((a, b) => a.ordinal - b.ordinal)).toEqual([op(1), op(2, { source: 'hub' })]);
      expect(await storage.findOperations([])).toEqual([]);
    });

    it('drops keyframes strictly after a key before putting the batch’s own', async () => {
      const { storage } = fresh();
      await storage.commit({ keyframes: { put: [keyframe(4), keyframe(1), keyframe(3), keyframe(2)] } });
      expect((await storage.readKeyframes(STREAM)).map((row) => row.count)).toEqual([1, 2, 3, 4]);
      const other = { ...keyframe(9), stream: 'other' };
      await storage.commit({ keyframes: { put: [other] } });

      await storage.commit({ keyframes: { drop: [{ stream: STREAM, after: op(2) }], put: [keyframe(5)] } });
      expect((await storage.readKeyframes(STREAM)).map((row) => row.count)).toEqual([1, 2, 5]);
      expect(await storage.readKeyframes('other')).toEqual([other]);

      await storage.commit({ keyframes: { put: [keyframe(2, { replaced: true })] } });
      expect((await storage.readKeyframes(STREAM))[1]?.state).toEqual({ replaced: true });
    });

    it('keeps the job log and lane watermarks across reopen, with deletes and overwrites', async () => {
      const { storage, reopen } = fresh();
      await storage.commit({
        jobLog: {
          put: [
            { id: 'jobs:1:a', jobs: [job(1)] },
            { id: 'jobs:2:b', jobs: [job(2), job(3)] },
          ],
        },
        lanes: [{ lane: 'doc', seq: 1 }],
      });
      await storage.commit({
        jobLog: { delete: ['jobs:1:a'], put: [{ id: 'jobs:4:c', jobs: [job(4, 'other')] }] },
        lanes: [
          { lane: 'doc', seq: 2 },
          { lane: 'other', seq: 0 },
        ],
      });
      await storage.close();
      const boot = await reopen().readBoot();
      expect(boot.jobLog).toEqual([
        { id: 'jobs:2:b', jobs: [job(2), job(3)] },
        { id: 'jobs:4:c', jobs: [job(4, 'other')] },
      ]);
      expect(boot.lanes).toEqual([
        { lane: 'doc', seq: 2 },
        { lane: 'other', seq: 0 },
      ]);
    });

    it('round-trips remotes, cursors and dead letters: put, overwrite, delete', async () => {
      const { storage, reopen } = fresh();
      await storage.commit({
        remotes: { put: [remote('hub'), remote('peer')] },
        cursors: { put: [cursor('hub', 'push', 3), cursor('hub', 'pull', 4), cursor('peer', 'pull', 5)] },
        deadLetters: { put: [letter('x'), letter('y', 'peer')] },
      });
      await storage.commit({
        remotes: { delete: ['peer'], put: [remote('hub', 50)] },
        cursors: { delete: [{ remote: 'peer', direction: 'pull' }], put: [cursor('hub', 'pull', 40)] },
        deadLetters: { delete: ['y'], put: [{ ...letter('x'), at: 1 }] },
      });
      await storage.close();
      const sync = await reopen().readSync();
      expect(sync.remotes).toEqual([remote('hub', 50)]);
      expect(sync.cursors).toHaveLength(2);
      expect(sync.cursors).toEqual(expect.arrayContaining([cursor('hub', 'push', 3), cursor('hub', 'pull', 40)]));
      expect(sync.deadLetters).toEqual([{ ...letter('x'), at: 1 }]);
    });

    it('keeps the last meta row written', async () => {
      const { storage, reopen } = fresh();
      await storage.commit({ meta: meta(1) });
      await storage.commit({ meta: meta(2) });
      await storage.close();
      expect((await reopen().readBoot()).meta).toEqual(meta(2));
    });

    it('gives back exactly the values that went in', async () => {
      const { storage, reopen } = fresh();
      const plain = {
        nested: { deep: [1, [2, [3, { four: 4 }]]], empty: {}, none: [] },
        unicode: 'héllo ✓ 😀 \u0000 \uFFFF \u2028',
        lone: '\uD800 alone',
        large: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308, 5e-324, 0.1 + 0.2],
        flags: [true, false, null],
        __proto__key: { ['__proto__']: 1 },
      };
      const rich = {
        date: new Date(1_700_000_000_123),
        map: new Map<unknown, unknown>([
          ['a', 1],
          [2, { b: [3] }],
        ]),
        set: new Set(['x', 'y']),
        big: 12345678901234567890n,
        odd: [Number.NaN, Number.POSITIVE_INFINITY, -0],
        missing: undefined,
      };
      const unusualId = 'id \uDC00 with a lone surrogate';
      await storage.commit({
        operations: [op(1, { input: plain }), op(2, { input: rich }), op(3, { id: unusualId, origin: 'ö' })],
        keyframes: { put: [keyframe(1, rich)] },
      });
      await storage.close();
      const again = reopen();
      const [first, second, third] = (await again.readSince(0, 10)) as [OperationRow, OperationRow, OperationRow];
      expect(first.input).toEqual(plain);
      expect(Object.hasOwn((first.input as typeof plain).__proto__key, '__proto__')).toBe(true);
      const back = second.input as typeof rich;
      expect(back).toEqual(rich);
      expect(back.date).toBeInstanceOf(Date);
      expect(back.map).toBeInstanceOf(Map);
      expect(Object.is(back.odd[2], -0)).toBe(true);
      expect('missing' in back).toBe(true);
      expect(third.id).toBe(unusualId);
      expect(await again.findOperations([unusualId])).toHaveLength(1);
      expect(await again.findOperations(['id \uFFFD with a lone surrogate'])).toEqual([]);
      const [frame] = (await again.readKeyframes(STREAM)) as [KeyframeRow];
      expect(frame.state).toEqual(rich);
      expect((frame.state as typeof rich).set).toBeInstanceOf(Set);
    });

    it('claims write epochs from 0 upwards, in the meta store beside the reactor’s row, across reopen', async () => {
      const { storage, reopen } = fresh();
      expect(await storage.claimEpoch()).toBe(1);
      expect(await storage.claimEpoch()).toBe(2);
      await storage.commit({ meta: meta(1) });
      await storage.close();
      const again = reopen();
      expect(await again.claimEpoch()).toBe(3);
      // The fence is not the reactor's meta row, and claiming leaves that row alone.
      expect((await again.readBoot()).meta).toEqual(meta(1));
      await again.close();
      const fence = reopen();
      expect((await fence.readBoot()).meta).toEqual(meta(1));
      expect(await fence.claimEpoch()).toBe(4);
    });

    it('commits a fenced batch while its epoch is the database’s (epoch 0 before any claim)', async () => {
      const { storage } = fresh();
      await storage.commit({ fence: 0, operations: [op(1)] });
      const epoch = await storage.claimEpoch();
      await storage.commit({
        fence: epoch,
        operations: [op(2)],
        keyframes: { put: [keyframe(2)] },
        cursors: { put: [cursor('hub', 'pull', 2)] },
        writes: { put: [recorded('w', 2)] },
        meta: meta(2),
      });
      expect(ids(await storage.readSince(0, 10))).toEqual([op(1).id, op(2).id]);
      expect(await storage.readKeyframes(STREAM)).toEqual([keyframe(2)]);
      expect((await storage.readSync()).cursors).toEqual([cursor('hub', 'pull', 2)]);
      expect(await storage.findWrites(['w'])).toEqual([recorded('w', 2)]);
      expect((await storage.readBoot()).meta).toEqual(meta(2));
    });

    it('refuses a batch fenced with an epoch that is no longer the database’s, writing nothing', async () => {
      const { storage, reopen } = fresh();
      const mine = await storage.claimEpoch();
      await storage.commit({
        fence: mine,
        operations: [op(1)],
        meta: meta(1),
        keyframes: { put: [keyframe(1)] },
        cursors: { put: [cursor('hub', 'pull', 1)] },
        writes: { put: [recorded('w1', 1)] },
      });
      const everything = async (backend: StorageBackend) => ({
        boot: await backend.readBoot(),
        sync: await backend.readSync(),
        ops: await backend.readSince(0, 100),
        keyframes: await backend.readKeyframes(STREAM),
        writes: await backend.findWrites(['w1', 'w2']),
      });
      const before = await everything(storage);
      // Another writer takes over; this one does not know yet.
      const theirs = await storage.claimEpoch();
      expect(theirs).toBe(mine + 1);
      const stale: WriteBatch = {
        fence: mine,
        operations: [op(2)],
        jobLog: { put: [{ id: 'jobs:2:job-2', jobs: [job(2)] }], delete: ['jobs:1:job-1'] },
        lanes: [{ lane: 'doc', seq: 2 }],
        keyframes: { drop: [{ stream: STREAM, after: { timestamp: '', id: '' } }], put: [keyframe(2)] },
        streams: [{ stream: 'new', documentId: 'new', scope: 'global', branch: 'main' }],
        remotes: { put: [remote('other')] },
        cursors: { put: [cursor('hub', 'pull', 99)], delete: [{ remote: 'hub', direction: 'pull' }] },
        deadLetters: { put: [letter('y')] },
        meta: meta(2),
        writes: { deleteBefore: 100, put: [recorded('w2', 200)] },
      };
      const failure = await failureOf(storage.commit(stale));
      expect(failure).toSatisfy(isFencedError);
      expect(failure).toMatchObject({ name: 'StorageFencedError', fence: mine, epoch: theirs });
      expect(classifyError(failure)).toMatchObject({ kind: 'conflict', retryable: false });
      expect(classifyError(failure).message).toContain('taken over by a newer leader');
      // An epoch ahead of the database's is not its epoch either.
      const ahead = await failureOf(storage.commit({ ...stale, fence: theirs + 1 }));
      expect((ahead as StorageFencedError).epoch).toBe(theirs);
      expect(await everything(storage)).toEqual(before);

      // The new epoch's holder commits; the refused writer's epoch stays refused, also after a reopen.
      await storage.commit({ fence: theirs, operations: [op(2)] });
      await storage.close();
      const again = reopen();
      await expect(again.commit({ fence: mine, meta: meta(9) })).rejects.toSatisfy(isFencedError);
      expect(ids(await again.readSince(0, 10))).toEqual([op(1).id, op(2).id]);
      expect((await again.readBoot()).meta).toEqual(meta(1));
    });

    it('does not check a batch without a fence (a reactor alone on its database never sets one)', async () => {
      const { storage } = fresh();
      await storage.claimEpoch();
      await storage.claimEpoch();
      await storage.commit({ operations: [op(1)], meta: meta(1) });
      expect(ids(await storage.readSince(0, 10))).toEqual([op(1).id]);
      expect((await storage.readBoot()).meta).toEqual(meta(1));
    });

    it('records writes atomically with their ops, finds them by id, and prunes them by age before the puts', async () => {
      const { storage, reopen } = fresh();
      expect(await storage.findWrites(['a'])).toEqual([]);
      await storage.commit({
        operations: [op(1), op(2)],
        writes: { put: [recorded('a', 10, [operation(1, 0)]), recorded('b', 20, [operation(2, 1)])] },
      });
      expect(byId(await storage.findWrites(['b', 'missing', 'a']))).toEqual([
        recorded('a', 10, [operation(1, 0)]),
        recorded('b', 20, [operation(2, 1)]),
      ]);
      expect(await storage.findWrites([])).toEqual([]);

      // Rows older than `deleteBefore` go (`at` equal stays); the batch's own puts land after, however old.
      await storage.commit({
        operations: [op(3)],
        writes: { deleteBefore: 20, put: [recorded('c', 5, [operation(3, 2)]), recorded('b', 21, [])] },
      });
      await storage.close();
      const again = reopen();
      expect(byId(await again.findWrites(['a', 'b', 'c']))).toEqual([
        recorded('b', 21, []),
        recorded('c', 5, [operation(3, 2)]),
      ]);
      expect(ids(await again.readSince(0, 10))).toEqual([op(1).id, op(2).id, op(3).id]);

      // A batch that fails keeps its recorded writes out too.
      const failed = again.commit({
        operations: [op(4, { id: op(1).id })],
        writes: { deleteBefore: 1000, put: [recorded('d', 30)] },
      });
      await expect(failed).rejects.toSatisfy(isConstraintError);
      expect(byId(await again.findWrites(['b', 'c', 'd']))).toHaveLength(2);
    });

    it('gives back a recorded write’s ops equal, with their index and error', async () => {
      const { storage, reopen } = fresh();
      const row = recorded('write \uD800 lone', 1_700_000_000_123, [
        operation(1, 0),
        operation(2, 1, { error: 'reducer threw: RangeError: no' }),
        operation(3, 7, { input: { nested: [1, { two: 'ö 😀' }], none: null } }),
      ]);
      await storage.commit({ writes: { put: [row] } });
      await storage.close();
      const [back] = (await reopen().findWrites([row.id])) as [WriteRow];
      expect(back).toEqual(row);
      expect(back.operations.map((each) => each.index)).toEqual([0, 1, 7]);
      expect('error' in (back.operations[0] as Operation)).toBe(false);
    });

    it('rejects reads and commits once closed; closing twice is harmless', async () => {
      const { storage } = fresh();
      await storage.close();
      await storage.close();
      await expect(storage.commit({ meta: meta(1) })).rejects.toBeDefined();
      await expect(storage.readSince(0, 1)).rejects.toBeDefined();
      await expect(storage.findWrites(['w'])).rejects.toBeDefined();
      await expect(storage.claimEpoch()).rejects.toBeDefined();
    });
  });
}
