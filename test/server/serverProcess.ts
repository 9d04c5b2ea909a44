/**
 * The switchboard as a user runs it: `xstate-reactor switchboard` in its own Node process (through
 * tsx), on 127.0.0.1. Shared by the process tests and the switchboard benches
 * (`bench/switchboard.ts`, `bench/switchboard-load.ts`); it imports nothing from vitest.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const LISTENING = /listening on (ws:\/\/127\.0\.0\.1:(\d+))/;

/** What GET /health answers. */
export interface Health {
  readonly id: string;
  readonly clients: number;
  readonly ordinal: number;
  readonly accepting: boolean;
  readonly protocol: number;
}

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `xstate-reactor switchboard` process. */
export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  /** `ws://127.0.0.1:<port>` */
  readonly url: string;
  /** Everything the process wrote to stderr so far (its log). */
  log(): string;
  health(): Promise<Health>;
  /** Resident memory now and at its peak (bytes), from /proc/<pid>/status. */
  memory(): { rss: number; peak: number };
  /** CPU time used so far (ms, user + system), from /proc/<pid>/stat. */
  cpuMs(): number;
  /** Sends a signal and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<Exit>;
  /** Resolves when the process exits, whatever the reason. */
  readonly exited: Promise<Exit>;
}

/** Options of {@link startServer}. */
export interface StartOptions {
  /** Data directory (`--data`). */
  readonly data: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Further CLI flags, e.g. `['--token', 't']` or `['--memory']`. */
  readonly args?: readonly string[];
  /** How long to wait for the "listening on" line (ms); default 30,000. */
  readonly startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();

// A test process that dies for any reason takes its servers with it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts the switchboard CLI and resolves once it listens (the port is read from its log line). */
export function startServer(options: StartOptions): Promise<ServerProcess> {
  const args = [
    '--import',
    'tsx',
    MAIN,
    'switchboard',
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--data',
    options.data,
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', XSTATE_REACTOR_TOKEN: '' },
  });
  running.add(child);
  let stderr = '';
  const exited = new Promise<Exit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolveExit({ code, signal });
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the switchboard');
  const timeoutMs = options.startTimeoutMs ?? 30_000;

  return new Promise<ServerProcess>((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`the switchboard did not listen within ${timeoutMs} ms; its log:\n${stderr}`));
    }, timeoutMs);
    void exited.then((exit) => {
      clearTimeout(timer);
      rejectStart(
        new Error(`the switchboard exited (${exit.code ?? exit.signal}) before listening; its log:\n${stderr}`),
      );
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      const before = stderr;
      stderr += chunk;
      if (LISTENING.test(before)) return;
      const match = LISTENING.exec(stderr);
      if (match === null) return;
      clearTimeout(timer);
      const url = match[1] as string;
      const port = Number(match[2]);
      resolveStart({
        pid,
        port,
        url,
        log: () => stderr,
        health: () => health(port),
        memory: () => memoryOf(pid),
        cpuMs: () => cpuMsOf(pid),
        kill: (signal) => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
        exited,
      });
    });
  });
}

/** Kills every server still running (SIGKILL) and waits for them to exit. */
export async function killAllServers(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolveExit) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolveExit();
          child.once('exit', () => resolveExit());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** GET /health of a switchboard on 127.0.0.1. */
export async function health(port: number): Promise<Health> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  if (!response.ok) throw new Error(`GET /health answered ${response.status}`);
  return (await response.json()) as Health;
}

/** Polls GET /health until `check` holds; fails with the last answer after `timeoutMs`. */
export async function healthUntil(
  port: number,
  check: (health: Health) => boolean,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  let last: Health | undefined;
  for (;;) {
    last = await health(port);
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`/health never met the condition; last: ${JSON.stringify(last)}`);
    await new Promise((wake) => setTimeout(wake, everyMs));
  }
}

function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') * 1024, peak: kib('VmHWM') * 1024 };
}

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux we run on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}
