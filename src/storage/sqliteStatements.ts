import { streamKey } from '../model/order.js';
import type { FenceRow, OperationRow } from '../model/rows.js';
import { StorageFencedError, type WriteBatch } from './backend.js';
import { decodeValue, type Encoded, encodeValue, keyBytes } from './sqliteCodec.js';
import type { SqliteDatabase, SqliteStatement } from './sqliteSchema.js';
import { toEnvelope } from './syncRepository.js';

/**
 * The SQLite backend's prepared statements, and how an op row maps to its columns.
 * @internal
 */

/** What an op row stores in `data`: the whole op but its ordinal and stream key, read from their columns. */
export interface OperationData {
  readonly id: string;
  readonly documentId: string;
  readonly scope: OperationRow['scope'];
  readonly branch: string;
  readonly type: string;
  readonly input: unknown;
  readonly timestamp: string;
  readonly origin: string;
  readonly source?: string;
}

/** The columns an op row is read from. */
export interface OperationColumns {
  readonly ordinal: number;
  readonly data: Encoded;
}

/** Selects {@link OperationColumns}. */
export const OPERATION_COLUMNS = 'ordinal, data';

/** The read statements, by what they read. */
export type SqliteReads = Readonly<
  Record<
    | 'meta'
    | 'jobLog'
    | 'lanes'
    | 'streams'
    | 'remotes'
    | 'cursors'
    | 'deadLetters'
    | 'byId'
    | 'tail'
    | 'stream'
    | 'streamAfter'
    | 'since'
    | 'keyframes'
    | 'write',
    SqliteStatement
  >
>;

/** Prepares the read statements. */
export function prepareReads(db: SqliteDatabase): SqliteReads {
  const all = (table: string, key: string) => db.prepare(`SELECT data FROM ${table} ORDER BY ${key}`).pluck();
  return {
    meta: db.prepare('SELECT data FROM meta WHERE key = ?').pluck(),
    jobLog: all('job_log', 'id'),
    lanes: all('lanes', 'lane'),
    streams: all('streams', 'stream'),
    remotes: all('remotes', 'name'),
    cursors: all('cursors', 'remote, direction'),
    deadLetters: all('dead_letters', 'id'),
    byId: db.prepare(`SELECT ${OPERATION_COLUMNS} FROM operations WHERE id = ?`),
    tail: db.prepare('SELECT data FROM operations WHERE stream = ? ORDER BY timestamp DESC, id DESC LIMIT 1').pluck(),
    stream: db.prepare(`SELECT ${OPERATION_COLUMNS} FROM operations WHERE stream = ? ORDER BY timestamp, id`),
    streamAfter: db.prepare(
      `SELECT ${OPERATION_COLUMNS} FROM operations WHERE stream = ? AND (timestamp, id) > (?, ?) ORDER BY timestamp, id`,
    ),
    since: db.prepare(`SELECT ${OPERATION_COLUMNS} FROM operations WHERE ordinal > ? ORDER BY ordinal LIMIT ?`),
    keyframes: db.prepare('SELECT data FROM keyframes WHERE stream = ? ORDER BY timestamp, id').pluck(),
    write: db.prepare('SELECT data FROM writes WHERE id = ?').pluck(),
  };
}

/** Reads the fence epoch (0 when none was claimed) and stores a new one. */
function prepareFence(db: SqliteDatabase): { read(): number; write(epoch: number): void } {
  const get = db.prepare('SELECT data FROM meta WHERE key = ?').pluck();
  const put = db.prepare('INSERT OR REPLACE INTO meta (key, data) VALUES (?, ?)');
  const key = keyBytes('fence');
  return {
    read() {
      const column = get.get(key);
      return column === undefined ? 0 : decodeValue<FenceRow>(column).epoch;
    },
    write(epoch) {
      const row: FenceRow = { key: 'fence', epoch };
      put.run(key, encodeValue(row));
    },
  };
}

/** The epoch claim: one write transaction that reads the fence and stores the next epoch. */
export function prepareClaim(db: SqliteDatabase): () => number {
  const fence = prepareFence(db);
  const claim = db.transaction(() => {
    const epoch = fence.read() + 1;
    fence.write(epoch);
    return epoch;
  });
  return () => claim.immediate();
}

/**
 * The commit: one SQL transaction applying a whole batch (deletes before puts in each table),
 * after checking a fenced batch's epoch in that same transaction.
 */
export function prepareCommit(db: SqliteDatabase): (batch: WriteBatch) => void {
  const fence = prepareFence(db);
  const put = (table: string, columns: string) =>
    db.prepare(`INSERT OR REPLACE INTO ${table} (${columns}) VALUES (${columns.replace(/[^,]+/g, '?')})`);
  const remove = (table: string, where: string) => db.prepare(`DELETE FROM ${table} WHERE ${where}`);
  const write = {
    addOperation: db.prepare('INSERT INTO operations (ordinal, id, stream, timestamp, data) VALUES (?, ?, ?, ?, ?)'),
    putJobLog: put('job_log', 'id, data'),
    deleteJobLog: remove('job_log', 'id = ?'),
    putLane: put('lanes', 'lane, data'),
    dropKeyframes: remove('keyframes', 'stream = ? AND (timestamp, id) > (?, ?)'),
    putKeyframe: put('keyframes', 'stream, timestamp, id, data'),
    putStream: put('streams', 'stream, data'),
    putRemote: put('remotes', 'name, data'),
    deleteRemote: remove('remotes', 'name = ?'),
    putCursor: put('cursors', 'remote, direction, data'),
    deleteCursor: remove('cursors', 'remote = ? AND direction = ?'),
    putDeadLetter: put('dead_letters', 'id, data'),
    deleteDeadLetter: remove('dead_letters', 'id = ?'),
    putMeta: put('meta', 'key, data'),
    putWrite: put('writes', 'id, at, data'),
    deleteWritesBefore: remove('writes', 'at < ?'),
  };
  const commit = db.transaction((batch: WriteBatch) => {
    if (batch.fence !== undefined) {
      const epoch = fence.read();
      // Throwing rolls the transaction back: nothing of the batch is written.
      if (epoch !== batch.fence) throw new StorageFencedError(batch.fence, epoch);
    }
    for (const row of batch.jobLog?.put ?? []) write.putJobLog.run(keyBytes(row.id), encodeValue(row));
    for (const id of batch.jobLog?.delete ?? []) write.deleteJobLog.run(keyBytes(id));
    for (const row of batch.lanes ?? []) write.putLane.run(keyBytes(row.lane), encodeValue(row));
    for (const row of batch.operations ?? []) {
      write.addOperation.run(
        row.ordinal,
        keyBytes(row.id),
        keyBytes(row.stream),
        keyBytes(row.timestamp),
        encodeValue(operationData(row)),
      );
    }
    for (const drop of batch.keyframes?.drop ?? []) {
      write.dropKeyframes.run(keyBytes(drop.stream), keyBytes(drop.after.timestamp), keyBytes(drop.after.id));
    }
    for (const row of batch.keyframes?.put ?? []) {
      write.putKeyframe.run(keyBytes(row.stream), keyBytes(row.timestamp), keyBytes(row.id), encodeValue(row));
    }
    for (const name of batch.remotes?.delete ?? []) write.deleteRemote.run(keyBytes(name));
    for (const row of batch.remotes?.put ?? []) write.putRemote.run(keyBytes(row.name), encodeValue(row));
    for (const key of batch.cursors?.delete ?? []) write.deleteCursor.run(keyBytes(key.remote), key.direction);
    for (const row of batch.cursors?.put ?? [])
      write.putCursor.run(keyBytes(row.remote), row.direction, encodeValue(row));
    for (const id of batch.deadLetters?.delete ?? []) write.deleteDeadLetter.run(keyBytes(id));
    for (const row of batch.deadLetters?.put ?? []) write.putDeadLetter.run(keyBytes(row.id), encodeValue(row));
    for (const row of batch.streams ?? []) write.putStream.run(keyBytes(row.stream), encodeValue(row));
    if (batch.meta !== undefined) write.putMeta.run(keyBytes(batch.meta.key), encodeValue(batch.meta));
    if (batch.writes?.deleteBefore !== undefined) write.deleteWritesBefore.run(batch.writes.deleteBefore);
    for (const row of batch.writes?.put ?? []) write.putWrite.run(keyBytes(row.id), row.at, encodeValue(row));
  });
  // A write transaction from the start, so the fence is read under the write lock.
  return (batch) => commit.immediate(batch);
}

/** The `data` column of an op row. */
export function operationData(row: OperationRow): OperationData {
  const data = toEnvelope(row);
  return row.source === undefined ? data : { ...data, source: row.source };
}

/** The stored row, with the fields in the order the Dexie backend gives them. */
export function operationRow(columns: OperationColumns): OperationRow {
  const data = decodeValue<OperationData>(columns.data);
  const row = {
    id: data.id,
    documentId: data.documentId,
    scope: data.scope,
    branch: data.branch,
    type: data.type,
    input: data.input,
    timestamp: data.timestamp,
    origin: data.origin,
    ordinal: columns.ordinal,
    stream: streamKey(data),
  };
  return data.source === undefined ? row : { ...row, source: data.source };
}
