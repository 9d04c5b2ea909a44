import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createReactor, fold } from '../../src/index.js';
import { createSqliteStorage } from '../../src/sqlite.js';
import { counter } from '../support.js';

/**
 * Durability of the SQLite backend as a switchboard needs it: a writer process is killed with
 * SIGKILL (no shutdown, no flush) while commits are in flight; every mutation it had acknowledged
 * must be there when the file is opened again.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const WRITER = join(ROOT, 'test/storage/fixtures/sqliteWriter.ts');
const ACKS_BEFORE_KILL = 300;

const folder = mkdtempSync(join(tmpdir(), 'xstate-reactor-durability-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs the writer until it has acknowledged `acks` mutations, then SIGKILLs it; resolves with every acked op id. */
function writeUntilKilled(path: string, acks: number): Promise<{ acked: string[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: string[] = [];
    let pending = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer acknowledged only ${acked.length} mutations in time\n${stderr}`));
    }, 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
      if (acked.length >= acks && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolvePromise({ acked, signal });
    });
  });
}

describe('SQLite durability', () => {
  it('keeps every acknowledged op when the writing process is killed with SIGKILL mid-commit', async () => {
    const path = join(folder, 'killed.db');
    const { acked, signal } = await writeUntilKilled(path, ACKS_BEFORE_KILL);
    expect(signal).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);

    const reopened = await createReactor({
      models: [counter],
      id: 'writer',
      storage: { backend: createSqliteStorage({ path }) },
    });
    try {
      // Jobs accepted but not committed before the kill run now; wait for them.
      await reopened.whenIdle();
      const log = await reopened.operations('c');
      const stored = new Set(log.map((op) => op.id));
      expect(stored.size).toBe(log.length);
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      expect(reopened.documents.get('c')?.state).toEqual(fold(counter, log));
      expect(reopened.status().ordinal).toBe(log.length + 1);
    } finally {
      await reopened.stop();
    }
  });
});
