#!/usr/bin/env node
import { fileURLToPath } from 'node:url';

const USAGE = 'usage: xstate-reactor <command>\nxstate-reactor: commands: demo';

/** Whether `error` says that `specifier` itself is missing, not one of its own imports. */
function isMissingModule(error: unknown, specifier: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    code === 'ERR_MODULE_NOT_FOUND' &&
    typeof message === 'string' &&
    message.includes(fileURLToPath(new URL(specifier, import.meta.url)))
  );
}

async function runDemo(): Promise<void> {
  // A variable specifier keeps tsc from resolving the demo at build time: it is optional for now.
  const specifier = './demo.js';
  try {
    await import(specifier);
  } catch (error) {
    if (!isMissingModule(error, specifier)) throw error;
    console.error('xstate-reactor: the demo is not part of this build yet');
    process.exitCode = 1;
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  if (command === undefined) {
    console.error(USAGE);
    process.exitCode = 1;
    return;
  }
  if (command === 'demo' && rest.length === 0) {
    await runDemo();
    return;
  }
  console.error(`xstate-reactor: unknown command "${argv.join(' ')}"\n${USAGE}`);
  process.exitCode = 1;
}

await main(process.argv.slice(2));
