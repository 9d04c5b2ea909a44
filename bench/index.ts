/**
 * Runs every benchmark workload in turn: B1 (local writes), sync, storage backends (Dexie vs
 * SQLite), reading a push off the wire, B4 (switchboard fan-out), the switchboard under load (50
 * clients in ping-pong), the browser bundle's size, then the browser workloads (B1 and B3 across
 * tabs in Chromium) when Chromium is installed. Run with `npm run bench`.
 *
 * Each workload runs in its own Node process (with this process's loader flags, so TypeScript
 * still runs through tsx): a fresh heap and JIT per workload, and a workload's leftovers (the sync
 * bench can leave a cut-off run behind) never reach the next one.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_PATH, chromiumAvailable } from '../test/chromium.js';
import { progress } from './lib.js';

const WORKLOADS = [
  'b1.ts',
  'sync.ts',
  'storage.ts',
  'wire.ts',
  'switchboard.ts',
  'switchboard-load.ts',
  'bundle.ts',
  'browser/run.ts',
] as const;

function run(file: string): Promise<number> {
  const path = fileURLToPath(new URL(file, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, path], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

async function main(): Promise<void> {
  let failed = 0;
  for (const file of WORKLOADS) {
    if (file.startsWith('browser/') && !chromiumAvailable()) {
      progress(
        `workload ${file} skipped: no Chromium at ${CHROMIUM_PATH} ` +
          '(sudo apt-get update && sudo apt-get install -y chromium, or set CHROMIUM_PATH)',
      );
      continue;
    }
    progress(`workload ${file}`);
    const code = await run(file);
    if (code !== 0) {
      progress(`workload ${file} exited with code ${code}`);
      failed += 1;
    }
  }
  if (failed > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
