import { Subject } from 'rxjs';
import { connect, type Reachable } from '../channels/memory.js';
import { createSimNetwork, type SimNetwork, type SimNetworkStats } from '../channels/simNetwork.js';
import type { DocumentModel } from '../model/documentModel.js';
import { ReactorError } from '../model/errors.js';
import { hashString } from '../model/hash.js';
import { emptyRecord } from '../model/keys.js';
import { seededRandom } from '../model/random.js';
import type { Endpoint, Poke, SyncMode } from '../model/sync.js';
import type { Action } from '../model/types.js';
import { createReactor, type Reactor } from '../reactor/createReactor.js';
import { SimClock } from './clock.js';
import { checkInvariants, type InvariantViolation } from './invariants.js';
import { demoModels } from './models.js';
import { TraceRecorder } from './recorder.js';
import { freshFakeStorage, type SimStorage } from './storage.js';
import { advanceTo, runUntilBlocked } from './time.js';
import { type Edge, edgesFor, type Topology } from './topology.js';

/** Options of {@link createSimulation}. */
export interface SimulationOptions {
  readonly seed?: number;
  /** Number of reactors (default 3); in a hub, reactor `r0` is the hub. */
  readonly reactors?: number;
  readonly topology?: Topology;
  readonly mode?: SyncMode;
  readonly network?: {
    readonly latency?: number | undefined;
    readonly jitter?: number | undefined;
    readonly drop?: number | undefined;
    readonly duplicate?: number | undefined;
    readonly reorder?: number | undefined;
  };
  // biome-ignore lint/suspicious/noExplicitAny: models of any state are accepted
  readonly models?: readonly DocumentModel<any, any>[];
  /** Pull interval of every remote, in simulated ms (default 250). */
  readonly pullIntervalMs?: number;
  /** Record inspection events: a path for a JSON-lines trace, or `true` to keep only the digest. */
  readonly record?: string | boolean;
  /** How much simulated time `quiesce()` may take before it fails (default 10 minutes). */
  readonly quiesceLimitMs?: number;
}

/** A simulated reactor, by name (`r0`, `r1`, …) or index. */
export type ReactorRef = string | number;

/** Thrown when a simulation cannot go on (a bound exceeded, a reactor missing). */
export class SimulationError extends Error {
  override readonly name = 'SimulationError';
}

/** What a run produced. */
export interface SimulationSummary {
  readonly seed: number;
  readonly reactors: number;
  readonly topology: Topology;
  readonly mode: SyncMode;
  /** Writes attempted, committed and failed (a write to a reactor that crashed before commit fails). */
  readonly writes: { readonly attempted: number; readonly committed: number; readonly failed: number };
  /** Distinct ops in the logs (documents and global scope) after the run. */
  readonly operations: number;
  readonly simulatedMs: number;
  /** Sync retries (backoffs) across every remote and incarnation. */
  readonly retries: number;
  readonly deadLetters: number;
  /** Simulated time from an op's commit on its origin to its arrival on each other reactor. */
  readonly propagation: { readonly p50: number; readonly p99: number; readonly samples: number };
  readonly network: Readonly<SimNetworkStats>;
  readonly crashes: number;
  readonly traceEvents: number;
  readonly digest: string | undefined;
  readonly states: Readonly<Record<string, string>>;
}

interface SimNode {
  readonly name: string;
  readonly index: number;
  readonly storage: SimStorage;
  reactor: Reactor | undefined;
  incarnation: number;
  retriesBefore: number;
  readonly pokes: Subject<Poke>;
  readonly reachable: Reachable;
  unsubscribe: () => void;
}

const EPOCH = Date.UTC(2026, 0, 1);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * N reactors on fake IndexedDB (each its own, kept across crash and restart), wired by a topology
 * over a seeded sim network, all on one simulated clock. The same seed gives the same run.
 */
export class Simulation {
  readonly clock = new SimClock(EPOCH);
  readonly network: SimNetwork;
  readonly seed: number;
  readonly topology: Topology;
  readonly mode: SyncMode;
  readonly edges: readonly Edge[];
  readonly #nodes: SimNode[];
  // biome-ignore lint/suspicious/noExplicitAny: models of any state are accepted
  readonly #models: readonly DocumentModel<any, any>[];
  readonly #pullIntervalMs: number;
  readonly #quiesceLimitMs: number;
  readonly #recorder: TraceRecorder | undefined;
  readonly #writtenAt = new Map<string, number>();
  readonly #arrivals: number[] = [];
  readonly #seenAt = new Map<string, Set<string>>();
  #pendingWrites = 0;
  #attempted = 0;
  #committed = 0;
  #failed = 0;
  #crashes = 0;
  readonly #failures: string[] = [];

  constructor(options: SimulationOptions) {
    this.seed = options.seed ?? 1;
    this.topology = options.topology ?? 'hub';
    this.mode = options.mode ?? 'ping-pong';
    const count = options.reactors ?? (this.topology === 'pair' ? 2 : 3);
    this.edges = edgesFor(this.topology, count, this.mode);
    this.#models = options.models ?? demoModels;
    this.#pullIntervalMs = options.pullIntervalMs ?? 250;
    this.#quiesceLimitMs = options.quiesceLimitMs ?? 600_000;
    const faults = Object.fromEntries(Object.entries(options.network ?? {}).filter(([, v]) => v !== undefined));
    this.network = createSimNetwork({ ...faults, seed: this.seed, clock: this.clock });
    this.#recorder =
      options.record === undefined || options.record === false
        ? undefined
        : new TraceRecorder(typeof options.record === 'string' ? options.record : undefined);
    this.#nodes = Array.from({ length: count }, (_, index) => {
      const name = `r${index}`;
      const pokes = new Subject<Poke>();
      const node: SimNode = {
        name,
        index,
        storage: freshFakeStorage(name),
        reactor: undefined,
        incarnation: 0,
        retriesBefore: 0,
        pokes,
        reachable: { id: name, endpoint: undefined as unknown as Endpoint },
        unsubscribe: () => {},
      };
      const unreachable = () => new ReactorError('stopped', `${name} is down`, { retryable: true });
      (node.reachable as { endpoint: Endpoint }).endpoint = {
        push: (request) =>
          node.reactor === undefined ? Promise.reject(unreachable()) : node.reactor.endpoint.push(request),
        pull: (request) =>
          node.reactor === undefined ? Promise.reject(unreachable()) : node.reactor.endpoint.pull(request),
        pokes: { subscribe: (observer) => pokes.subscribe(observer) },
      };
      return node;
    });
  }

  /** Reactor names, `r0` … `r{n-1}`. */
  get names(): string[] {
    return this.#nodes.map((node) => node.name);
  }

  /** Starts every reactor and wires the remotes. */
  async start(): Promise<void> {
    for (const node of this.#nodes) await this.#open(node);
  }

  /** The running reactor behind a name or index. */
  reactor(ref: ReactorRef): Reactor {
    const node = this.#node(ref);
    if (node.reactor === undefined) throw new SimulationError(`${node.name} is crashed; restart it first`);
    return node.reactor;
  }

  /** Creates a document on one reactor and waits for the commit. */
  async createDocument(ref: ReactorRef, model: string, id: string): Promise<void> {
    await this.#track(this.reactor(ref).createDocument(model, { id }));
  }

  /** Submits a mutation (without waiting for it); `quiesce()` waits for every write. */
  write(ref: ReactorRef, documentId: string, actions: readonly Action[]): void {
    const reactor = this.reactor(ref);
    void this.#track(reactor.mutate(documentId, actions));
  }

  /** Cuts the link between two reactors. */
  partition(a: ReactorRef, b: ReactorRef): void {
    this.network.partition(this.#node(a).name, this.#node(b).name);
  }

  /** Restores one link, or every link. */
  heal(a?: ReactorRef, b?: ReactorRef): void {
    if (a === undefined || b === undefined) this.network.heal();
    else this.network.heal(this.#node(a).name, this.#node(b).name);
  }

  /** Stops a reactor at once, dropping everything in memory (its fake IndexedDB survives). */
  async crash(ref: ReactorRef): Promise<void> {
    const node = this.#node(ref);
    const reactor = node.reactor;
    if (reactor === undefined) throw new SimulationError(`${node.name} is already crashed`);
    node.retriesBefore += this.#retriesOf(reactor);
    node.reactor = undefined;
    node.unsubscribe();
    this.#crashes += 1;
    await reactor.stop({ abort: true });
  }

  /** Reopens a crashed reactor on its database and re-adds its remotes. */
  async restart(ref: ReactorRef): Promise<void> {
    const node = this.#node(ref);
    if (node.reactor !== undefined) throw new SimulationError(`${node.name} is running; crash it first`);
    await this.#open(node);
  }

  /** Lets `ms` of simulated time pass, firing timers (pulls, retries, network delays) in order. */
  async advance(ms: number): Promise<void> {
    await advanceTo(this.clock, this.clock.now() + ms);
  }

  /**
   * Runs until every write has settled, every queue is drained and every remote is caught up with
   * its peer, or fails loudly after `quiesceLimitMs` of simulated time.
   */
  async quiesce(): Promise<void> {
    const down = this.#nodes.filter((node) => node.reactor === undefined).map((node) => node.name);
    if (down.length > 0) throw new SimulationError(`quiesce: ${down.join(', ')} crashed; restart before quiescing`);
    const deadline = this.clock.now() + this.#quiesceLimitMs;
    for (;;) {
      await runUntilBlocked();
      const waiting = this.#unsettled();
      if (waiting.length === 0) return;
      if (this.clock.now() >= deadline) {
        throw new SimulationError(
          `quiesce: not settled after ${this.#quiesceLimitMs} ms of simulated time: ${waiting.slice(0, 6).join('; ')}`,
        );
      }
      await advanceTo(this.clock, Math.min(deadline, this.clock.now() + 50));
    }
  }

  /** Checks the invariants; an empty list means all hold. */
  async check(options: { expectedDeadLetters?: number } = {}): Promise<InvariantViolation[]> {
    const reactors = this.#nodes.map((node) => ({ name: node.name, reactor: this.reactor(node.index) }));
    return checkInvariants(reactors, options);
  }

  /** Checks the invariants and throws a SimulationError listing every violation, if any. */
  async assertInvariants(options: { expectedDeadLetters?: number } = {}): Promise<void> {
    const violations = await this.check(options);
    if (violations.length > 0) {
      const lines = violations.map((violation) => `  ${violation.invariant}: ${violation.message}`);
      throw new SimulationError(`${violations.length} invariant violation(s):\n${lines.join('\n')}`);
    }
  }

  /** Figures of the run so far. */
  async summary(): Promise<SimulationSummary> {
    const running = this.#nodes.filter((node) => node.reactor !== undefined);
    const ids = new Set<string>();
    // Keyed by document ids, which may be any string: no prototype.
    const states = emptyRecord<string>();
    let deadLetters = 0;
    for (const node of running) {
      const reactor = node.reactor as Reactor;
      for (const doc of reactor.documents.list({ includeDeleted: true })) {
        states[doc.id] ??= doc.hash;
        for (const scope of ['document', 'global'] as const) {
          for (const op of await reactor.operations(doc.id, { scope })) ids.add(op.id);
        }
      }
      deadLetters += (await reactor.sync.deadLetters()).length;
    }
    const delays = [...this.#arrivals].sort((a, b) => a - b);
    return {
      seed: this.seed,
      reactors: this.#nodes.length,
      topology: this.topology,
      mode: this.mode,
      writes: { attempted: this.#attempted, committed: this.#committed, failed: this.#failed },
      operations: ids.size,
      simulatedMs: this.clock.now() - EPOCH,
      retries: this.#nodes.reduce(
        (sum, node) => sum + node.retriesBefore + (node.reactor === undefined ? 0 : this.#retriesOf(node.reactor)),
        0,
      ),
      deadLetters,
      propagation: { p50: percentile(delays, 50), p99: percentile(delays, 99), samples: delays.length },
      network: { ...this.network.stats },
      crashes: this.#crashes,
      traceEvents: this.#recorder?.lines ?? 0,
      digest: this.#recorder?.digest(),
      states: Object.fromEntries(Object.entries(states).sort(([a], [b]) => (a < b ? -1 : 1))),
    };
  }

  /** A digest of the final states (and of the trace, when recording): equal runs give equal digests. */
  async digest(): Promise<string> {
    const summary = await this.summary();
    return hashString(JSON.stringify([summary.states, summary.operations, summary.digest ?? '']));
  }

  /** Write failures so far (reason per failed write, first 20). */
  get failures(): readonly string[] {
    return this.#failures;
  }

  /** Stops every reactor and closes the trace. */
  async stop(): Promise<void> {
    for (const node of this.#nodes) {
      const reactor = node.reactor;
      node.reactor = undefined;
      node.unsubscribe();
      if (reactor !== undefined) await reactor.stop({ drain: false });
    }
    await this.#recorder?.close();
  }

  #node(ref: ReactorRef): SimNode {
    const node = typeof ref === 'number' ? this.#nodes[ref] : this.#nodes.find((n) => n.name === ref);
    if (node === undefined) {
      throw new SimulationError(`no reactor ${JSON.stringify(ref)}; this simulation has ${this.names.join(', ')}`);
    }
    return node;
  }

  #retriesOf(reactor: Reactor): number {
    return reactor.sync.list().reduce((sum, status) => sum + status.retries, 0);
  }

  async #track(promise: Promise<unknown>): Promise<void> {
    this.#attempted += 1;
    this.#pendingWrites += 1;
    try {
      await promise;
      this.#committed += 1;
    } catch (error) {
      this.#failed += 1;
      if (this.#failures.length < 20) this.#failures.push(error instanceof Error ? error.message : String(error));
    } finally {
      this.#pendingWrites -= 1;
    }
  }

  async #open(node: SimNode): Promise<void> {
    node.incarnation += 1;
    const random = seededRandom(
      Number.parseInt(hashString(`${this.seed}:${node.name}:${node.incarnation}`).slice(0, 8), 16),
    );
    const reactor = await createReactor({
      models: this.#models,
      id: node.name,
      storage: node.storage,
      clock: this.clock,
      random,
      retry: { baseMs: 20, maxMs: 1000 },
      ...(this.#recorder === undefined
        ? {}
        : { inspect: this.#recorder.inspector(node.name, () => this.clock.now() - EPOCH) }),
    });
    node.reactor = reactor;
    const pokes = reactor.endpoint.pokes.subscribe((poke) => node.pokes.next(poke));
    const seen = this.#seenAt.get(node.name) ?? new Set<string>();
    this.#seenAt.set(node.name, seen);
    const written = reactor.events$.subscribe((event) => {
      if (event.type !== 'operations.written') return;
      const now = this.clock.now();
      for (const op of event.operations) {
        if (seen.has(op.id)) continue;
        seen.add(op.id);
        if (op.origin === node.name) this.#writtenAt.set(op.id, now);
        else {
          const at = this.#writtenAt.get(op.id);
          if (at !== undefined) this.#arrivals.push(now - at);
        }
      }
    });
    node.unsubscribe = () => {
      pokes.unsubscribe();
      written.unsubscribe();
    };
    for (const edge of this.edges.filter((e) => e.from === node.index)) {
      const target = this.#nodes[edge.to] as SimNode;
      await reactor.sync.add({
        name: target.name,
        channel: connect(node.reachable, target.reachable, { network: this.network }),
        mode: this.mode,
        pullIntervalMs: this.#pullIntervalMs,
      });
    }
  }

  /** What still keeps the simulation from being quiescent (empty when it is). */
  #unsettled(): string[] {
    const waiting: string[] = [];
    if (this.#pendingWrites > 0) waiting.push(`${this.#pendingWrites} write(s) not yet settled`);
    for (const node of this.#nodes) {
      const reactor = node.reactor as Reactor;
      const status = reactor.status();
      if (!status.idle)
        waiting.push(`${node.name}: ${status.jobs.waiting} job(s) waiting, ${status.jobs.running} running`);
    }
    for (const edge of this.edges) {
      const from = this.#nodes[edge.from] as SimNode;
      const to = this.#nodes[edge.to] as SimNode;
      const status = (from.reactor as Reactor).sync.status(to.name);
      if (status === undefined) continue;
      const pushes = this.mode !== 'pull';
      const pulls = this.mode !== 'push';
      const serverOrdinal = (to.reactor as Reactor).status().ordinal;
      // Settled means caught up, not idle: pull links keep polling, and a link backing off or
      // offline with nothing left to move needs nothing more.
      if (status.phase === 'stopped') {
        waiting.push(`${from.name}→${to.name}: stopped (${status.lastError?.message ?? 'unknown error'})`);
      } else if (pushes && (status.pending > 0 || status.push === 'sending' || status.push === 'debouncing')) {
        waiting.push(`${from.name}→${to.name}: ${status.pending} op(s) to push (push ${status.push})`);
      } else if (pulls && status.pulledCursor < serverOrdinal) {
        waiting.push(
          `${from.name}→${to.name}: pulled to ${status.pulledCursor} of ${serverOrdinal} (pull ${status.pull})`,
        );
      }
    }
    return waiting;
  }
}

/** Creates and starts a simulation. */
export async function createSimulation(options: SimulationOptions = {}): Promise<Simulation> {
  const simulation = new Simulation(options);
  await simulation.start();
  return simulation;
}
