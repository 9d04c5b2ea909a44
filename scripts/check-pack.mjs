// Proves the published package works: builds, packs, installs the tarball into an empty ESM
// project, runs it there and type-checks against it through "exports". Run: npm run test:pack
// (add --keep to leave the temp folder for inspection).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(repo, 'node_modules', '.bin', 'tsc');
const fakeIndexedDb = join(repo, 'node_modules', 'fake-indexeddb');
const keep = process.argv.includes('--keep');

/** Paths that must never ship: sources, tests, tooling, dependencies, maps. */
const FORBIDDEN = [/^src\//, /^test\//, /^bench\//, /^scripts\//, /^docs\//, /node_modules\//, /\.map$/, /\.test\./];
const REQUIRED = ['package.json', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js'];

class CheckFailure extends Error {}

/** Runs a command; throws a CheckFailure with its output when it fails, times out or is killed. */
function run(label, command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: repo,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (result.error !== undefined) {
    throw new CheckFailure(`${label}: could not run ${command}: ${result.error.message}\n${output}`);
  }
  if (result.status !== 0) {
    const how = result.signal === null ? `exit code ${result.status}` : `signal ${result.signal}`;
    throw new CheckFailure(`${label} failed (${how}): ${command} ${args.join(' ')}\n${output}`);
  }
  return result.stdout;
}

function step(message) {
  console.log(`pack check: ${message}`);
}

function kB(bytes) {
  return `${(bytes / 1024).toFixed(1)} kB`;
}

const CHECK_MJS = `import assert from 'node:assert/strict';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createReactor, defineDocumentModel } from 'xstate-reactor';

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { increment: (state, input) => ({ count: state.count + input.by }) },
});
const reactor = await createReactor({ models: [counter], storage: { indexedDB: new IDBFactory(), IDBKeyRange } });
try {
  const { documentId } = await reactor.createDocument('counter');
  await reactor.mutate(documentId, [
    { type: 'increment', input: { by: 2 } },
    { type: 'increment', input: { by: 3 } },
  ]);
  const snapshot = reactor.documents.get(documentId);
  console.log(JSON.stringify(snapshot));
  assert.equal(snapshot?.type, 'counter');
  assert.deepEqual(snapshot.state, { count: 5 });
  assert.equal(snapshot.revision, 2);
  assert.equal(snapshot.deleted, false);
} finally {
  await reactor.stop();
}
await assert.rejects(import('xstate-reactor/dist/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
const sim = await import('xstate-reactor/sim');
assert.equal(typeof sim.createSimulation, 'function');
// better-sqlite3 is an optional peer, not installed here: the sqlite entry loads, and says what to install.
const { createSqliteStorage } = await import('xstate-reactor/sqlite');
assert.throws(
  () => createSqliteStorage({ path: 'reactor.db' }),
  (error) => error.kind === 'storage' && /install better-sqlite3/.test(error.message),
);
// The server entry: a switchboard on loopback, and a client reaching it with the WebSocket channel.
const { createSwitchboard } = await import('xstate-reactor/server');
const { createWebSocketChannel } = await import('xstate-reactor');
const board = await createSwitchboard({ port: 0, storage: { dbName: 'board', indexedDB: new IDBFactory(), IDBKeyRange } });
const client = await createReactor({ models: [counter], storage: { dbName: 'client', indexedDB: new IDBFactory(), IDBKeyRange } });
const channel = createWebSocketChannel(board.url, { clientId: client.id });
await client.sync.add({ name: 'hub', channel, mode: 'push' });
const created = await client.createDocument('counter');
await client.sync.settled({ timeoutMs: 10000 });
assert.equal(board.reactor.documents.get(created.documentId)?.type, 'counter');
channel.close();
await client.stop();
await board.close();
console.log('switchboard: a client pushed a document through xstate-reactor/server');
`;

const CHECK_TS = `import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { DocumentSnapshot, Reactor } from 'xstate-reactor';
import type { SimulationSummary } from 'xstate-reactor/sim';
import { createReactor, defineDocumentModel } from 'xstate-reactor';
import { createSqliteStorage } from 'xstate-reactor/sqlite';
// @ts-expect-error deep imports must be blocked by "exports"
import type {} from 'xstate-reactor/dist/index.js';

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { increment: (state: { count: number }, input: { by: number }) => ({ count: state.count + input.by }) },
});

export type Summary = Pick<SimulationSummary, 'operations' | 'digest'>;

export function open(): Promise<Reactor> {
  return createReactor({ models: [counter], storage: { indexedDB: new IDBFactory(), IDBKeyRange } });
}

export function openOnSqlite(path: string): Promise<Reactor> {
  return createReactor({ models: [counter], storage: { backend: createSqliteStorage({ path }) } });
}

export function countOf(reactor: Reactor, documentId: string): number {
  const snapshot: DocumentSnapshot | undefined = reactor.documents.get(documentId);
  return (snapshot?.state as { count: number } | undefined)?.count ?? 0;
}

// @ts-expect-error createDocument takes a model name: proves the types are real, not any
export const wrong = (reactor: Reactor) => reactor.createDocument(42);
`;

const started = performance.now();
const root = mkdtempSync(join(tmpdir(), 'xstate-reactor-pack-'));
try {
  step('npm run build');
  run('build', 'npm', ['run', 'build']);

  // The build ran just above; --ignore-scripts keeps prepack from building a second time.
  const packDir = join(root, 'pack');
  mkdirSync(packDir);
  const packed = JSON.parse(
    run('npm pack', 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir]),
  )[0];
  const paths = packed.files.map((file) => file.path).sort();
  console.log(
    `pack check: ${packed.filename}: ${paths.length} files, ${kB(packed.unpackedSize)} unpacked, ${kB(packed.size)} packed`,
  );
  for (const file of [...packed.files].sort((a, b) => a.path.localeCompare(b.path))) {
    console.log(`  ${kB(file.size).padStart(9)}  ${file.path}`);
  }
  const forbidden = paths.filter((path) => FORBIDDEN.some((pattern) => pattern.test(path)));
  if (forbidden.length > 0) throw new CheckFailure(`the tarball ships files it must not:\n  ${forbidden.join('\n  ')}`);
  const missing = REQUIRED.filter((path) => !paths.includes(path));
  if (missing.length > 0) throw new CheckFailure(`the tarball lacks required files: ${missing.join(', ')}`);

  const consumer = join(root, 'consumer');
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    `${JSON.stringify({ name: 'pack-check', private: true, type: 'module' }, null, 2)}\n`,
  );
  // fake-indexeddb comes from the repo's node_modules, packed so it installs as a copy (a folder
  // install would symlink it and run its dev-only `prepare` script) and without the network.
  const fake = JSON.parse(
    run('npm pack fake-indexeddb', 'npm', [
      'pack',
      '--ignore-scripts',
      '--json',
      '--pack-destination',
      packDir,
      fakeIndexedDb,
    ]),
  )[0];
  step('npm install <tarball> fake-indexeddb');
  run(
    'npm install',
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      join(packDir, packed.filename),
      join(packDir, fake.filename),
    ],
    { cwd: consumer, timeout: 300_000 },
  );

  step('xstate-reactor --help (the installed bin)');
  const help = run('the bin', join(consumer, 'node_modules', '.bin', 'xstate-reactor'), ['--help'], { cwd: consumer });
  if (!['simulate', 'replay', 'switchboard', 'demo'].every((command) => help.includes(command))) {
    throw new CheckFailure(`xstate-reactor --help printed an unexpected usage:\n${help}`);
  }

  step('xstate-reactor simulate --json (the installed bin, the sim entry point)');
  const simulated = run(
    'the simulate command',
    join(consumer, 'node_modules', '.bin', 'xstate-reactor'),
    ['simulate', '--reactors', '3', '--ops', '60', '--documents', '3', '--json'],
    { cwd: consumer, timeout: 120_000 },
  );
  const report = JSON.parse(simulated);
  if (report.converged !== true || report.operations < 60) {
    throw new CheckFailure(`simulate did not converge: ${simulated.slice(0, 500)}`);
  }
  console.log(`  simulate: ${report.operations} ops converged on ${report.reactors} reactors`);

  step('node check.mjs');
  writeFileSync(join(consumer, 'check.mjs'), CHECK_MJS);
  const printed = run('check.mjs', process.execPath, ['check.mjs'], { cwd: consumer, timeout: 60_000 });
  console.log(`  ${printed.trim()}`);

  step('tsc check.ts (types through "exports")');
  writeFileSync(join(consumer, 'check.ts'), CHECK_TS);
  run(
    'type-check of check.ts',
    tsc,
    ['--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--strict', 'check.ts'],
    { cwd: consumer },
  );

  step(`ok in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  const message = error instanceof CheckFailure ? error.message : (error?.stack ?? String(error));
  console.error(`pack check FAILED: ${message}`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`pack check: temp folder kept at ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
