import { describe, expect, it } from 'vitest';
import { decodeHlc, encodeHlc, fold, type OperationEnvelope, type Reactor } from '../../src/index.js';
import { envelope, list, reactorsPerTest } from '../support.js';

const reactor = reactorsPerTest();

let seq = 0;
function op(partial: Partial<OperationEnvelope> & { wall: number; origin?: string }): OperationEnvelope {
  seq += 1;
  const origin = partial.origin ?? 'remote';
  return envelope({
    documentId: partial.documentId ?? 'l',
    scope: partial.scope ?? 'global',
    branch: partial.branch ?? 'main',
    type: partial.type ?? 'ADD',
    input: partial.input ?? { item: `i${seq}` },
    timestamp: encodeHlc({ wall: partial.wall, logical: 0 }, origin),
    origin,
  });
}
const create = (wall: number, documentId = 'l') =>
  op({ wall, documentId, scope: 'document', type: 'CREATE_DOCUMENT', input: { model: 'list' } });
const rebases = (r: Reactor): number => {
  const view = r.system.system.get('documentView');
  return (view?.getSnapshot().context as { rebases: number } | undefined)?.rebases ?? -1;
};

describe('load jobs: operations made elsewhere', () => {
  it('reproduces another reactor’s state from its log, byte for byte', async () => {
    const a = await reactor({ id: 'a' });
    const b = await reactor({ id: 'b' });
    await a.createDocument('list', { id: 'l' });
    for (const item of ['x', 'y', 'z']) await a.mutate('l', [{ type: 'ADD', input: { item } }]);
    const ops = [...(await a.operations('l', { scope: 'document' })), ...(await a.operations('l'))];
    expect(await b.load(ops)).toEqual({ stored: 4, duplicates: 0 });
    expect(b.documents.get('l')).toEqual(a.documents.get('l'));
    const copied = await b.operations('l');
    expect(copied.map((o) => [o.id, o.origin, o.timestamp])).toEqual(
      (await a.operations('l')).map((o) => [o.id, o.origin, o.timestamp]),
    );
  });

  it('is idempotent by id: a second delivery stores nothing, even inside one batch', async () => {
    const b = await reactor();
    const ops = [create(1), op({ wall: 2 }), op({ wall: 3 })];
    expect(await b.load(ops)).toEqual({ stored: 3, duplicates: 0 });
    expect(await b.load([...ops, ops[1] as OperationEnvelope])).toEqual({ stored: 0, duplicates: 4 });
    const twice = op({ wall: 4 });
    expect(await b.load([twice, { ...twice }])).toEqual({
      stored: 1,
      duplicates: 1,
    });
    expect(await b.operations('l')).toHaveLength(3);
    expect(b.documents.get('l')?.revision).toBe(3);
  });

  it('rebases when a late op sorts before ops already applied, from the nearest keyframe', async () => {
    const b = await reactor({ keyframeInterval: 4 });
    const early = [
      create(1),
      ...Array.from({ length: 10 }, (_, i) => op({ wall: 10 + i * 10, input: { item: `e${i}` } })),
    ];
    await b.load(early);
    expect(b.documents.get('l')?.state).toEqual({
      items: ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9'],
    });
    const before = rebases(b);
    await b.load([op({ wall: 75, input: { item: 'late' } })]);
    const log = await b.operations('l');
    expect(b.documents.get('l')?.state).toEqual(fold(list, log));
    expect((b.documents.get('l')?.state as { items: string[] } | undefined)?.items.slice(6, 9)).toEqual([
      'e6',
      'late',
      'e7',
    ]);
    expect(rebases(b)).toBe(before + 1);
    expect(log.map((o) => o.index)).toEqual(Array.from({ length: 11 }, (_, i) => i));
  });

  it('advances the clock: a local op written after loading sorts after everything loaded', async () => {
    const b = await reactor();
    const future = Date.now() + 3_600_000;
    await b.load([create(1), op({ wall: future, input: { item: 'future' } })]);
    const { operations } = await b.mutate('l', [{ type: 'ADD', input: { item: 'mine' } }]);
    const mine = decodeHlc(operations[0]?.timestamp as string);
    expect(mine.wall).toBeGreaterThanOrEqual(future);
    expect(b.documents.get('l')?.state).toEqual({ items: ['future', 'mine'] });
  });

  it('stores ops that arrive before their CREATE and materialises the document when it comes', async () => {
    const b = await reactor();
    await b.load([op({ wall: 5, input: { item: 'one' } }), op({ wall: 6, input: { item: 'two' } })]);
    expect(b.documents.get('l')).toBeUndefined();
    await b.load([create(1)]);
    expect(b.documents.get('l')?.state).toEqual({ items: ['one', 'two'] });
    expect(b.documents.get('l')?.revision).toBe(2);
  });

  it('marks an op whose reducer throws and keeps it, changing nothing', async () => {
    const b = await reactor();
    await b.load([create(1), op({ wall: 2, type: 'NOT_A_REDUCER' }), op({ wall: 3, input: { item: 'ok' } })]);
    expect(b.documents.get('l')?.state).toEqual({ items: ['ok'] });
    const log = await b.operations('l');
    expect(log[0]?.error).toMatch(/no reducer "NOT_A_REDUCER"/);
    expect(log[1]?.error).toBeUndefined();
  });

  it('a DELETE that arrives late makes later ops change nothing', async () => {
    const b = await reactor();
    await b.load([create(1), op({ wall: 10, input: { item: 'before' } }), op({ wall: 30, input: { item: 'after' } })]);
    expect(b.documents.get('l')?.state).toEqual({ items: ['before', 'after'] });
    await b.load([op({ wall: 20, scope: 'document', type: 'DELETE_DOCUMENT', input: {} })]);
    expect(b.documents.get('l')).toMatchObject({ deleted: true, state: { items: ['before'] }, revision: 2 });
  });

  it('refuses an op whose id does not match its contents, even when it sorts after everything stored', async () => {
    const b = await reactor();
    const original = op({ wall: 2, input: { item: 'original' } });
    await b.load([create(1), original]);
    const forged = { ...op({ wall: 99, input: { item: 'forged' } }), id: original.id };
    await expect(b.load([op({ wall: 50, input: { item: 'innocent' } }), forged])).rejects.toMatchObject({
      kind: 'protocol',
      message: expect.stringMatching(/load: operation 1: id .* does not match the operation's contents/),
    });
    expect(b.documents.get('l')?.state).toEqual({ items: ['original'] });
    expect(await b.operations('l')).toHaveLength(1);
    // The store is still usable afterwards.
    expect(await b.load([op({ wall: 60, input: { item: 'later' } })])).toEqual({ stored: 1, duplicates: 0 });
  });

  it('refuses a known id with other contents (the same id can never mean two ops), writing nothing', async () => {
    const b = await reactor();
    const original = op({ wall: 2, input: { item: 'original' } });
    await b.load([create(1), original]);
    const forged = { ...original, input: { item: 'forged' } };
    await expect(b.load([forged, op({ wall: 3, input: { item: 'innocent' } })])).rejects.toMatchObject({
      kind: 'protocol',
      message: expect.stringMatching(/operation 0: id .* does not match/),
    });
    expect(b.documents.get('l')?.state).toEqual({ items: ['original'] });
    expect(await b.operations('l')).toHaveLength(1);
  });
});
