import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyError } from '../../src/model/errors.js';
import { encodeHlc } from '../../src/model/hlc.js';
import type { WriteRow } from '../../src/model/rows.js';
import type { StoreWrite } from '../../src/model/storeWrite.js';
import type { OperationEnvelope } from '../../src/model/types.js';
import { isFencedError, type StorageBackend } from '../../src/storage/backend.js';
import { loadBootState } from '../../src/storage/bootRepository.js';
import { createDexieStorage } from '../../src/storage/dexie.js';
import { JobLog } from '../../src/storage/jobLog.js';
import { type CommitCounters, commitGroup } from '../../src/storage/operationsRepository.js';

/**
 * Two tabs on one IndexedDB database, each writing through the group commit as a leader would:
 * it claims an epoch, boots, and fences every batch with it. When a newer leader claims the
 * database, the old one's next write fails and lands nothing, whatever its counters say.
 */

const opened: StorageBackend[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((storage) => storage.close()));
});

const envelope = (n: number): OperationEnvelope => ({
  id: `op-${n}`,
  documentId: 'doc',
  scope: 'global',
  branch: 'main',
  type: 'ADD',
  input: { n },
  timestamp: encodeHlc({ wall: 1_700_000_000_000 + n, logical: 0 }, 'tab'),
  origin: 'tab',
});

const mutation = (n: number, fields: Partial<StoreWrite> = {}): StoreWrite => ({
  writeId: `w-${n}`,
  operations: [envelope(n)],
  ...fields,
});

/** A tab taking over the database: claim an epoch, then boot from what is stored. */
async function leader(indexedDB: IDBFactory) {
  const storage = createDexieStorage({ dbName: 'shared', indexedDB, IDBKeyRange });
  opened.push(storage);
  const fence = await storage.claimEpoch();
  const jobLog = new JobLog();
  const boot = await loadBootState(storage, () => 'reactor', undefined, jobLog, fence);
  const counters: CommitCounters = {
    ordinal: boot.meta.ordinal,
    jobSeq: boot.meta.jobSeq,
    knownStreams: new Set(boot.streams.map((row) => row.stream)),
    jobLog,
    tails: new Map(),
    meta: boot.meta,
    fence,
  };
  const commit = (writes: readonly StoreWrite[]) =>
    commitGroup(storage, writes, counters, () => ({ wall: 1_700_000_000_000, logical: counters.ordinal }));
  return { storage, counters, commit };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('a group commit fenced with the leader’s epoch', () => {
  it('fails, writing nothing, once a newer leader claimed the database; the newer one goes on', async () => {
    const indexedDB = new IDBFactory();
    const first = await leader(indexedDB);
    expect(first.counters.fence).toBe(1);
    await first.commit([mutation(1)]);

    // A second tab takes over (the first one's lock was stolen, or it froze) and writes.
    const second = await leader(indexedDB);
    expect(second.counters.fence).toBe(2);
    expect(second.counters.ordinal).toBe(1);
    await second.commit([mutation(2)]);

    // The first tab still thinks the next ordinal is 2.
    const failure = await failureOf(
      first.commit([mutation(3, { recordWrites: [{ id: 'x', at: 1, operations: [] }] })]),
    );
    expect(failure).toSatisfy(isFencedError);
    expect(classifyError(failure)).toMatchObject({ kind: 'conflict', retryable: false });
    expect(classifyError(failure).message).toContain('taken over by a newer leader');
    // Its counters did not move, and nothing of its group landed.
    expect(first.counters.ordinal).toBe(1);
    const rows = await second.storage.readSince(0, 10);
    expect(rows.map((row) => [row.ordinal, row.id])).toEqual([
      [1, 'op-1'],
      [2, 'op-2'],
    ]);
    expect((await second.storage.readBoot()).meta?.ordinal).toBe(2);
    expect(await second.storage.findWrites(['x'])).toEqual([]);

    await second.commit([mutation(4)]);
    expect(second.counters.ordinal).toBe(3);
  });

  it('keeps a tab whose claim was overtaken from creating the database at boot', async () => {
    const indexedDB = new IDBFactory();
    const open = () => {
      const storage = createDexieStorage({ dbName: 'shared', indexedDB, IDBKeyRange });
      opened.push(storage);
      return storage;
    };
    const late = open();
    const stale = await late.claimEpoch();
    // Another tab claims the fresh database before the first one booted.
    const other = open();
    const current = await other.claimEpoch();
    const failure = await failureOf(loadBootState(late, () => 'late', undefined, new JobLog(), stale));
    expect(failure).toSatisfy(isFencedError);
    expect((await other.readBoot()).meta).toBeUndefined();
    const boot = await loadBootState(other, () => 'other', undefined, new JobLog(), current);
    expect(boot).toMatchObject({ created: true, meta: { reactorId: 'other' } });
    expect((await late.readBoot()).meta?.reactorId).toBe('other');
  });

  it('commits recorded writes with the group’s ops and prunes old ones in the same batch', async () => {
    const indexedDB = new IDBFactory();
    const tab = await leader(indexedDB);
    const record = (id: string, at: number, n: number): WriteRow => ({
      id,
      at,
      operations: [{ ...envelope(n), index: n - 1 }],
    });
    await tab.commit([
      mutation(1, { recordWrites: [record('a', 100, 1)] }),
      mutation(2, { recordWrites: [record('b', 200, 2)] }),
    ]);
    expect(await tab.storage.findWrites(['a', 'b'])).toEqual([record('a', 100, 1), record('b', 200, 2)]);
    await tab.commit([mutation(3, { recordWrites: [record('c', 300, 3)], pruneWritesBefore: 150 })]);
    expect(await tab.storage.findWrites(['a', 'b', 'c'])).toEqual([record('b', 200, 2), record('c', 300, 3)]);
    expect((await tab.storage.readSince(0, 10)).map((row) => row.id)).toEqual(['op-1', 'op-2', 'op-3']);
  });
});
