#!/usr/bin/env node
import { runDemo } from './demo.js';

const USAGE =
  'usage: xstate-reactor <command>\n\ncommands:\n  demo    a scripted tour of one reactor on fake IndexedDB';

/** The `xstate-reactor` command line. */
async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  if (command === 'demo' && rest.length === 0) {
    await runDemo();
    return;
  }
  console.error(command === undefined ? USAGE : `xstate-reactor: unknown command "${argv.join(' ')}"\n\n${USAGE}`);
  process.exitCode = 1;
}

await main(process.argv.slice(2));
