#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { SYNC_MODES, type SyncMode } from '../model/sync.js';
import { TOPOLOGIES, type Topology } from '../sim/topology.js';
import { runDemo } from './demo.js';
import { replay } from './replay.js';
import { formatReport, type SimulateOptions, simulate } from './simulate.js';
import { runSwitchboard, type SwitchboardFlags } from './switchboard.js';

function integer(name: string, min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

function probability(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a number from 0 to 1`);
    return n;
  };
}

function milliseconds(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!(n >= 0)) throw new InvalidArgumentError(`${name} must be a number of ms ≥ 0`);
    return n;
  };
}

/** The `xstate-reactor` command line. */
export function buildProgram(): Command {
  const program = new Command('xstate-reactor')
    .description('An embeddable reactor of document operation logs, synced between reactors.')
    .showHelpAfterError();

  program
    .command('simulate')
    .description('simulate reactors syncing over a faulty network, then check every invariant')
    .option('-r, --reactors <n>', 'number of reactors', integer('--reactors', 2), 4)
    .addOption(new Option('-t, --topology <name>', 'how reactors are wired').choices(TOPOLOGIES).default('hub'))
    .addOption(new Option('-m, --mode <mode>', 'sync mode').choices(SYNC_MODES).default('ping-pong'))
    .option('--ops <n>', 'writes to make', integer('--ops', 0), 2000)
    .option('--documents <n>', 'documents to write to', integer('--documents', 1), 20)
    .option('--drop <p>', 'probability a message is lost', probability('--drop'), 0.05)
    .option('--duplicate <p>', 'probability a request is delivered twice', probability('--duplicate'), 0.05)
    .option('--duplication <p>', 'the same as --duplicate', probability('--duplication'))
    .option('--reorder <p>', 'probability a message is overtaken', probability('--reorder'), 0)
    .option('--latency <ms>', 'one-way latency', milliseconds('--latency'), 10)
    .option('--jitter <ms>', 'extra random latency', milliseconds('--jitter'), 5)
    .option('--partitions <n>', 'partitions (each healed later)', integer('--partitions', 0), 1)
    .option('--crashes <n>', 'crash/restart pairs', integer('--crashes', 0), 1)
    .option('--seed <n>', 'seed of every random choice', integer('--seed', 0), 42)
    .option('--record <file>', 'write a JSON-lines trace of inspection events')
    .option('--scenario <file>', 'run a scripted scenario (JSON) instead of a generated workload')
    .option('--json', 'print the report as JSON', false)
    .action(async (raw: Omit<SimulateOptions, 'seedGiven'> & { duplication?: number }, command: Command) => {
      const { duplication, ...flags } = raw;
      const options: SimulateOptions = {
        ...flags,
        ...(duplication === undefined ? {} : { duplicate: duplication }),
        seedGiven: command.getOptionValueSource('seed') === 'cli',
      };
      if (!options.json) {
        process.stderr.write(
          options.scenario === undefined
            ? `simulating ${options.reactors} reactors (${options.topology}, ${options.mode}), ${options.ops} ops over ${options.documents} documents, seed ${options.seed}\n`
            : `simulating scenario ${options.scenario}\n`,
        );
      }
      const report = await simulate(options);
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(`\n${formatReport(report)}\n`);
      if (!report.converged) process.exitCode = 1;
    });

  program
    .command('replay')
    .description('stream a recorded trace to an inspector WebSocket endpoint')
    .argument('<trace>', 'a trace written by simulate --record')
    .option('--url <url>', 'the inspector endpoint', 'ws://127.0.0.1:8080')
    .option('--speed <factor>', 'time scale (0: as fast as possible)', milliseconds('--speed'), 0)
    .action(async (trace: string, flags: { url: string; speed: number }) => {
      const sent = await replay(trace, flags, (line) => process.stderr.write(`${line}\n`));
      process.stderr.write(`replayed ${sent} events to ${flags.url}\n`);
    });

  program
    .command('switchboard')
    .description('serve a reactor to WebSocket clients (createWebSocketChannel), storing ops durably')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', integer('--port', 0), 8787)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('-d, --data <dir>', 'data directory (SQLite database)', './switchboard-data')
    .option('--token <token>', 'token clients must present (default: $XSTATE_REACTOR_TOKEN, else none)')
    .option('--max-frame-bytes <n>', 'largest frame accepted', integer('--max-frame-bytes', 1024))
    .option('--id <id>', "the hosted reactor's id (persisted on first start)")
    .option('--memory', 'keep everything in memory (not durable; for trying things out)', false)
    .action(async (flags: SwitchboardFlags) => {
      await runSwitchboard(flags, (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
    });

  program
    .command('demo')
    .description('a scripted tour of one reactor on fake IndexedDB')
    .action(async () => {
      await runDemo();
    });
  return program;
}

export type { SyncMode, Topology };

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`xstate-reactor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
