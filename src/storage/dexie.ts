import { Dexie } from 'dexie';
import type { OrderKey } from '../model/order.js';
import type { FenceRow, MetaRow, OperationRow, WriteRow } from '../model/rows.js';
import { type StorageBackend, StorageConstraintError, StorageFencedError, type WriteBatch } from './backend.js';
import { ReactorDatabase, type StorageOptions } from './schema.js';

/**
 * The IndexedDB backend (through Dexie): the browser's storage, and fake-indexeddb in Node. The
 * database opens on first use.
 */
export function createDexieStorage(options: StorageOptions = {}): StorageBackend {
  const db = new ReactorDatabase(options);
  const all = [
    db.operations,
    db.jobLog,
    db.lanes,
    db.keyframes,
    db.streams,
    db.meta,
    db.remotes,
    db.cursors,
    db.deadLetters,
    db.writes,
  ];
  const streamRange = (stream: string) =>
    db.operations
      .where('[stream+timestamp+id]')
      .between([stream, Dexie.minKey, Dexie.minKey], [stream, Dexie.maxKey, Dexie.maxKey]);

  return {
    name: db.name,

    readBoot: () =>
      db.transaction('r', [db.meta, db.jobLog, db.lanes, db.streams], async () => ({
        meta: (await db.meta.get('reactor')) as MetaRow | undefined,
        jobLog: await db.jobLog.toArray(),
        lanes: await db.lanes.toArray(),
        streams: await db.streams.toArray(),
      })),

    readSync: () =>
      db.transaction('r', [db.remotes, db.cursors, db.deadLetters], async () => ({
        remotes: await db.remotes.toArray(),
        cursors: await db.cursors.toArray(),
        deadLetters: await db.deadLetters.toArray(),
      })),

    async findOperations(ids) {
      if (ids.length === 0) return [];
      // One read transaction, one index read per id: cheaper than `anyOf`'s cursor walk for the
      // few ids a load looks up.
      const found = await db.transaction('r', db.operations, () =>
        Promise.all(ids.map((id) => db.operations.where('id').equals(id).first())),
      );
      return found.filter((row): row is OperationRow => row !== undefined);
    },

    async streamTail(stream) {
      const last = await streamRange(stream).last();
      return last === undefined ? undefined : { timestamp: last.timestamp, id: last.id };
    },

    readStream(stream: string, after?: OrderKey) {
      if (after === undefined) return streamRange(stream).toArray();
      return db.operations
        .where('[stream+timestamp+id]')
        .between([stream, after.timestamp, after.id], [stream, Dexie.maxKey, Dexie.maxKey], false, true)
        .toArray();
    },

    readSince: (ordinal, limit) => db.operations.where('ordinal').above(ordinal).limit(limit).toArray(),

    readKeyframes: (stream) =>
      db.keyframes
        .where('[stream+timestamp+id]')
        .between([stream, Dexie.minKey, Dexie.minKey], [stream, Dexie.maxKey, Dexie.maxKey])
        .toArray(),

    async findWrites(ids) {
      if (ids.length === 0) return [];
      const found = await db.writes.bulkGet([...ids]);
      return found.filter((row): row is WriteRow => row !== undefined);
    },

    claimEpoch: () =>
      db.transaction('rw', db.meta, async () => {
        const epoch = (await fenceEpoch(db)) + 1;
        await db.meta.put({ key: 'fence', epoch });
        return epoch;
      }),

    async commit(batch) {
      try {
        await db.transaction('rw', all, async () => {
          // Read in the batch's own transaction: a claim cannot land between the check and the writes.
          if (batch.fence !== undefined) {
            const epoch = await fenceEpoch(db);
            if (epoch !== batch.fence) throw new StorageFencedError(batch.fence, epoch);
          }
          await write(db, batch);
        });
      } catch (error) {
        if (isDexieConstraintError(error)) {
          throw new StorageConstraintError(error instanceof Error ? error.message : String(error), { cause: error });
        }
        throw error;
      }
    },

    async close() {
      db.close();
    },
  };
}

/** The stored fence epoch, 0 when none was claimed (inside the caller's transaction). */
async function fenceEpoch(db: ReactorDatabase): Promise<number> {
  const row = (await db.meta.get('fence')) as FenceRow | undefined;
  return row?.epoch ?? 0;
}

/** Applies a batch inside the caller's transaction (deletes before puts, store by store). */
async function write(db: ReactorDatabase, batch: WriteBatch): Promise<void> {
  const { jobLog, keyframes, remotes, cursors, deadLetters, writes } = batch;
  if (jobLog?.put !== undefined && jobLog.put.length > 0) await db.jobLog.bulkPut(jobLog.put);
  if (jobLog?.delete !== undefined && jobLog.delete.length > 0) await db.jobLog.bulkDelete([...jobLog.delete]);
  if (batch.lanes !== undefined && batch.lanes.length > 0) await db.lanes.bulkPut(batch.lanes);
  if (batch.operations !== undefined && batch.operations.length > 0) {
    await db.operations.bulkAdd(batch.operations);
  }
  for (const drop of keyframes?.drop ?? []) {
    await db.keyframes
      .where('[stream+timestamp+id]')
      .between(
        [drop.stream, drop.after.timestamp, drop.after.id],
        [drop.stream, Dexie.maxKey, Dexie.maxKey],
        false,
        true,
      )
      .delete();
  }
  if (keyframes?.put !== undefined && keyframes.put.length > 0) await db.keyframes.bulkPut(keyframes.put);
  if (remotes?.delete !== undefined && remotes.delete.length > 0) await db.remotes.bulkDelete([...remotes.delete]);
  if (remotes?.put !== undefined && remotes.put.length > 0) await db.remotes.bulkPut(remotes.put);
  if (cursors?.delete !== undefined && cursors.delete.length > 0) {
    await db.cursors.bulkDelete(cursors.delete.map((key): [string, string] => [key.remote, key.direction]));
  }
  if (cursors?.put !== undefined && cursors.put.length > 0) await db.cursors.bulkPut(cursors.put);
  if (deadLetters?.delete !== undefined && deadLetters.delete.length > 0) {
    await db.deadLetters.bulkDelete([...deadLetters.delete]);
  }
  if (deadLetters?.put !== undefined && deadLetters.put.length > 0) await db.deadLetters.bulkPut(deadLetters.put);
  if (batch.streams !== undefined && batch.streams.length > 0) await db.streams.bulkPut(batch.streams);
  if (batch.meta !== undefined) await db.meta.put(batch.meta);
  if (writes?.deleteBefore !== undefined) await db.writes.where('at').below(writes.deleteBefore).delete();
  if (writes?.put !== undefined && writes.put.length > 0) await db.writes.bulkPut(writes.put);
}

/** A unique-index violation, as IndexedDB or Dexie (a bulk write's `BulkError`) reports it. */
function isDexieConstraintError(error: unknown): boolean {
  const e = error as { name?: string; inner?: { name?: string }; failures?: readonly { name?: string }[] };
  return (
    e?.name === 'ConstraintError' ||
    e?.inner?.name === 'ConstraintError' ||
    (e?.name === 'BulkError' && (e.failures ?? []).some((failure) => failure?.name === 'ConstraintError'))
  );
}
