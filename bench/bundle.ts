/**
 * What the library adds to a browser app's bundle. Builds a tiny Vite app that starts a reactor
 * and syncs it with other tabs and a switchboard (`createReactor`, `createBroadcastTransport`,
 * `createWebSocketChannel`), the same app with nothing in it (the baseline, built in the same
 * run), and prints the library's share, minified and gzipped, per package and in total against
 * the target (≤ 230 kB minified, ≤ 70 kB gzip). Run with `npm run bench:bundle`.
 *
 * The library's share is the app's bundle less the baseline's. Per package: the bytes of the
 * minified bundle that its source map traces to that package's files (exact), and those bytes
 * gzipped on their own (close to, not exactly, the package's share of the gzipped bundle: gzip
 * shares its dictionary across packages).
 *
 * `npm run bench:bundle -- --ref main` measures another commit too (its `src` and `package.json`
 * from `git archive`, built against this checkout's node_modules, so that commit's dependencies
 * must be installed here), e.g. to compare before and after a change in one run. Apps are built in
 * a folder under the OS temp folder, removed afterwards; nothing is written to the repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Rolldown } from 'vite';
import { type Column, formatNumber, formatPercent, formatTable, progress, verdict } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const TARGET_MIN = 230 * 1000;
const TARGET_GZIP = 70 * 1000;

/** The app: a reactor that syncs with the other tabs and with a switchboard. */
const APP = (
  src: string,
) => `import { createBroadcastTransport, createReactor, createWebSocketChannel } from '${src}/index.ts';

const reactor = await createReactor({ models: [] });
const tabs = createBroadcastTransport(reactor, { channelName: 'bundle-app' });
tabs.syncWithPeers({ mode: 'ping-pong' });
await reactor.sync.add({ name: 'hub', channel: createWebSocketChannel('ws://127.0.0.1:8787', { clientId: reactor.id }), mode: 'ping-pong' });
document.title = String(reactor.status().phase);
`;

/** The baseline: the same page with nothing of the library. */
const EMPTY = `document.title = 'empty';\n`;

interface Sizes {
  readonly min: number;
  readonly gzip: number;
}

const sizesOf = (code: string): Sizes => ({ min: Buffer.byteLength(code), gzip: gzipSync(code).length });

interface Built {
  /** The whole JS of the app, as Vite wrote it (minified). */
  readonly total: Sizes;
  /** The bytes of the minified JS, per package its source map traces them to. */
  readonly packages: ReadonlyMap<string, string>;
}

async function buildApp(dir: string, main: string): Promise<Built> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./main.ts"></script>\n');
  writeFileSync(join(dir, 'main.ts'), main);
  const output = await build({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    build: { write: false, sourcemap: true, reportCompressedSize: false },
  });
  const outputs = (Array.isArray(output) ? output : [output]) as Rolldown.RolldownOutput[];
  let code = '';
  const packages = new Map<string, string>();
  for (const { output: files } of outputs) {
    for (const file of files) {
      if (file.type !== 'chunk') continue;
      code += file.code;
      if (file.map === null) throw new Error(`${file.fileName} has no source map`);
      for (const [source, bytes] of attribute(file.code, file.map.mappings, file.map.sources)) {
        const name = packageOf(source) ?? '(the app, Vite)';
        packages.set(name, `${packages.get(name) ?? ''}${bytes}`);
      }
    }
  }
  return { total: sizesOf(code), packages };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The numbers of one source-map segment (base64 VLQ). */
function decodeSegment(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    values.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return values;
}

/**
 * The generated code cut at every mapping, each piece with the source it maps to (a piece runs to
 * the next mapping); pieces that map to nothing go to `''`.
 */
function attribute(code: string, mappings: string, sources: readonly (string | null)[]): [string, string][] {
  const lines = code.split('\n');
  const pieces: [string, string][] = [];
  let source = 0;
  mappings.split(';').forEach((line, index) => {
    const text = lines[index] ?? '';
    let column = 0;
    let from = 0;
    let current = '';
    for (const segment of line.split(',')) {
      if (segment === '') continue;
      const [delta = 0, sourceDelta] = decodeSegment(segment);
      column += delta;
      pieces.push([current, text.slice(from, column)]);
      from = column;
      if (sourceDelta === undefined) current = '';
      else {
        source += sourceDelta;
        current = sources[source] ?? '';
      }
    }
    pieces.push([current, `${text.slice(from)}\n`]);
  });
  return pieces;
}

/** Which package a source belongs to: its folder under node_modules, or our own code. */
function packageOf(source: string): string | undefined {
  const at = source.lastIndexOf('node_modules/');
  if (at >= 0) {
    const parts = source.slice(at + 'node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (/(^|\/)src\/.*\.tsx?$/.test(source)) return 'xstate-reactor (our code)';
  return undefined;
}

interface Measured {
  readonly label: string;
  readonly share: Sizes;
  readonly packages: readonly { readonly name: string; readonly sizes: Sizes }[];
}

async function measure(label: string, src: string, work: string): Promise<Measured> {
  progress(`building the app on ${label}`);
  const app = await buildApp(join(work, 'app'), APP(src));
  const empty = await buildApp(join(work, 'empty'), EMPTY);
  const packages = [...app.packages].map(([name, code]) => ({ name, sizes: sizesOf(code) }));
  packages.sort((a, b) => b.sizes.min - a.sizes.min);
  return {
    label,
    share: { min: app.total.min - empty.total.min, gzip: app.total.gzip - empty.total.gzip },
    packages,
  };
}

/** Extracts `ref`'s src and package.json into `dir`, beside a link to this checkout's node_modules. */
function checkout(ref: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', ref, 'src', 'package.json']);
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'src');
}

function report(runs: readonly Measured[]): void {
  const names = [...new Set(runs.flatMap((run) => run.packages.map((entry) => entry.name)))];
  const cell = (run: Measured, name: string, key: keyof Sizes) => {
    const sizes = run.packages.find((entry) => entry.name === name)?.sizes;
    return sizes === undefined ? '–' : formatNumber(sizes[key] / 1000, 1);
  };
  interface Row {
    readonly name: string;
    readonly cells: readonly string[];
  }
  const rows: Row[] = [
    ...names.map((name) => ({
      name,
      cells: runs.flatMap((run) => [cell(run, name, 'min'), cell(run, name, 'gzip')]),
    })),
    {
      name: 'library total (app − empty app)',
      cells: runs.flatMap((run) => [formatNumber(run.share.min / 1000, 1), formatNumber(run.share.gzip / 1000, 1)]),
    },
    {
      name: 'target',
      cells: runs.flatMap(() => [`≤ ${TARGET_MIN / 1000}`, `≤ ${TARGET_GZIP / 1000}`]),
    },
    {
      name: 'result',
      cells: runs.flatMap((run) => [verdict(run.share.min <= TARGET_MIN), verdict(run.share.gzip <= TARGET_GZIP)]),
    },
  ];
  const columns: Column<Row>[] = [
    { header: 'package (bytes its source maps trace)', cell: (row) => row.name },
    ...runs.flatMap((run, i): Column<Row>[] => [
      { header: `${run.label} kB min`, cell: (row) => row.cells[2 * i] ?? '', align: 'right' },
      { header: `${run.label} kB gzip`, cell: (row) => row.cells[2 * i + 1] ?? '', align: 'right' },
    ]),
  ];
  console.log('');
  console.log(
    `Bundle — a Vite app with createReactor, createBroadcastTransport and createWebSocketChannel (vite build, Vite's defaults and minifier; gzip level 6); kB = 1,000 bytes`,
  );
  console.log(formatTable(columns, rows));
  const last = runs.at(-1);
  if (last !== undefined && runs.length > 1) {
    const first = runs[0] as Measured;
    console.log(
      `${last.label} vs ${first.label}: ${formatPercent(last.share.min / first.share.min - 1)} minified, ${formatPercent(last.share.gzip / first.share.gzip - 1)} gzip.`,
    );
  }
}

async function main(): Promise<void> {
  const refAt = process.argv.indexOf('--ref');
  const ref = refAt >= 0 ? process.argv[refAt + 1] : undefined;
  const work = mkdtempSync(join(tmpdir(), 'xstate-reactor-bundle-'));
  try {
    const runs: Measured[] = [];
    if (ref !== undefined) runs.push(await measure(ref, checkout(ref, join(work, 'ref')), join(work, 'ref-build')));
    runs.push(await measure('this checkout', join(ROOT, 'src'), join(work, 'head')));
    report(runs);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
