import { describe, expect, it } from 'vitest';
import { openReactor, uniqueDbName } from './support.js';

describe('a reactor on the browser’s IndexedDB', () => {
  it('stores a document in the global indexedDB and restores it, same state and hash, after a reopen', async () => {
    const dbName = uniqueDbName('restore');
    const first = await openReactor(dbName);
    const { documentId } = await first.createDocument('counter', { id: 'doc-1' });
    await first.mutate(documentId, [{ type: 'INCREMENT', input: { by: 2 } }]);
    await first.mutate(documentId, [
      { type: 'INCREMENT', input: { by: 3 } },
      { type: 'INCREMENT', input: { by: -1 } },
    ]);

    const before = first.documents.get(documentId);
    expect(before).toMatchObject({ id: 'doc-1', type: 'counter', state: { count: 4 }, revision: 3, deleted: false });
    const log = await first.operations(documentId);
    expect(log.map((op) => op.input)).toEqual([{ by: 2 }, { by: 3 }, { by: -1 }]);
    expect(log.map((op) => op.index)).toEqual([0, 1, 2]);
    expect(log.every((op) => op.origin === first.id)).toBe(true);
    // The data is in the page's real IndexedDB, not in memory.
    expect((await indexedDB.databases()).map((db) => db.name)).toContain(dbName);
    await first.stop();

    const second = await openReactor(dbName);
    expect(second.id).toBe(first.id);
    expect(second.documents.get(documentId)).toEqual(before);
    expect(second.documents.get(documentId)?.hash).toBe(before?.hash);
    expect(await second.operations(documentId)).toEqual(log);

    // The restored clock orders a new op after the old ones.
    await second.mutate(documentId, [{ type: 'INCREMENT', input: { by: 10 } }]);
    expect(second.documents.get(documentId)).toMatchObject({ state: { count: 14 }, revision: 4 });
    const after = await second.operations(documentId);
    expect(after.slice(0, 3)).toEqual(log);
    expect(after[3]?.input).toEqual({ by: 10 });
  });

  it('keeps two databases apart: a reactor reopened on another dbName starts empty', async () => {
    const first = await openReactor(uniqueDbName('apart-a'));
    await first.createDocument('counter', { id: 'only-here' });
    const other = await openReactor(uniqueDbName('apart-b'));
    expect(other.id).not.toBe(first.id);
    expect(other.documents.get('only-here')).toBeUndefined();
    expect(other.documents.list()).toEqual([]);
  });
});
