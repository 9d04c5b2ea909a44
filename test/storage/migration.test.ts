import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dexie } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, createReactor, type Reactor, type StorageBackend } from '../../src/index.js';
import type { Job } from '../../src/model/types.js';
import { createDexieStorage } from '../../src/storage/dexie.js';
import { createSqliteStorage } from '../../src/storage/sqlite.js';
import { counter, list } from '../support.js';

/**
 * Databases written before op ids derived from content (Dexie schema v3, SQLite schema v1) open
 * with every op renamed to its content id, keyframes, dead letters and queued loads following,
 * and two replicas that held the same ops under the same random ids go on syncing after both
 * upgraded. Databases of the previous release (Dexie v4, SQLite v2) open with every row kept and
 * the store of recorded writes added. The legacy databases are written row by row as the old
 * release laid them out.
 */

const folder = mkdtempSync(join(tmpdir(), 'xstate-reactor-migration-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const open: Reactor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((reactor) => reactor.stop()));
});

/** Every row of a reactor's database, read through the storage contract. */
async function dump(storage: StorageBackend) {
  const boot = await storage.readBoot();
  const sync = await storage.readSync();
  const operations = await storage.readSince(0, 100_000);
  const streams = boot.streams.map((row) => row.stream);
  const keyframes = (await Promise.all(streams.map((stream) => storage.readKeyframes(stream)))).flat();
  return { ...boot, ...sync, operations, keyframes };
}
type Dump = Awaited<ReturnType<typeof dump>>;

/** The same rows with random-looking ids, as the old release made them (`legacy` maps content id → old id). */
function legacy(rows: Dump, names: Map<string, string>): Dump {
  const old = (id: string) => {
    let name = names.get(id);
    if (name === undefined) {
      name = `legacy${String(names.size).padStart(10, '0')}`;
      names.set(id, name);
    }
    return name;
  };
  return {
    ...rows,
    operations: rows.operations.map((row) => ({ ...row, id: old(row.id) })),
    keyframes: rows.keyframes.map((row) => ({ ...row, id: old(row.id) })),
    deadLetters: rows.deadLetters.map((row) => ({
      ...row,
      id: `${row.direction}:${row.remote}:${old(row.operation.id)}`,
      operation: { ...row.operation, id: old(row.operation.id) },
    })),
    jobLog: rows.jobLog.map((row) => ({
      ...row,
      jobs: row.jobs.map((job) =>
        job.kind === 'load' ? { ...job, operations: job.operations.map((op) => ({ ...op, id: old(op.id) })) } : job,
      ),
    })),
  };
}

/** The Dexie schema as an old release declared it (versions 1 to 3, or to 4). */
class LegacyDatabase extends Dexie {
  constructor(name: string, indexedDB: IDBFactory, through: 3 | 4) {
    super(name, { indexedDB, IDBKeyRange });
    this.version(1).stores({
      operations: 'ordinal, &id, [stream+timestamp+id]',
      jobs: 'id, seq',
      keyframes: '[stream+timestamp+id]',
      streams: 'stream',
      meta: 'key',
    });
    this.version(2).stores({ remotes: 'name', cursors: '[remote+direction]', deadLetters: 'id, remote' });
    this.version(3).stores({ jobs: null, jobLog: 'id', lanes: 'lane' });
    if (through === 4) this.version(4).stores({});
  }
}

async function writeLegacyDexie(rows: Dump, indexedDB: IDBFactory, name: string, through: 3 | 4 = 3): Promise<void> {
  const db = new LegacyDatabase(name, indexedDB, through);
  const put = (table: string, values: readonly unknown[]) => db.table(table).bulkPut([...values]);
  await db.open();
  await put('meta', [rows.meta]);
  await put('streams', rows.streams);
  await put('operations', rows.operations);
  await put('keyframes', rows.keyframes);
  await put('deadLetters', rows.deadLetters);
  await put('jobLog', rows.jobLog);
  await put('lanes', rows.lanes);
  await put('remotes', rows.remotes);
  await put('cursors', rows.cursors);
  db.close();
}

async function writeLegacySqlite(rows: Dump, path: string, version: 1 | 2 = 1): Promise<void> {
  const storage = createSqliteStorage({ path });
  await storage.commit({
    ...(rows.meta === undefined ? {} : { meta: rows.meta }),
    streams: rows.streams,
    operations: rows.operations,
    keyframes: { put: rows.keyframes },
    deadLetters: { put: rows.deadLetters },
    jobLog: { put: rows.jobLog },
    lanes: rows.lanes,
    remotes: { put: rows.remotes },
    cursors: { put: rows.cursors },
  });
  await storage.close();
  // The rows are laid out as in schema v1 and v2; only the version record and the tables of later
  // versions say otherwise.
  const raw = rawSqlite(path);
  raw.prepare('DELETE FROM schema_version WHERE version > ?').run(version);
  raw.exec('DROP TABLE writes');
  raw.close();
}

function rawSqlite(path: string) {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
  return new Database(path);
}

/** A queued load job holding one op (of the list model) that has not run yet. */
async function queuedLoad(source: Reactor): Promise<{ job: Job; opId: string }> {
  const { operations } = await source.mutate('l', [{ type: 'ADD', input: { item: 'queued' } }]);
  const { index: _index, ...op } = operations[0] as NonNullable<(typeof operations)[0]>;
  return {
    opId: op.id,
    job: { kind: 'load', id: 'queued-load', seq: 10_000, documentId: 'l', operations: [op], source: 'elsewhere' },
  };
}

/** Two replicas (a, b) that synced, with keyframes, a dead letter on b and a load queued on a. */
async function history() {
  const options = { keyframeInterval: 3, retry: { baseMs: 5, maxMs: 40 } };
  const places = { a: new IDBFactory(), b: new IDBFactory() };
  const a = await createReactor({
    ...options,
    models: [counter, list],
    id: 'a',
    storage: { dbName: 'a', indexedDB: places.a, IDBKeyRange },
  });
  // b has no list model: the list document's ops become dead letters there.
  const b = await createReactor({
    ...options,
    models: [counter],
    id: 'b',
    storage: { dbName: 'b', indexedDB: places.b, IDBKeyRange },
  });
  open.push(a, b);
  await a.createDocument('counter', { id: 'c' });
  for (let by = 1; by <= 7; by++) await a.mutate('c', [{ type: 'INCREMENT', input: { by } }]);
  await a.createDocument('list', { id: 'l' });
  for (const item of ['x', 'y']) await a.mutate('l', [{ type: 'ADD', input: { item } }]);
  await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'ping-pong' });
  await a.sync.settled();
  await b.mutate('c', [{ type: 'INCREMENT', input: { by: 100 } }]);
  await a.sync.settled();
  await a.sync.remove('b');
  const { job, opId } = await queuedLoad(a);
  const expected = {
    counter: a.documents.get('c'),
    ops: await a.operations('c'),
    letters: b.sync.deadLetters(),
  };
  expect(expected.letters.length).toBeGreaterThan(0);
  expect(expected.counter?.state).toEqual({ count: 128 });
  await Promise.all([a.stop(), b.stop()]);
  const rowsOf = async (dbName: 'a' | 'b') => {
    const storage = createDexieStorage({ dbName, indexedDB: places[dbName], IDBKeyRange });
    const rows = await dump(storage);
    await storage.close();
    return rows;
  };
  const aRows = await rowsOf('a');
  expect(aRows.keyframes.length).toBeGreaterThan(0);
  // The queued load has not run: a's database holds it in the job log, its op not stored.
  const aQueued: Dump = {
    ...aRows,
    operations: aRows.operations.filter((row) => row.id !== opId),
    keyframes: aRows.keyframes.filter((row) => row.id !== opId),
    jobLog: [...aRows.jobLog, { id: 'jobs:10000:queued-load', jobs: [job] }],
  };
  const names = new Map<string, string>();
  return { expected, a: legacy(aQueued, names), b: legacy(await rowsOf('b'), names), queuedOp: opId };
}

const ids = (ops: readonly { id: string }[]) => ops.map((op) => op.id);

/** Opens both migrated replicas, checks what they hold, then syncs them. */
async function checkMigrated(
  past: Awaited<ReturnType<typeof history>>,
  storage: { a: () => StorageBackend; b: () => StorageBackend },
) {
  const options = { keyframeInterval: 3, retry: { baseMs: 5, maxMs: 40 } };
  const a = await createReactor({ ...options, models: [counter, list], id: 'a', storage: { backend: storage.a() } });
  const b = await createReactor({ ...options, models: [counter], id: 'b', storage: { backend: storage.b() } });
  open.push(a, b);
  await a.whenIdle();
  // Every op under the id its content derives: the ids the new release made in the first place.
  expect(await a.operations('c')).toEqual(past.expected.ops);
  expect(a.documents.get('c')).toEqual(past.expected.counter);
  expect(ids(await a.operations('l'))).toContain(past.queuedOp);
  expect(a.documents.get('l')?.state).toEqual({ items: ['x', 'y', 'queued'] });
  expect(b.sync.deadLetters()).toEqual(past.expected.letters);

  // Both upgraded: they sync on, recognising every op they share (nothing refused, nothing doubled).
  await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'ping-pong' });
  await a.mutate('c', [{ type: 'INCREMENT', input: { by: 1000 } }]);
  await a.sync.settled();
  await a.sync.settled();
  // b still lacks the list model; nothing else is refused (no id is taken for a forgery).
  expect(new Set(a.sync.deadLetters().map((letter) => letter.reason.kind))).toEqual(new Set(['unknown-model']));
  expect(ids(await b.operations('c'))).toEqual(ids(await a.operations('c')));
  expect(await b.operations('c')).toHaveLength(past.expected.ops.length + 1);
  expect(b.documents.get('c')?.state).toEqual({ count: 1128 });
  expect(b.documents.get('c')?.hash).toBe(a.documents.get('c')?.hash);
  await Promise.all([a.stop(), b.stop()]);

  // Keyframes follow their ops: each names an op of the log.
  const rows = await dump(storage.a());
  const opIds = new Set(ids(rows.operations));
  expect(rows.keyframes.length).toBeGreaterThan(0);
  for (const keyframe of rows.keyframes) expect(opIds.has(keyframe.id)).toBe(true);
}

describe('opening a database written before content-derived op ids', () => {
  it('IndexedDB (Dexie v3 → v4): ops, keyframes, dead letters and queued loads are renamed; replicas sync on', async () => {
    const past = await history();
    const places = { a: new IDBFactory(), b: new IDBFactory() };
    await writeLegacyDexie(past.a, places.a, 'a');
    await writeLegacyDexie(past.b, places.b, 'b');
    await checkMigrated(past, {
      a: () => createDexieStorage({ dbName: 'a', indexedDB: places.a, IDBKeyRange }),
      b: () => createDexieStorage({ dbName: 'b', indexedDB: places.b, IDBKeyRange }),
    });
  });

  it('SQLite (schema v1 → v2): the same', async () => {
    const past = await history();
    const paths = { a: join(folder, 'a.db'), b: join(folder, 'b.db') };
    await writeLegacySqlite(past.a, paths.a);
    await writeLegacySqlite(past.b, paths.b);
    await checkMigrated(past, {
      a: () => createSqliteStorage({ path: paths.a }),
      b: () => createSqliteStorage({ path: paths.b }),
    });
  });
});

/** A reactor's database as the previous release wrote it: ops, keyframes, a remote, cursors, dead letters, a queued job. */
async function previousRelease() {
  const options = { keyframeInterval: 2, retry: { baseMs: 5, maxMs: 40 } };
  const places = { a: new IDBFactory(), b: new IDBFactory() };
  const a = await createReactor({
    ...options,
    models: [counter, list],
    id: 'a',
    storage: { dbName: 'a', indexedDB: places.a, IDBKeyRange },
  });
  // b has no list model: the list document's ops become dead letters there.
  const b = await createReactor({
    ...options,
    models: [counter],
    id: 'b',
    storage: { dbName: 'b', indexedDB: places.b, IDBKeyRange },
  });
  open.push(a, b);
  await a.createDocument('counter', { id: 'c' });
  for (let by = 1; by <= 5; by++) await a.mutate('c', [{ type: 'INCREMENT', input: { by } }]);
  await a.createDocument('list', { id: 'l' });
  await b.sync.add({ name: 'a', channel: connect(b, a), mode: 'ping-pong' });
  await b.sync.settled();
  const expected = { ops: await b.operations('c') };
  await Promise.all([a.stop(), b.stop()]);
  const storage = createDexieStorage({ dbName: 'b', indexedDB: places.b, IDBKeyRange });
  const rows = await dump(storage);
  await storage.close();
  const all: Dump = { ...rows, jobLog: [...rows.jobLog, { id: 'jobs:10000:queued', jobs: [queuedMutate] }] };
  for (const kind of ['operations', 'keyframes', 'remotes', 'cursors', 'deadLetters'] as const) {
    expect(all[kind].length, kind).toBeGreaterThan(0);
  }
  return { rows: all, expected };
}

/** A mutate job the previous release had queued and not run yet. */
const queuedMutate: Job = {
  kind: 'mutate',
  id: 'queued',
  seq: 10_000,
  documentId: 'c',
  branch: 'main',
  actions: [{ type: 'INCREMENT', input: { by: 10 } }],
};

/** The migrated database holds what it held, records writes, and serves a reactor. */
async function checkOpensIntact(past: Awaited<ReturnType<typeof previousRelease>>, storage: () => StorageBackend) {
  const migrated = storage();
  expect(await dump(migrated)).toEqual(past.rows);
  expect(await migrated.findWrites(['w'])).toEqual([]);
  const write = { id: 'w', at: 1, operations: past.expected.ops.slice(0, 2) };
  await migrated.commit({ writes: { put: [write] } });
  expect(await migrated.findWrites(['w'])).toEqual([write]);
  expect(await migrated.claimEpoch()).toBe(1);
  await migrated.close();

  const reactor = await createReactor({ models: [counter], id: 'b', storage: { backend: storage() } });
  open.push(reactor);
  await reactor.whenIdle();
  // The queued job ran on top of the log it found.
  expect(await reactor.operations('c')).toHaveLength(past.expected.ops.length + 1);
  expect(reactor.documents.get('c')?.state).toEqual({ count: 25 });
  expect(reactor.sync.deadLetters().length).toBeGreaterThan(0);
  await reactor.stop();
}

describe('opening a database of the previous release (recorded writes added)', () => {
  it('IndexedDB (Dexie v4 → v5): every row kept, the writes store added', async () => {
    const past = await previousRelease();
    const indexedDB = new IDBFactory();
    await writeLegacyDexie(past.rows, indexedDB, 'b', 4);
    await checkOpensIntact(past, () => createDexieStorage({ dbName: 'b', indexedDB, IDBKeyRange }));
    const raw = new Dexie('b', { indexedDB, IDBKeyRange });
    await raw.open();
    expect(raw.verno).toBe(5);
    expect(raw.tables.map((table) => table.name)).toContain('writes');
    raw.close();
  });

  it('SQLite (schema v2 → v3): the same', async () => {
    const past = await previousRelease();
    const path = join(folder, 'previous.db');
    await writeLegacySqlite(past.rows, path, 2);
    await checkOpensIntact(past, () => createSqliteStorage({ path }));
    const raw = rawSqlite(path);
    expect(raw.prepare('SELECT max(version) FROM schema_version').pluck().get()).toBe(3);
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'writes' ORDER BY name").pluck().all()).toEqual(
      ['writes', 'writes_by_at'],
    );
    raw.close();
  });
});
