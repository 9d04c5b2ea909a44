import { afterEach, describe, expect, it } from 'vitest';
import { createReactor, defineDocumentModel, type Reactor, ReactorError } from '../../src/index.js';
import { freshStorage, openReactor } from '../support.js';

const open: Reactor[] = [];
async function reactor() {
  const r = await openReactor();
  open.push(r);
  await r.createDocument('counter', { id: 'c' });
  await r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
  return r;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.stop()));
});

/** Every rejection leaves the log exactly as it was. */
async function expectNothingWritten(r: Reactor, attempt: () => Promise<unknown>, kind: string, message: RegExp) {
  const before = await r.operations('c');
  const state = r.documents.get('c')?.state;
  const error = await attempt().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReactorError);
  expect(error).toMatchObject({ kind });
  expect((error as Error).message).toMatch(message);
  expect(await r.operations('c')).toEqual(before);
  expect(r.documents.get('c')?.state).toEqual(state);
}

describe('bad input gets a clear ReactorError and writes nothing', () => {
  it('unknown model', async () => {
    const r = await reactor();
    await expectNothingWritten(r, () => r.createDocument('nope'), 'unknown-model', /no model "nope".*counter, list/);
    expect(r.documents.list().map((d) => d.id)).toEqual(['c']);
  });

  it('unknown action type', async () => {
    const r = await reactor();
    await expectNothingWritten(
      r,
      () => r.mutate('c', [{ type: 'DECREMENT' }]),
      'validation',
      /no action "DECREMENT".*INCREMENT/,
    );
  });

  it('missing document', async () => {
    const r = await reactor();
    await expect(r.mutate('ghost', [{ type: 'INCREMENT', input: { by: 1 } }])).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringMatching(/"ghost" does not exist/),
    });
    await expect(r.operations('ghost')).resolves.toEqual([]);
  });

  it('duplicate document id', async () => {
    const r = await reactor();
    await expectNothingWritten(r, () => r.createDocument('counter', { id: 'c' }), 'conflict', /already exists/);
  });

  it('a reducer that throws on a local mutation, even as the second action of a job', async () => {
    const r = await reactor();
    await expectNothingWritten(
      r,
      () =>
        r.mutate('c', [
          { type: 'INCREMENT', input: { by: 1 } },
          { type: 'FAIL_IF_NEGATIVE', input: { by: -50 } },
        ]),
      'validation',
      /reducer "FAIL_IF_NEGATIVE".*count would be -48.*nothing was written/,
    );
  });

  it('a failing job does not disturb the jobs queued around it', async () => {
    const r = await reactor();
    const results = await Promise.allSettled([
      r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]),
      r.mutate('c', [{ type: 'FAIL_IF_NEGATIVE', input: { by: -100 } }]),
      r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]),
    ]);
    expect(results.map((res) => res.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(r.documents.get('c')?.state).toEqual({ count: 3 });
  });

  it('input that is not JSON data, naming the value and its path', async () => {
    const r = await reactor();
    const cyclic: Record<string, unknown> = { by: 1 };
    cyclic.self = { back: cyclic };
    const cases: [unknown, RegExp][] = [
      [
        { by: 1, callback: () => 1 },
        /action 0 \("INCREMENT"\): input\.callback is a function; inputs must be JSON data/,
      ],
      [{ by: 1, at: new Date(0) }, /input\.at is a Date/],
      [{ by: 1, tags: new Set(['a']) }, /input\.tags is a Set/],
      [{ by: 1, index: new Map() }, /input\.index is a Map/],
      [{ by: Number.NaN }, /input\.by is NaN/],
      [{ by: Number.POSITIVE_INFINITY }, /input\.by is Infinity/],
      [{ by: 1, big: 10n }, /input\.big is a bigint/],
      [{ by: 1, list: [1, undefined] }, /input\.list\[1\] is undefined/],
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point
      [{ by: 1, list: [1, , 3] }, /input\.list\[1\] is a hole in a sparse array/],
      [{ by: 1, 'odd key': { deep: new Date(0) } }, /input\["odd key"\]\.deep is a Date/],
      [cyclic, /input\.self\.back\.self\.back.* (nested deeper than 100 levels \(or a cycle\))/],
    ];
    for (const [input, message] of cases) {
      await expectNothingWritten(r, () => r.mutate('c', [{ type: 'INCREMENT', input }]), 'validation', message);
    }
    // Every later mutation still works (a cycle used to hang the reactor).
    const before = (r.documents.get('c')?.state as { count: number } | undefined)?.count ?? 0;
    await r.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    expect(r.documents.get('c')?.state).toEqual({ count: before + 2 });
  });

  it('normalises inputs the way JSON carries them: sorted keys, no undefined members, no -0', async () => {
    const r = await reactor();
    const { operations } = await r.mutate('c', [{ type: 'INCREMENT', input: { z: 1, by: -0, a: undefined } }]);
    expect(Object.keys(operations[0]?.input as object)).toEqual(['by', 'z']);
    expect(Object.is((operations[0]?.input as { by: number } | undefined)?.by, 0)).toBe(true);
    expect(Object.isFrozen(operations[0]?.input)).toBe(true);
  });

  it('malformed action lists', async () => {
    const r = await reactor();
    await expectNothingWritten(r, () => r.mutate('c', []), 'validation', /non-empty array/);
    await expectNothingWritten(r, () => r.mutate('c', [null as never]), 'validation', /action 0 must be an object/);
    await expectNothingWritten(
      r,
      () => r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 }, scope: 'document' as never }]),
      'validation',
      /"scope" must be "global" or "local"/,
    );
    await expectNothingWritten(r, () => r.mutate('', [{ type: 'INCREMENT' }]), 'validation', /non-empty string/);
  });

  it('malformed operations passed to load', async () => {
    const r = await reactor();
    await expectNothingWritten(r, () => r.load([{ id: 'x' }]), 'protocol', /operation 0.*"scope"/);
    await expectNothingWritten(r, () => r.load('nope' as never), 'protocol', /expected an array/);
  });

  it('bad options to createReactor and defineDocumentModel', async () => {
    await expect(createReactor({ models: [{} as never], storage: freshStorage() })).rejects.toMatchObject({
      kind: 'validation',
      message: expect.stringMatching(/not a document model/),
    });
    await expect(createReactor({ models: [], concurrency: 0, storage: freshStorage() })).rejects.toMatchObject({
      kind: 'validation',
      message: expect.stringMatching(/"concurrency" must be a positive integer/),
    });
    expect(() => defineDocumentModel({ type: '', initialState: () => 0, reducers: {} })).toThrow(/"type" must be/);
  });

  it('refuses to open a database under another reactor id', async () => {
    const storage = freshStorage();
    const first = await createReactor({ models: [], id: 'one', storage });
    await first.stop();
    await expect(createReactor({ models: [], id: 'two', storage })).rejects.toMatchObject({
      kind: 'validation',
      message: expect.stringMatching(/belongs to reactor "one"/),
    });
  });

  it('rejects calls after stop with kind "stopped"', async () => {
    const r = await openReactor();
    await r.stop();
    await expect(r.createDocument('counter')).rejects.toMatchObject({ kind: 'stopped' });
  });
});
