import { describe, expect, it } from 'vitest';
import { openReactor, uniqueDbName, uniqueIds } from './support.js';

describe('a burst on the browser’s IndexedDB', () => {
  it('commits every one of 300 un-awaited mutations exactly once, in submission order per document', async () => {
    const dbName = uniqueDbName('burst');
    const reactor = await openReactor(dbName);
    const documents = ['d0', 'd1', 'd2'];
    await Promise.all(documents.map((id) => reactor.createDocument('counter', { id })));

    // Fired in one tick, interleaved over three documents; nothing awaited until all are submitted.
    const submitted = Array.from({ length: 300 }, (_, n) =>
      reactor.mutate(documents[n % 3]!, [{ type: 'INCREMENT', input: { by: 1, n } }]),
    );
    const results = await Promise.all(submitted);
    const committed = results.flatMap((result) => result.operations.map((op) => op.id));
    expect(committed).toHaveLength(300);
    await reactor.whenIdle();

    const stored = new Set<string>();
    for (const [d, documentId] of documents.entries()) {
      const log = await reactor.operations(documentId);
      for (const id of uniqueIds(log)) stored.add(id);
      expect(log.map((op) => (op.input as { n: number }).n)).toEqual(Array.from({ length: 100 }, (_, i) => i * 3 + d));
      expect(reactor.documents.get(documentId)).toMatchObject({ state: { count: 100 }, revision: 100 });
    }
    expect(stored.size).toBe(300);
    for (const id of committed) expect(stored.has(id)).toBe(true);
    // 3 CREATE_DOCUMENT ops and 300 increments, each stored once.
    expect(reactor.status()).toMatchObject({ ordinal: 303, idle: true });

    // And all of it is on disk: a reopen sees the same logs and snapshots.
    const snapshots = documents.map((id) => reactor.documents.get(id));
    await reactor.stop();
    const reopened = await openReactor(dbName);
    expect(documents.map((id) => reopened.documents.get(id))).toEqual(snapshots);
    expect(reopened.status().ordinal).toBe(303);
    expect(reopened.status().jobs).toEqual({ waiting: 0, running: 0 });
  });
});
