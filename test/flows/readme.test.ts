import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { connect, createReactor, defineDocumentModel } from '../../src/index.js';

// The usage example of README.md, with fake IndexedDB passed in and assertions added.
describe('README usage example', () => {
  it('creates a document, mutates it, reads state and the log, and syncs it to another reactor', async () => {
    const counter = defineDocumentModel({
      type: 'counter',
      initialState: () => ({ count: 0 }),
      reducers: {
        INCREMENT: (state: { count: number }, input: { by: number }) => ({ count: state.count + input.by }),
      },
    });

    const reactor = await createReactor({
      models: [counter],
      storage: { dbName: 'my-app', indexedDB: new IDBFactory(), IDBKeyRange },
    });

    const { documentId } = await reactor.createDocument('counter', { id: 'doc-1' });
    await reactor.mutate(documentId, [{ type: 'INCREMENT', input: { by: 2 } }]);
    await reactor.mutate(documentId, [{ type: 'INCREMENT', input: { by: 3 } }]);

    const snapshot = reactor.documents.get(documentId);
    expect(snapshot?.state).toEqual({ count: 5 });
    expect(snapshot?.revision).toBe(2);

    const log = await reactor.operations(documentId);
    expect(log.map((op) => op.input)).toEqual([{ by: 2 }, { by: 3 }]);

    const other = await createReactor({
      models: [counter],
      storage: { dbName: 'other', indexedDB: new IDBFactory(), IDBKeyRange },
    });
    await reactor.sync.add({ name: 'other', channel: connect(reactor, other), mode: 'ping-pong' });
    await reactor.sync.settled();
    expect(other.documents.get(documentId)?.state).toEqual({ count: 5 });
    expect(other.documents.get(documentId)?.hash).toBe(snapshot?.hash);

    await reactor.stop();
    await other.stop();
  });
});
