// The browser suite (test/browser/ in headless Chromium on real IndexedDB), as the last step of
// `npm test`. It uses the system Chromium (CHROMIUM_PATH, or Debian's /usr/bin/chromium) and never
// downloads one. Without Chromium it says so in a box on stderr and exits 0, so `npm test` passes
// on a machine that cannot run the browser suite; `--strict` (npm run test:browser) fails instead.
// Any other arguments go to vitest.
import { spawn } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const vitestArgs = process.argv.slice(2).filter((arg) => arg !== '--strict');
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const REPORT = join(repo, '.vitest', 'browser.json');

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Lines in a box, for a message nobody should scroll past. */
function boxed(lines) {
  const width = Math.max(...lines.map((line) => line.length));
  return [
    `╔${'═'.repeat(width + 2)}╗`,
    ...lines.map((line) => `║ ${line.padEnd(width)} ║`),
    `╚${'═'.repeat(width + 2)}╝`,
  ].join('\n');
}

if (!executable(chromium)) {
  // A report left from an earlier run would be counted as this run's browser results.
  rmSync(REPORT, { force: true });
  process.stderr.write(
    `\n${boxed([
      `BROWSER SUITE ${strict ? 'FAILED' : 'SKIPPED'}: no Chromium at ${chromium}`,
      '',
      'test/browser/ (real IndexedDB in headless Chromium) did not run.',
      'Install Debian’s Chromium, then run npm test again:',
      '',
      '  sudo apt-get update && sudo apt-get install -y chromium',
      '',
      'or point CHROMIUM_PATH at a Chromium binary. Playwright never downloads one here.',
    ])}\n\n`,
  );
  process.exit(strict ? 1 : 0);
}

const vitest = join(repo, 'node_modules', 'vitest', 'vitest.mjs');
const child = spawn(process.execPath, [vitest, 'run', '--config', 'vitest.browser.config.ts', ...vitestArgs], {
  cwd: repo,
  stdio: 'inherit',
  env: { ...process.env, CHROMIUM_PATH: chromium },
});
child.on('error', (error) => {
  process.stderr.write(`could not start vitest: ${error.message}\n`);
  process.exit(1);
});
child.on('exit', (code) => process.exit(code ?? 1));
