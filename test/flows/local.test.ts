import { firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CREATE_DOCUMENT, fold, hashState } from '../../src/index.js';
import { counter, reactorsPerTest } from '../support.js';

const reactor = reactorsPerTest();

describe('local reactor', () => {
  it('records CREATE_DOCUMENT in the document scope and returns the made ops with ids, HLC and origin', async () => {
    const r = await reactor({ id: 'alice' });
    const { documentId, operations } = await r.createDocument('counter', { id: 'd1' });
    expect(documentId).toBe('d1');
    expect(operations).toHaveLength(1);
    expect(operations[0]).toMatchObject({
      type: CREATE_DOCUMENT,
      scope: 'document',
      origin: 'alice',
      input: { model: 'counter' },
    });
    const docLog = await r.operations('d1', { scope: 'document' });
    expect(docLog.map((op) => op.type)).toEqual([CREATE_DOCUMENT]);
    expect(r.documents.get('d1')).toMatchObject({
      id: 'd1',
      type: 'counter',
      state: { count: 0 },
      revision: 0,
      deleted: false,
    });
  });

  it('generates a document id when none is given', async () => {
    const r = await reactor();
    const { documentId } = await r.createDocument('counter');
    expect(documentId).toMatch(/^[0-9a-z]{16}$/);
    expect(r.documents.list().map((d) => d.id)).toEqual([documentId]);
  });

  it('applies un-awaited mutations in submission order and indexes ops 0..n-1', async () => {
    const r = await reactor();
    await r.createDocument('list', { id: 'l' });
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((item) => r.mutate('l', [{ type: 'ADD', input: { item } }])),
    );
    expect(results.map((res) => res.operations[0]?.index)).toEqual([0, 1, 2, 3]);
    expect(r.documents.get('l')?.state).toEqual({ items: ['a', 'b', 'c', 'd'] });
    const ops = await r.operations('l');
    expect(ops.map((op) => op.index)).toEqual([0, 1, 2, 3]);
    const timestamps = ops.map((op) => op.timestamp);
    expect([...timestamps].sort()).toEqual(timestamps);
  });

  it('lets a mutation submitted right after createDocument (same tick) see the new document', async () => {
    const r = await reactor();
    const created = r.createDocument('counter', { id: 'c' });
    const mutated = r.mutate('c', [{ type: 'INCREMENT', input: { by: 4 } }]);
    await Promise.all([created, mutated]);
    expect(r.documents.get('c')?.state).toEqual({ count: 4 });
  });

  it('keeps local-scope state apart from the global state', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'c' });
    await r.mutate('c', [
      { type: 'INCREMENT', input: { by: 1 } },
      { type: 'INCREMENT', input: { by: 10 }, scope: 'local' },
    ]);
    const snapshot = r.documents.get('c');
    expect(snapshot?.state).toEqual({ count: 1 });
    expect(snapshot?.localState).toEqual({ count: 10 });
    expect((await r.operations('c', { scope: 'local' })).map((op) => op.input)).toEqual([{ by: 10 }]);
  });

  it('keeps branches apart', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'c' });
    await r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await r.mutate('c', [{ type: 'INCREMENT', input: { by: 7 } }], { branch: 'draft' });
    expect(r.documents.get('c')?.state).toEqual({ count: 1 });
    expect(r.documents.get('c', { branch: 'draft' })?.state).toEqual({ count: 7 });
    expect(await r.operations('c', { branch: 'draft' })).toHaveLength(1);
  });

  it('observes a document: current snapshot first, then every change', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'c' });
    const seen = firstValueFrom(r.documents.observe('c').pipe(take(3), toArray()));
    await r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await r.mutate('c', [{ type: 'INCREMENT', input: { by: 2 } }]);
    expect((await seen).map((s) => s.state)).toEqual([{ count: 0 }, { count: 1 }, { count: 3 }]);
  });

  it('gives equal states equal hashes, and state equals a fresh fold of the log', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'x' });
    await r.createDocument('counter', { id: 'y' });
    await r.mutate('x', [
      { type: 'INCREMENT', input: { by: 2 } },
      { type: 'INCREMENT', input: { by: 3 } },
    ]);
    await r.mutate('y', [{ type: 'INCREMENT', input: { by: 5 } }]);
    const x = r.documents.get('x');
    const y = r.documents.get('y');
    expect(x?.hash).toBe(y?.hash);
    expect(x?.hash).toBe(hashState({ count: 5 }));
    expect(fold(counter, await r.operations('x'))).toEqual(x?.state);
  });

  it('deletes a document: the DELETE is an op, later mutations are rejected, the log stays', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'c' });
    await r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    const { operations } = await r.deleteDocument('c');
    expect(operations[0]?.type).toBe('DELETE_DOCUMENT');
    expect(r.documents.get('c')).toMatchObject({ deleted: true, state: { count: 1 } });
    expect(r.documents.list()).toEqual([]);
    expect(r.documents.list({ includeDeleted: true }).map((d) => d.id)).toEqual(['c']);
    await expect(r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }])).rejects.toMatchObject({
      kind: 'conflict',
      message: expect.stringMatching(/deleted/),
    });
    await expect(r.deleteDocument('c')).rejects.toMatchObject({ kind: 'conflict' });
    expect(await r.operations('c')).toHaveLength(1);
  });

  it('rejects a mutation queued behind a delete of the same document, writing nothing', async () => {
    const r = await reactor();
    await r.createDocument('counter', { id: 'c' });
    const deleted = r.deleteDocument('c');
    const late = r.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await deleted;
    await expect(late).rejects.toMatchObject({ kind: 'conflict' });
    expect(await r.operations('c')).toHaveLength(0);
  });
});
