import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { ReactorError } from '../model/errors.js';
import type { DeadLetterRow, KeyframeRow } from '../model/rows.js';
import type { Job, OperationEnvelope } from '../model/types.js';
import { ContentIdPlan, deadLetterWithContentId, jobsWithContentIds } from './contentIds.js';
import { decodeValue, encodeValue, keyBytes } from './sqliteCodec.js';

/**
 * The SQLite backend's driver, connection settings and schema versions.
 * @internal
 */

/** The better-sqlite3 `Database` class. */
export type SqliteDriver = typeof BetterSqlite3;
/** An open better-sqlite3 connection. */
export type SqliteDatabase = BetterSqlite3.Database;
/** A prepared better-sqlite3 statement. */
export type SqliteStatement = BetterSqlite3.Statement<unknown[], unknown>;

/**
 * Loads better-sqlite3, an optional peer dependency: browsers never reach this module, and a Node
 * app without the package gets a message that says what to install rather than a bare resolution
 * error. `load` is injectable for tests.
 */
export function loadDriver(load: (id: string) => unknown = createRequire(import.meta.url)): SqliteDriver {
  try {
    return load('better-sqlite3') as SqliteDriver;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
    throw new ReactorError(
      'storage',
      missing
        ? 'createSqliteStorage: install better-sqlite3 (npm install better-sqlite3@12), an optional peer dependency of xstate-reactor, to use the SQLite backend'
        : `createSqliteStorage: better-sqlite3 failed to load (${error instanceof Error ? error.message : String(error)}); reinstall it for this Node version`,
      { retryable: false, cause: error },
    );
  }
}

/**
 * Write-ahead logging, and `synchronous = FULL` by default: a commit returns only once its WAL
 * frames are fsynced, so an op the reactor acknowledged survives a kill -9 *and* a power loss or
 * OS crash. With `normal`, WAL commits are fsynced only at checkpoints: still safe from a process
 * crash (the WAL is in the OS page cache) and never corrupt, but the last commits before a power
 * loss can be lost — acceptable for a cache, not for a server that acknowledges writes.
 */
export function configure(db: SqliteDatabase, synchronous: 'full' | 'normal'): void {
  // One reactor owns a database: hold an exclusive lock for as long as it is open, so a second
  // process (say, a second switchboard on the same data directory) fails at once instead of
  // interleaving ordinals with this one. Set before WAL so no shared memory is used either.
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec('BEGIN EXCLUSIVE; COMMIT');
}

/** One schema step: SQL, or code for a step that must rewrite rows. */
type Migration = string | ((db: SqliteDatabase) => void);

/**
 * v2: op ids derive from content (see contentIds.ts). Every op gets the id its content derives;
 * keyframes, dead letters and queued load jobs follow.
 */
function contentIds(db: SqliteDatabase): void {
  const plan = new ContentIdPlan();
  const update = db.prepare('UPDATE operations SET id = ?, data = ? WHERE ordinal = ?');
  const drop = db.prepare('DELETE FROM operations WHERE ordinal = ?');
  const rows = db.prepare('SELECT ordinal, data FROM operations ORDER BY ordinal').all() as {
    ordinal: number;
    data: string | Uint8Array;
  }[];
  for (const row of rows) {
    const op = decodeValue<OperationEnvelope>(row.data);
    const id = plan.add({ ...op, ordinal: row.ordinal });
    if (id === null) drop.run(row.ordinal);
    else if (id !== op.id) update.run(keyBytes(id), encodeValue({ ...op, id }), row.ordinal);
  }
  if (plan.renamed.size > 0) {
    const frames = db
      .prepare('SELECT data FROM keyframes')
      .pluck()
      .all()
      .map(decodeValue<KeyframeRow>);
    const remove = db.prepare('DELETE FROM keyframes WHERE stream = ? AND timestamp = ? AND id = ?');
    const put = db.prepare('INSERT OR REPLACE INTO keyframes (stream, timestamp, id, data) VALUES (?, ?, ?, ?)');
    for (const frame of frames) {
      const id = plan.renamed.get(frame.id);
      if (id === undefined) continue;
      remove.run(keyBytes(frame.stream), keyBytes(frame.timestamp), keyBytes(frame.id));
      put.run(keyBytes(frame.stream), keyBytes(frame.timestamp), keyBytes(id), encodeValue({ ...frame, id }));
    }
  }
  const letters = db
    .prepare('SELECT data FROM dead_letters')
    .pluck()
    .all()
    .map(decodeValue<DeadLetterRow>);
  const dropLetter = db.prepare('DELETE FROM dead_letters WHERE id = ?');
  const putLetter = db.prepare('INSERT OR REPLACE INTO dead_letters (id, data) VALUES (?, ?)');
  for (const letter of letters) {
    const renamed = deadLetterWithContentId(letter);
    if (renamed === letter) continue;
    dropLetter.run(keyBytes(letter.id));
    putLetter.run(keyBytes(renamed.id), encodeValue(renamed));
  }
  const jobRows = db.prepare('SELECT id, data FROM job_log').all() as { id: Uint8Array; data: string | Uint8Array }[];
  const putJobs = db.prepare('UPDATE job_log SET data = ? WHERE id = ?');
  for (const row of jobRows) {
    const value = decodeValue<{ id: string; jobs: readonly Job[] }>(row.data);
    putJobs.run(encodeValue({ ...value, jobs: jobsWithContentIds(value.jobs) }), row.id);
  }
}

/**
 * Schema versions; never edit one that shipped, add the next. String keys are UTF-16BE blobs and
 * rows are encoded whole in `data` (see sqliteCodec.ts); the indices mirror the Dexie schema:
 * ordinal (the rowid), unique id, and `(stream, timestamp, id)` for canonical order.
 */
const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE operations (
    ordinal INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    stream BLOB NOT NULL,
    timestamp BLOB NOT NULL,
    data ANY NOT NULL
  ) STRICT;
  CREATE INDEX operations_by_stream ON operations (stream, timestamp, id);
  CREATE TABLE keyframes (
    stream BLOB NOT NULL,
    timestamp BLOB NOT NULL,
    id BLOB NOT NULL,
    data ANY NOT NULL,
    PRIMARY KEY (stream, timestamp, id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE job_log (id BLOB PRIMARY KEY, data ANY NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE lanes (lane BLOB PRIMARY KEY, data ANY NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE streams (stream BLOB PRIMARY KEY, data ANY NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE meta (key BLOB PRIMARY KEY, data ANY NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE remotes (name BLOB PRIMARY KEY, data ANY NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE cursors (
    remote BLOB NOT NULL,
    direction TEXT NOT NULL,
    data ANY NOT NULL,
    PRIMARY KEY (remote, direction)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE dead_letters (id BLOB PRIMARY KEY, data ANY NOT NULL) STRICT, WITHOUT ROWID;
  `,
  contentIds,
  // v3: recorded writes (a retried forwarded write is applied once), pruned by age. The write
  // fence needs no table: it is a row of `meta`.
  `
  CREATE TABLE writes (id BLOB PRIMARY KEY, at REAL NOT NULL, data ANY NOT NULL) STRICT, WITHOUT ROWID;
  CREATE INDEX writes_by_at ON writes (at);
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to {@link SCHEMA_VERSION}, one recorded version at a time, in one write
 * transaction (so two processes opening a fresh file cannot both migrate it). A database from a
 * newer release is refused rather than misread.
 */
export function migrate(db: SqliteDatabase, name: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  db.transaction(() => {
    const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as { version: number | null };
    const current = row.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new ReactorError(
        'storage',
        `createSqliteStorage: "${name}" has schema version ${current}, newer than this xstate-reactor knows (${SCHEMA_VERSION}); upgrade xstate-reactor`,
        { retryable: false },
      );
    }
    const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      const step = MIGRATIONS[version - 1] as Migration;
      if (typeof step === 'string') db.exec(step);
      // A fresh database has nothing to rewrite.
      else if (current > 0) step(db);
      record.run(version, Date.now());
    }
  }).immediate();
}
