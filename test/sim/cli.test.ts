import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { SimulateReport } from '../../src/cli/simulate.js';

/**
 * The `xstate-reactor` command line as a user runs it: a separate Node process (through tsx), stdin
 * ignored and stdout/stderr piped, so it is not a TTY. Workloads stay small: each run pays ~1 s of
 * startup.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const SMALL = ['--reactors', '3', '--ops', '200', '--documents', '5', '--seed', '1'];
const TINY = ['--reactors', '2', '--topology', 'pair', '--ops', '30', '--documents', '2', '--seed', '5'];

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`xstate-reactor ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Parses the `--json` report, failing with the process output if it is not JSON. */
function reportOf(run: Run): SimulateReport {
  try {
    return JSON.parse(run.stdout) as SimulateReport;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xstate-reactor-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function scenarioFile(name: string, scenario: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(scenario, null, 2));
  return path;
}

describe('xstate-reactor simulate', () => {
  it('takes --duplication as another name for --duplicate', async () => {
    const run = await cli(['simulate', ...TINY, '--duplication', '0.5', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(reportOf(run)).toMatchObject({ converged: true });
    expect(reportOf(run).network.duplicated).toBeGreaterThan(0);
  });

  it('--json prints a parseable report of a converged run', async () => {
    const run = await cli(['simulate', ...SMALL, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = reportOf(run);
    expect(report).toMatchObject({
      seed: 1,
      reactors: 3,
      topology: 'hub',
      mode: 'ping-pong',
      converged: true,
      violations: [],
      deadLetters: 0,
      crashes: 1,
    });
    // 200 writes plus the 5 CREATEs.
    expect(report.operations).toBeGreaterThan(200);
    expect(report.writes.attempted).toBe(report.writes.committed + report.writes.failed);
    expect(report.wallMs).toBeGreaterThan(0);
    expect(report.opsPerSecond).toBeGreaterThan(0);
    expect(report.retries).toBeGreaterThanOrEqual(0);
    expect(report.propagation.p50).toBeGreaterThanOrEqual(0);
    expect(report.propagation.p99).toBeGreaterThanOrEqual(report.propagation.p50);
    expect(report.propagation.samples).toBeGreaterThan(0);
    expect(report.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(report.states)).toEqual(['doc-0', 'doc-1', 'doc-2', 'doc-3', 'doc-4']);
    // --json keeps progress off stderr, so a pipe gets only JSON.
    expect(run.stderr).toBe('');
  });

  it('without --json and without a TTY prints plain progress lines and the summary table', async () => {
    const run = await cli(['simulate', ...SMALL]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('simulating 3 reactors (hub, ping-pong), 200 ops over 5 documents, seed 1');
    const progress = run.stderr.split('\n').filter((line) => line.startsWith('progress: '));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatch(/^progress: 100% \((\d+)\/\1 steps\)$/);
    // No progress bar: no escape codes, no carriage returns.
    expect(run.stderr + run.stdout).not.toContain('\u001b[');
    expect(run.stderr + run.stdout).not.toContain('\r');
    for (const row of ['scenario', 'reactors', 'seed', 'ops', 'time', 'ops/s', 'retries', 'dead letters', 'crashes']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${row} +\\S`, 'm'));
    }
    expect(run.stdout).toMatch(/^ {2}converged +yes$/m);
    expect(run.stdout).toMatch(/^ {2}propagation +p50 \d+ ms, p99 \d+ ms \(simulated\)$/m);
  });

  const examples = readdirSync(join(ROOT, 'examples')).filter((file) => file.endsWith('.json'));

  it.each(examples)('--scenario examples/%s converges', async (file) => {
    const run = await cli(['simulate', '--scenario', `examples/${file}`, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = reportOf(run);
    const scenario = JSON.parse(readFileSync(join(ROOT, 'examples', file), 'utf8')) as { name: string; seed: number };
    expect(report).toMatchObject({ name: scenario.name, seed: scenario.seed, converged: true, violations: [] });
  });

  it('refuses an invalid scenario file, naming the bad field', async () => {
    const path = scenarioFile('invalid.json', {
      topology: 'ring',
      steps: [{ createDocument: { reactor: 0, model: 'counter', id: 'c' } }, { advance: 'soon' }],
    });
    const run = await cli(['simulate', '--scenario', path]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`scenario ${path} is not valid:`);
    expect(run.stderr).toMatch(/^ {2}topology: .*"pair"/m);
    expect(run.stderr).toMatch(/^ {2}steps\.1: /m);
    expect(run.stdout).toBe('');
  });

  it('refuses a scenario file that is not JSON or does not exist', async () => {
    const notJson = join(dir, 'not-json.json');
    writeFileSync(notJson, '{ "steps": [');
    const [broken, missing] = await Promise.all([
      cli(['simulate', '--scenario', notJson]),
      cli(['simulate', '--scenario', join(dir, 'missing.json')]),
    ]);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain(`scenario ${notJson} is not JSON`);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`cannot read scenario ${join(dir, 'missing.json')}`);
  });

  it('refuses an out-of-range value and an unknown option with commander’s message', async () => {
    const [drop, unknown, topology] = await Promise.all([
      cli(['simulate', '--drop', '2']),
      cli(['simulate', '--frobnicate']),
      cli(['simulate', '--topology', 'ring']),
    ]);
    expect(drop.code).not.toBe(0);
    expect(drop.stderr).toContain(
      "error: option '--drop <p>' argument '2' is invalid. --drop must be a number from 0 to 1",
    );
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("error: unknown option '--frobnicate'");
    expect(topology.code).not.toBe(0);
    expect(topology.stderr).toMatch(/argument 'ring' is invalid\. Allowed choices are pair, hub, mesh/);
    // Nothing was simulated.
    for (const run of [drop, unknown, topology]) expect(run.stdout).toBe('');
  });

  it('exits 1 and prints the violation when an invariant does not hold', async () => {
    const path = scenarioFile('expects-letters.json', {
      name: 'expects dead letters that never come',
      seed: 2,
      reactors: 2,
      topology: 'pair',
      expect: { deadLetters: 3 },
      steps: [
        { createDocument: { reactor: 0, model: 'counter', id: 'c' } },
        { write: { reactor: 1, document: 'c', actions: [{ type: 'INCREMENT', input: { by: 1 } }] } },
        { quiesce: true },
      ],
    });
    const [table, json] = await Promise.all([
      cli(['simulate', '--scenario', path]),
      cli(['simulate', '--scenario', path, '--json']),
    ]);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/^ {2}converged +NO$/m);
    expect(table.stdout).toContain('✗ dead-letters: expected 3 dead letter(s), found 0');
    expect(json.code).toBe(1);
    expect(reportOf(json)).toMatchObject({
      converged: false,
      violations: [{ invariant: 'dead-letters', message: 'expected 3 dead letter(s), found 0' }],
    });
  });

  it('exits 1 with the error when a scenario cannot settle', async () => {
    // r1 is crashed when the scenario asks to quiesce.
    const path = scenarioFile('left-crashed.json', {
      seed: 3,
      reactors: 2,
      topology: 'pair',
      steps: [{ createDocument: { reactor: 0, model: 'counter', id: 'c' } }, { crash: 1 }, { quiesce: true }],
    });
    const run = await cli(['simulate', '--scenario', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('error: quiesce: r1 crashed; restart before quiescing');
  });

  it('gives the same digest and states for the same seed in two processes', async () => {
    const args = ['simulate', ...TINY, '--drop', '0.1', '--duplicate', '0.1', '--reorder', '0.1', '--json'];
    const [a, b, other] = await Promise.all([cli(args), cli(args), cli([...args, '--seed', '6'])]);
    for (const run of [a, b, other]) expect(run.code, run.stderr).toBe(0);
    const [first, second, third] = [reportOf(a), reportOf(b), reportOf(other)];
    expect(second.digest).toBe(first.digest);
    expect(second.states).toEqual(first.states);
    expect(second.traceEvents).toBe(first.traceEvents);
    expect(second.network).toEqual(first.network);
    expect(third.seed).toBe(6);
    expect(third.digest).not.toBe(first.digest);
  });
});

describe('xstate-reactor simulate --record and replay', () => {
  let trace: string;
  let lines: string[];

  beforeAll(async () => {
    trace = join(dir, 'trace.jsonl');
    const run = await cli(['simulate', ...TINY, '--record', trace, '--json']);
    expect(run.code, run.stderr).toBe(0);
    lines = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    // The report is made before the reactors stop; their stop events are in the file too.
    const reported = reportOf(run).traceEvents;
    expect(reported).toBeGreaterThan(0);
    expect(reported).toBeLessThanOrEqual(lines.length);
  }, 30_000);

  it('--record writes a JSON-lines trace of every reactor’s inspection events', () => {
    expect(lines.length).toBeGreaterThan(100);
    const records = lines.map((line) => JSON.parse(line) as { t: number; reactor: string; type: string });
    expect(new Set(records.map((r) => r.reactor))).toEqual(new Set(['r0', 'r1']));
    const types = new Set(records.map((r) => r.type));
    for (const type of ['@xstate.actor', '@xstate.event', '@xstate.snapshot']) expect(types).toContain(type);
    for (const record of records) expect(record.t).toEqual(expect.any(Number));
    // Simulated time only moves forward.
    expect(records.every((r, i) => i === 0 || r.t >= (records[i - 1]?.t ?? 0))).toBe(true);
  });

  it('replay delivers every line of the trace to a WebSocket endpoint', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((ready) => server.once('listening', () => ready()));
    const port = (server.address() as { port: number }).port;
    const received: string[] = [];
    const closed = new Promise<void>((done) => {
      server.on('connection', (socket) => {
        socket.on('message', (data) => received.push(String(data)));
        socket.on('close', () => done());
      });
    });
    try {
      const run = await cli(['replay', trace, '--url', `ws://127.0.0.1:${port}`]);
      expect(run.code, run.stderr).toBe(0);
      await closed;
      expect(run.stderr).toContain(`replayed ${lines.length} events to ws://127.0.0.1:${port}`);
      expect(received).toHaveLength(lines.length);
      const messages = received.map((message) => JSON.parse(message) as { type: string; id: string; reactor: string });
      for (const message of messages) expect(message.type).toMatch(/^@xstate\./);
      expect(messages.map((m) => m.id)).toEqual(lines.map((_, i) => String(i)));
      expect(messages.map((m) => m.type)).toEqual(lines.map((line) => (JSON.parse(line) as { type: string }).type));
      // Stately inspection events: every one has a session, a root, a time and a protocol version;
      // machine actors come with their statechart definition.
      const shaped = messages as unknown as Record<string, unknown>[];
      for (const message of shaped) {
        expect(message).toMatchObject({ sessionId: expect.any(String), rootId: expect.any(String) });
        expect(message).toMatchObject({ createdAt: expect.any(String), _version: expect.any(String) });
      }
      const queueActor = shaped.find((m) => m.type === '@xstate.actor' && m.name === 'queue');
      expect(JSON.parse(queueActor?.definition as string)).toMatchObject({ id: 'queue' });
      expect(queueActor?.parentId).toMatch(/^r\d\/reactor/);
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });

  it('replay to a closed port exits non-zero saying it cannot connect', async () => {
    // A port that was free a moment ago and has nobody listening now.
    const probe = createServer();
    const port = await new Promise<number>((ready) =>
      probe.listen(0, '127.0.0.1', () => ready((probe.address() as { port: number }).port)),
    );
    await new Promise<void>((done) => probe.close(() => done()));
    const run = await cli(['replay', trace, '--url', `ws://127.0.0.1:${port}`]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`xstate-reactor: cannot connect to ws://127.0.0.1:${port}: `);
    expect(run.stderr).toContain('ECONNREFUSED');
  });
});
