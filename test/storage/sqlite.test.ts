import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  connect,
  createReactor,
  defineDocumentModel,
  encodeHlc,
  type Reactor,
  type ReactorOptions,
} from '../../src/index.js';
import { createSqliteStorage } from '../../src/sqlite.js';
import { loadDriver } from '../../src/storage/sqliteSchema.js';
import { counter, envelope, freshStorage, idleStatus, list, spyChannel } from '../support.js';

/** Numbers a reducer can make that JSON cannot hold (states stay local, so they may). */
const SPECIAL: Record<string, number | undefined> = {
  nan: Number.NaN,
  inf: Number.POSITIVE_INFINITY,
  neg: -0,
  none: undefined,
};

/** A model whose state holds what JSON cannot: NaN, Infinity, -0 and undefined members. */
const diary = defineDocumentModel({
  type: 'diary',
  initialState: () => ({ entries: {} as Record<string, number | undefined> }),
  reducers: {
    NOTE: (state: { entries: Record<string, number | undefined> }, input: { key: string; value: string }) => ({
      entries: { ...state.entries, [input.key]: SPECIAL[input.value] },
    }),
  },
});

const folder = mkdtempSync(join(tmpdir(), 'xstate-reactor-sqlite-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;
const newPath = () => {
  files += 1;
  return join(folder, `reactor-${files}.db`);
};

const open: Reactor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((reactor) => reactor.stop()));
});

/** A reactor on the SQLite file at `path` (a new connection each time). */
async function onSqlite(path: string, options: Partial<ReactorOptions> = {}): Promise<Reactor> {
  const reactor = await createReactor({
    models: [counter, list, diary],
    storage: { backend: createSqliteStorage({ path }) },
    retry: { baseMs: 5, maxMs: 50 },
    ...options,
  });
  open.push(reactor);
  return reactor;
}

const everything = async (reactor: Reactor, documentIds: readonly string[]) => ({
  documents: documentIds.map((id) => reactor.documents.get(id)),
  global: await Promise.all(documentIds.map((id) => reactor.operations(id))),
  document: await Promise.all(documentIds.map((id) => reactor.operations(id, { scope: 'document' }))),
  ordinal: reactor.status().ordinal,
});

describe('a reactor on SQLite', () => {
  it('keeps documents, ops and keyframes (NaN, Infinity, -0 and undefined included) across stop and reopen', async () => {
    const path = newPath();
    const first = await onSqlite(path, { id: 'server', keyframeInterval: 3 });
    await first.createDocument('counter', { id: 'c' });
    for (let by = 1; by <= 10; by++) await first.mutate('c', [{ type: 'INCREMENT', input: { by } }]);
    await first.createDocument('diary', { id: 'd' });
    await first.mutate('d', [
      { type: 'NOTE', input: { key: 'a', value: 'nan' } },
      { type: 'NOTE', input: { key: 'b', value: 'inf' } },
      { type: 'NOTE', input: { key: 'c', value: 'neg' } },
      { type: 'NOTE', input: { key: 'd', value: 'none' } },
    ]);
    const before = await everything(first, ['c', 'd']);
    expect(before.documents[0]?.state).toEqual({ count: 55 });
    await first.stop();

    const second = await onSqlite(path, { id: 'server', keyframeInterval: 3 });
    expect(await everything(second, ['c', 'd'])).toEqual(before);
    const state = second.documents.get('d')?.state as { entries: Record<string, number | undefined> } | undefined;
    expect(state?.entries.a).toBeNaN();
    expect(state?.entries.b).toBe(Number.POSITIVE_INFINITY);
    expect(Object.is(state?.entries.c, -0)).toBe(true);
    expect(state !== undefined && 'd' in state.entries && state.entries.d === undefined).toBe(true);

    // New ops continue the ordinals instead of colliding with stored ones.
    await second.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    expect(second.documents.get('c')?.state).toEqual({ count: 56 });
    expect(second.status().ordinal).toBe(before.ordinal + 1);
  });

  it('runs jobs that were accepted but not run before a stop', async () => {
    const path = newPath();
    const first = await onSqlite(path, { concurrency: 1, maxBatch: 4 });
    await first.createDocument('counter', { id: 'c' });
    const pending = Array.from({ length: 200 }, () => first.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]));
    await first.stop({ drain: false });
    const done = (await Promise.allSettled(pending)).filter((outcome) => outcome.status === 'fulfilled').length;
    expect(done).toBeLessThan(200);

    const second = await onSqlite(path);
    await second.whenIdle();
    expect(second.documents.get('c')?.state).toEqual({ count: 200 });
    expect(await second.operations('c')).toHaveLength(200);
  });

  it('refuses to open the file as another reactor, and lets it go for the right one', async () => {
    const path = newPath();
    await (await onSqlite(path, { id: 'one' })).stop();
    await expect(onSqlite(path, { id: 'two' })).rejects.toMatchObject({
      kind: 'validation',
      message: expect.stringMatching(new RegExp(`database ".*reactor-${files}\\.db" belongs to reactor "one"`)),
    });
    expect((await onSqlite(path, { id: 'one' })).id).toBe('one');
  });

  it('is held by one reactor at a time: a second opener is refused while the first runs', async () => {
    const path = newPath();
    const first = await onSqlite(path, { id: 'owner' });
    expect(() => createSqliteStorage({ path })).toThrow(/in use by another process/);
    await first.stop();
    expect((await onSqlite(path, { id: 'owner' })).id).toBe('owner');
  });

  it('refuses an op whose id does not match its contents, even one that sorts after everything stored', async () => {
    const reactor = await onSqlite(newPath());
    const op = (wall: number, item: string, scope: 'global' | 'document' = 'global') =>
      envelope({
        documentId: 'l',
        scope,
        branch: 'main',
        type: scope === 'document' ? 'CREATE_DOCUMENT' : 'ADD',
        input: scope === 'document' ? { model: 'list' } : { item },
        timestamp: encodeHlc({ wall, logical: 0 }, 'remote'),
        origin: 'remote',
      });
    const original = op(2, 'original');
    await reactor.load([op(1, '', 'document'), original]);
    // The id of a stored op on other contents: a forgery, refused whole, writing nothing.
    const forged = { ...op(99, 'forged'), id: original.id };
    await expect(reactor.load([op(50, 'innocent'), forged])).rejects.toMatchObject({
      kind: 'protocol',
      message: expect.stringMatching(/operation 1: id .* does not match the operation's contents/),
    });
    expect(reactor.documents.get('l')?.state).toEqual({ items: ['original'] });
    expect(await reactor.load([op(60, 'later')])).toEqual({ stored: 1, duplicates: 0 });
  });

  it('syncs both ways with a reactor on IndexedDB, and resumes from its persisted cursors after a restart', async () => {
    const path = newPath();
    const a = await onSqlite(path, { id: 'a' });
    const b = await createReactor({
      models: [counter],
      id: 'b',
      storage: freshStorage(),
      retry: { baseMs: 5, maxMs: 50 },
    });
    open.push(b);
    await a.sync.add({ name: 'b', channel: connect(a, b), mode: 'ping-pong', pullIntervalMs: 20 });
    const increment = (reactor: Reactor, by: number) =>
      reactor.mutate('shared', [{ type: 'INCREMENT', input: { by } }]);
    const log = async (reactor: Reactor) => (await reactor.operations('shared')).map((op) => op.id);

    await a.createDocument('counter', { id: 'shared' });
    await increment(a, 1);
    await a.sync.settled();
    await increment(b, 10);
    await a.sync.settled();
    await a.sync.settled();
    expect(a.documents.get('shared')?.state).toEqual({ count: 11 });
    expect(b.documents.get('shared')).toEqual(a.documents.get('shared'));
    expect(await log(a)).toEqual(await log(b));
    const cursors = await idleStatus(a, 'b');

    await a.stop();
    const again = await onSqlite(path, { id: 'a' });
    expect(again.sync.list()).toEqual([expect.objectContaining({ name: 'b', mode: 'ping-pong', phase: 'detached' })]);
    const wire = spyChannel(connect(again, b));
    await again.sync.add({ name: 'b', channel: wire.channel });
    expect(again.sync.status('b')).toMatchObject({
      pushedCursor: cursors?.pushedCursor,
      pulledCursor: cursors?.pulledCursor,
    });
    await increment(b, 100);
    await increment(again, 1000);
    await again.sync.settled();
    await again.sync.settled();
    expect(again.documents.get('shared')?.state).toEqual({ count: 1111 });
    expect(b.documents.get('shared')).toEqual(again.documents.get('shared'));
    expect(await log(again)).toEqual(await log(b));
    // Only what was written after the restart crossed the wire.
    expect(wire.pulled().map((op) => op.input)).toEqual([{ by: 100 }]);
    expect(wire.pushed().map((op) => op.input)).toEqual([{ by: 1000 }]);
  });
});

describe('createSqliteStorage', () => {
  it('is checked by createReactor: something else as a backend is a validation error', async () => {
    await expect(
      createReactor({ models: [counter], storage: { backend: { name: 'x' } as never } }),
    ).rejects.toMatchObject({
      kind: 'validation',
      message: expect.stringMatching(/"storage.backend" must be a StorageBackend .* lacking readBoot, readSync/),
    });
  });

  it('says what to install when better-sqlite3 is missing', () => {
    const missing = (id: string) => {
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => loadDriver(missing)).toThrow(
      expect.objectContaining({ kind: 'storage', message: expect.stringMatching(/install better-sqlite3/) }),
    );
  });

  it('names the file it cannot open, or that is not a database', () => {
    expect(() => createSqliteStorage({ path: join(folder, 'no-such-folder', 'x.db') })).toThrow(
      expect.objectContaining({ kind: 'storage', message: expect.stringMatching(/cannot open ".*no-such-folder/) }),
    );
    const notes = join(folder, 'notes.txt');
    writeFileSync(
      notes,
      'not a database, but long enough to have a header that SQLite reads and refuses.\n'.repeat(20),
    );
    expect(() => createSqliteStorage({ path: notes })).toThrow(
      expect.objectContaining({ kind: 'storage', message: expect.stringMatching(/notes\.txt.*SQLITE_NOTADB/) }),
    );
  });

  it('refuses a database written by a newer schema instead of misreading it', async () => {
    const path = newPath();
    await createSqliteStorage({ path }).close();
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
    const raw = new Database(path);
    raw.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, 0)').run();
    raw.close();
    expect(() => createSqliteStorage({ path })).toThrow(
      expect.objectContaining({ kind: 'storage', message: expect.stringMatching(/schema version 99, newer/) }),
    );
  });
});
