/**
 * Sync workloads between reactors on fake-indexeddb in Node, over the in-memory channel
 * (`connect(a, b)`, default network: no injected latency). Run with `npm run bench:sync`.
 *
 * 1. B3 propagation: push mode, one op at a time after a warm-up; time from `a.mutate` resolving
 *    to b's document view showing the op, with `debounceMs: 0` and with the default debounce.
 * 2. Sync throughput: 10,000 un-awaited mutations on a over 10 documents; time from the first write
 *    until b has stored all of them, per mode and batch size, against the same burst on a reactor
 *    with no remotes measured in the same round.
 * 3. Rebase: a stream of 10,000 ops, then one late op (via `load()`) that sorts before some of
 *    them; time until the view shows the new state.
 * 4. B5a initial sync: a fresh reactor pulls 100,000 ops over 100 documents from a reactor that
 *    holds them; the state hash of every document must match. Runs last: a run that exceeds its
 *    time cap is reported as incomplete and left behind, and the process exits after the report.
 *
 * Scenarios of a section run up to `SYNC_ROUNDS` times (default 3; rebase `SYNC_REBASE_ROUNDS`,
 * default 5), interleaved, each on fresh `IDBFactory`s; the throughput section stops adding rounds
 * once it has used its time budget.
 * Rates and times are medians over rounds; latency percentiles pool every round.
 * `SYNC_SECTIONS=b3,throughput,rebase,b5a` picks sections (e.g. to profile one).
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import {
  CREATE_DOCUMENT,
  connect,
  createReactor,
  defineDocumentModel,
  encodeHlc,
  type OperationContent,
  type OperationEnvelope,
  operationId,
  type Reactor,
  type SyncMode,
} from '../src/index.js';
import {
  type Column,
  collectGarbage,
  envInteger,
  formatNumber,
  formatPercent,
  formatTable,
  mean,
  median,
  now,
  opsPerSecond,
  percentile,
  progress,
  settleAll,
  verdict,
  withTimeout,
} from './lib.js';

const ROUNDS = envInteger('SYNC_ROUNDS', 3);
const PROPAGATION_OPS = envInteger('SYNC_B3_OPS', 300);
const PROPAGATION_WARM_UP = 50;
const THROUGHPUT_OPS = envInteger('SYNC_THROUGHPUT_OPS', 10_000);
const THROUGHPUT_DOCS = 10;
const WARM_UP_OPS = 500;
/** `batchSize` of every remote (push batches and pull pages): the default and a larger one. */
const BATCH_SIZES = [500, 2000] as const;
/**
 * Pull page size for B5a. 2,000 was faster than 500 in every throughput mode (before and after the
 * dedupe fix suggested in the report) and than 5,000 (the endpoint's maximum page) for B5a itself.
 */
const INITIAL_BATCH = envInteger('SYNC_B5A_BATCH', 2000);
const INITIAL_OPS = envInteger('SYNC_B5A_OPS', 100_000);
const INITIAL_DOCS = 100;
const PREFILL_CHUNK = 10_000;
const REBASE_LOG = envInteger('SYNC_REBASE_LOG', 10_000);
/** Rebase rounds are cheap (~1 s) and one is easily hit by a collection or a neighbour: take more. */
const REBASE_ROUNDS = envInteger('SYNC_REBASE_ROUNDS', Math.max(ROUNDS, 5));
/** The reactor's default `keyframeInterval`; the rebase reactors use the default. */
const DEFAULT_KEYFRAME_INTERVAL = 500;
/** A scenario that makes no progress for this long fails instead of hanging the run. */
const STALL_MS = 120_000;
/** The throughput section starts no new round after this long (a slow build runs one round). */
const THROUGHPUT_BUDGET_MS = envInteger('SYNC_THROUGHPUT_BUDGET_S', 60) * 1000;
/** A B5a run still pulling after this long is cut off and reported as incomplete. */
const INITIAL_CAP_MS = envInteger('SYNC_B5A_CAP_S', 30) * 1000;

const PROPAGATION_TARGET_MS = 5;
const THROUGHPUT_TARGET = 0.5;
const INITIAL_TARGET = 20_000;
const REBASE_TARGET_MS = 100;

/** Wall time of the hand-made ops: in the past, so received clocks never run ahead of now. */
const BASE_WALL = 1_700_000_000_000;
const ORIGIN = 'writer';

const counter = defineDocumentModel({
  type: 'counter',
  initialState: () => ({ count: 0 }),
  reducers: { INCREMENT: (s: { count: number }, input: { by: number }) => ({ count: s.count + input.by }) },
});

const INCREMENT = [{ type: 'INCREMENT', input: { by: 1 } }] as const;

let databases = 0;
function freshStorage(label: string) {
  databases += 1;
  return { dbName: `sync-${databases}-${label}`, indexedDB: new IDBFactory(), IDBKeyRange };
}

function openReactor(id: string): Promise<Reactor> {
  return createReactor({ id, models: [counter], storage: freshStorage(id) });
}

const countOf = (reactor: Reactor, documentId: string) =>
  (reactor.documents.get(documentId)?.state as { count: number } | undefined)?.count;

/** Waits until every remote of both reactors has nothing left to push or pull, and both are idle. */
async function settleBoth(a: Reactor, b: Reactor): Promise<void> {
  await a.sync.settled({ timeoutMs: STALL_MS });
  await b.sync.settled({ timeoutMs: STALL_MS });
  await a.whenIdle();
  await b.whenIdle();
}

/** Same revision and state hash of every document on both reactors; throws otherwise. */
function expectConverged(a: Reactor, b: Reactor, ids: readonly string[], revision?: number): void {
  for (const id of ids) {
    const left = a.documents.get(id);
    const right = b.documents.get(id);
    if (left === undefined || right === undefined || left.hash !== right.hash || left.revision !== right.revision) {
      throw new Error(
        `${id}: ${a.id} has revision ${left?.revision} hash ${left?.hash}, ${b.id} has revision ${right?.revision} hash ${right?.hash}`,
      );
    }
    if (revision !== undefined && left.revision !== revision) {
      throw new Error(`${id}: expected revision ${revision}, got ${left.revision}`);
    }
  }
}

/**
 * Counts the ops `reactor` stores (from `operations.written` on its bus) of `scope`, or of every
 * scope; `reached` resolves with the time the count first hits `target`.
 */
function countStored(reactor: Reactor, target: number, scope?: 'global') {
  let count = 0;
  let resolve: (at: number) => void = () => {};
  const reached = new Promise<number>((r) => {
    resolve = r;
  });
  const subscription = reactor.events$.subscribe((event) => {
    if (event.type !== 'operations.written') return;
    for (const op of event.operations) if (scope === undefined || op.scope === scope) count += 1;
    if (count >= target) resolve(now());
  });
  return { reached, count: () => count, stop: () => subscription.unsubscribe() };
}

/** A line describing where sync stands, for a stall message. */
function syncState(reactor: Reactor): string {
  const remotes = reactor.sync.list().map((s) => `${s.name}: ${s.phase} push=${s.push} pull=${s.pull}`);
  return `${reactor.id} [${remotes.join('; ')}]`;
}

/** Submits `count` mutations round-robin over `ids` without awaiting each. */
function submitBurst(reactor: Reactor, count: number, ids: readonly string[]): Promise<unknown>[] {
  const promises: Promise<unknown>[] = new Array(count);
  for (let i = 0; i < count; i++) promises[i] = reactor.mutate(ids[i % ids.length] as string, INCREMENT);
  return promises;
}

// ─── B3 propagation ──────────────────────────────────────────────────────────────────────────────

/** Latencies of one round: from `a.mutate` resolving, and from calling it, to b's view. */
interface PropagationSample {
  readonly fromResolve: number[];
  readonly fromSubmit: number[];
  /** Ops b's view showed before `a.mutate` had resolved (counted as 0 ms from resolve). */
  readonly early: number;
}

async function propagationRound(debounceMs: number | undefined): Promise<PropagationSample> {
  const a = await openReactor('a');
  const b = await openReactor('b');
  await a.sync.add({
    name: 'b',
    channel: connect(a, b),
    mode: 'push',
    ...(debounceMs === undefined ? {} : { debounceMs }),
  });
  await a.createDocument('counter', { id: 'doc' });
  await settleBoth(a, b);

  const arrivedAt = new Map<string, number>();
  const events = b.events$.subscribe((event) => {
    if (event.type !== 'operations.written') return;
    const at = now();
    for (const op of event.operations) arrivedAt.set(op.id, at);
  });
  const visibleAt = new Map<number, number>();
  let waiter: { revision: number; resolve: (at: number) => void } | undefined;
  const view = b.documents.observe('doc').subscribe((snapshot) => {
    const at = now();
    if (!visibleAt.has(snapshot.revision)) visibleAt.set(snapshot.revision, at);
    if (waiter !== undefined && snapshot.revision >= waiter.revision) {
      const { resolve } = waiter;
      waiter = undefined;
      resolve(at);
    }
  });
  const visible = (revision: number): Promise<number> => {
    const seen = visibleAt.get(revision);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<number>((resolve) => {
      waiter = { revision, resolve };
    });
  };

  const fromResolve: number[] = [];
  const fromSubmit: number[] = [];
  let early = 0;
  collectGarbage();
  for (let i = 1; i <= PROPAGATION_WARM_UP + PROPAGATION_OPS; i++) {
    const submitted = now();
    const { operations } = await a.mutate('doc', INCREMENT);
    const resolved = now();
    const at = await withTimeout(visible(i), STALL_MS, () => `op ${i} never reached b: ${syncState(a)}`);
    const id = operations[0]?.id as string;
    if (!arrivedAt.has(id) || b.documents.get('doc')?.revision !== i || countOf(b, 'doc') !== i) {
      throw new Error(`op ${id}: b's view shows revision ${b.documents.get('doc')?.revision}, expected ${i}`);
    }
    if (i > PROPAGATION_WARM_UP) {
      if (at < resolved) early += 1;
      fromResolve.push(Math.max(0, at - resolved));
      fromSubmit.push(at - submitted);
    }
    // One op at a time: the push acknowledgement (a cursor write on a) finishes before the next op.
    await a.sync.settled({ timeoutMs: STALL_MS });
  }
  events.unsubscribe();
  view.unsubscribe();
  await a.stop();
  await b.stop();
  return { fromResolve, fromSubmit, early };
}

interface PropagationRow {
  readonly scenario: string;
  readonly ops: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
  readonly submitP50: number;
  readonly early: number;
  readonly target?: string;
  readonly met?: boolean;
}

function propagationRow(scenario: string, samples: readonly PropagationSample[], targeted: boolean): PropagationRow {
  const fromResolve = samples.flatMap((s) => s.fromResolve);
  const p50 = percentile(fromResolve, 50);
  return {
    scenario,
    ops: fromResolve.length,
    p50,
    p99: percentile(fromResolve, 99),
    mean: mean(fromResolve),
    max: Math.max(...fromResolve),
    submitP50: percentile(
      samples.flatMap((s) => s.fromSubmit),
      50,
    ),
    early: samples.reduce((sum, s) => sum + s.early, 0),
    ...(targeted
      ? { target: `p50 < ${PROPAGATION_TARGET_MS} ms`, met: p50 < PROPAGATION_TARGET_MS }
      : { target: '(reference)' }),
  };
}

const propagationColumns: readonly Column<PropagationRow>[] = [
  { header: 'scenario', cell: (row) => row.scenario },
  { header: 'ops', cell: (row) => formatNumber(row.ops), align: 'right' },
  { header: 'p50 ms', cell: (row) => formatNumber(row.p50, 2), align: 'right' },
  { header: 'p99 ms', cell: (row) => formatNumber(row.p99, 2), align: 'right' },
  { header: 'mean ms', cell: (row) => formatNumber(row.mean, 2), align: 'right' },
  { header: 'max ms', cell: (row) => formatNumber(row.max, 2), align: 'right' },
  { header: 'p50 from call', cell: (row) => formatNumber(row.submitP50, 2), align: 'right' },
  { header: 'seen early', cell: (row) => formatNumber(row.early), align: 'right' },
  { header: 'target', cell: (row) => row.target ?? '' },
  { header: 'result', cell: (row) => verdict(row.met) },
];

async function propagation(): Promise<PropagationRow[]> {
  const zero: PropagationSample[] = [];
  const standard: PropagationSample[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [label, debounceMs, into] of [
      ['debounceMs 0', 0, zero],
      ['default debounce', undefined, standard],
    ] as const) {
      progress(`B3 round ${round}/${ROUNDS}: push, ${label}`);
      const sample = await propagationRound(debounceMs);
      into.push(sample);
      progress(
        `B3 round ${round}/${ROUNDS}: push, ${label}: p50 ${formatNumber(percentile(sample.fromResolve, 50), 2)} ms`,
      );
    }
  }
  return [
    propagationRow('B3 push, debounceMs: 0', zero, true),
    propagationRow('B3 push, default debounceMs (5)', standard, false),
  ];
}

// ─── Sync throughput ─────────────────────────────────────────────────────────────────────────────

type ThroughputMode = 'local' | SyncMode;

/** Wires `a` and `b` for `mode`: a pushes to b, b pulls from a, or a ping-pongs with b. */
async function wire(a: Reactor, b: Reactor, mode: SyncMode, batchSize: number): Promise<void> {
  if (mode === 'pull') {
    await b.sync.add({ name: a.id, channel: connect(b, a), mode: 'pull', pullIntervalMs: 10, batchSize });
  } else {
    await a.sync.add({ name: b.id, channel: connect(a, b), mode, batchSize });
  }
}

/** One timed burst: ms from the first write until every op is on b (or, locally, every call resolved). */
async function throughputRound(mode: ThroughputMode, batchSize: number): Promise<number> {
  const a = await openReactor('a');
  const b = mode === 'local' ? undefined : await openReactor('b');
  if (b !== undefined) await wire(a, b, mode as SyncMode, batchSize);
  const ids = Array.from({ length: THROUGHPUT_DOCS }, (_, i) => `doc-${i}`);
  await Promise.all(ids.map((id) => a.createDocument('counter', { id })));
  await settleAll(submitBurst(a, WARM_UP_OPS, ids));
  if (b !== undefined) await settleBoth(a, b);

  const stored = b === undefined ? undefined : countStored(b, THROUGHPUT_OPS, 'global');
  collectGarbage();
  const start = now();
  const promises = submitBurst(a, THROUGHPUT_OPS, ids);
  const written = settleAll(promises);
  let end: number;
  if (stored === undefined) {
    await written;
    end = now();
  } else {
    end = await withTimeout(
      stored.reached,
      STALL_MS,
      () => `b has ${stored.count()}/${THROUGHPUT_OPS} ops: ${syncState(a)} ${syncState(b as Reactor)}`,
    );
    stored.stop();
    await written;
  }
  const ms = end - start;

  const perDocument = (WARM_UP_OPS + THROUGHPUT_OPS) / THROUGHPUT_DOCS;
  for (const id of ids) {
    if (countOf(a, id) !== perDocument) throw new Error(`${id} on a: count ${countOf(a, id)}, expected ${perDocument}`);
  }
  if (b !== undefined) {
    await settleBoth(a, b);
    expectConverged(a, b, ids, perDocument);
    await b.stop();
  }
  await a.stop();
  return ms;
}

interface ThroughputRow {
  readonly scenario: string;
  readonly mode: ThroughputMode;
  readonly batchSize?: number;
  readonly rounds: number;
  readonly opsPerSec: number;
  readonly range: readonly [number, number];
  readonly ratio?: number;
  readonly met?: boolean;
}

const throughputColumns: readonly Column<ThroughputRow>[] = [
  { header: 'scenario', cell: (row) => row.scenario },
  { header: 'batchSize', cell: (row) => formatNumber(row.batchSize), align: 'right' },
  { header: 'ops', cell: () => formatNumber(THROUGHPUT_OPS), align: 'right' },
  { header: 'rounds', cell: (row) => formatNumber(row.rounds), align: 'right' },
  { header: 'ops/s (median)', cell: (row) => formatNumber(row.opsPerSec), align: 'right' },
  {
    header: 'ops/s min–max',
    cell: (row) => `${formatNumber(row.range[0])}–${formatNumber(row.range[1])}`,
    align: 'right',
  },
  {
    header: 'ratio to local',
    cell: (row) => (row.ratio === undefined ? '' : formatPercent(row.ratio)),
    align: 'right',
  },
  {
    header: 'target',
    cell: (row) => (row.ratio === undefined ? '' : `≥ ${formatPercent(THROUGHPUT_TARGET, 0)} of local`),
  },
  { header: 'result', cell: (row) => verdict(row.met) },
];

const SYNC_MODES_TIMED: readonly SyncMode[] = ['push', 'pull', 'ping-pong'];

async function throughput(): Promise<ThroughputRow[]> {
  const scenarios: { mode: ThroughputMode; batchSize: number; ms: number[] }[] = [
    { mode: 'local', batchSize: 0, ms: [] },
    ...SYNC_MODES_TIMED.flatMap((mode) => BATCH_SIZES.map((batchSize) => ({ mode, batchSize, ms: [] as number[] }))),
  ];
  // Untimed: the first burst of a process runs on cold code and would skew the local baseline.
  progress('throughput: warm-up (local burst, untimed)');
  await throughputRound('local', 0);
  const started = now();
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1 && now() - started > THROUGHPUT_BUDGET_MS) {
      progress(`throughput: time budget used after ${round - 1} round(s); no more rounds`);
      break;
    }
    for (const scenario of scenarios) {
      const label =
        scenario.mode === 'local' ? 'local (no remotes)' : `${scenario.mode}, batchSize ${scenario.batchSize}`;
      progress(`throughput round ${round}/${ROUNDS}: ${label}`);
      const ms = await throughputRound(scenario.mode, scenario.batchSize);
      scenario.ms.push(ms);
      progress(
        `throughput round ${round}/${ROUNDS}: ${label}: ${formatNumber(opsPerSecond(THROUGHPUT_OPS, ms))} ops/s`,
      );
    }
  }
  const rowOf = (scenario: (typeof scenarios)[number]) => {
    const rates = scenario.ms.map((ms) => opsPerSecond(THROUGHPUT_OPS, ms));
    return {
      rounds: rates.length,
      opsPerSec: median(rates),
      range: [Math.min(...rates), Math.max(...rates)] as const,
    };
  };
  const [local, ...synced] = scenarios;
  if (local === undefined) throw new Error('no local baseline');
  const localRow: ThroughputRow = { scenario: 'local burst, no remotes (baseline)', mode: 'local', ...rowOf(local) };
  return [
    localRow,
    ...synced.map((scenario): ThroughputRow => {
      const row = rowOf(scenario);
      const ratio = row.opsPerSec / localRow.opsPerSec;
      const how =
        scenario.mode === 'push'
          ? 'a pushes to b'
          : scenario.mode === 'pull'
            ? 'b pulls from a'
            : 'a ping-pongs with b';
      return {
        scenario: `${scenario.mode} (${how})`,
        mode: scenario.mode,
        batchSize: scenario.batchSize,
        ...row,
        ratio,
        met: ratio >= THROUGHPUT_TARGET,
      };
    }),
  ];
}

// ─── Rebase ──────────────────────────────────────────────────────────────────────────────────────

/** Ops made elsewhere, with timestamps we choose: `wall` decides where they sort. */
function envelope(documentId: string, wall: number, input: unknown): OperationEnvelope {
  return withId({
    documentId,
    scope: 'global',
    branch: 'main',
    type: 'INCREMENT',
    input,
    timestamp: encodeHlc({ wall, logical: 0 }, ORIGIN),
    origin: ORIGIN,
  });
}

/** An op with the id its content derives. */
const withId = (content: OperationContent): OperationEnvelope => ({ id: operationId(content), ...content });

function createEnvelope(documentId: string): OperationEnvelope {
  return withId({
    documentId,
    scope: 'document',
    branch: 'main',
    type: CREATE_DOCUMENT,
    input: { model: 'counter' },
    timestamp: encodeHlc({ wall: BASE_WALL, logical: 0 }, ORIGIN),
    origin: ORIGIN,
  });
}

/** Where the late op lands: before op `before` (0-based) of the 10,000 already applied. */
interface RebaseCase {
  readonly label: string;
  readonly before: number;
  readonly targeted: boolean;
}

interface RebaseSample {
  /** From calling `load` to the view showing the new state. */
  readonly viewMs: number;
  /** From calling `load` to the `document.rebased` event. */
  readonly eventMs: number;
  /** From calling `load` to its promise resolving. */
  readonly loadMs: number;
  readonly replayed: number;
}

const LATE_BY = 1_000_000;
/** Op `i` of the rebase stream sits at `BASE_WALL + WALL_STEP * (i + 1)`; a late op goes in a gap. */
const WALL_STEP = 10;

async function rebaseRound(before: number): Promise<RebaseSample> {
  const reactor = await openReactor('r');
  await reactor.load([createEnvelope('doc')]);
  const log = Array.from({ length: REBASE_LOG }, (_, i) => envelope('doc', BASE_WALL + WALL_STEP * (i + 1), { by: 1 }));
  await reactor.load(log);
  await reactor.whenIdle();
  if (reactor.documents.get('doc')?.revision !== REBASE_LOG) throw new Error('rebase stream not loaded');

  const expected = REBASE_LOG + LATE_BY;
  let rebased: { at: number; replayed: number } | undefined;
  const events = reactor.events$.subscribe((event) => {
    if (event.type === 'document.rebased' && rebased === undefined) rebased = { at: now(), replayed: event.replayed };
  });
  let resolveView: (at: number) => void = () => {};
  const shown = new Promise<number>((resolve) => {
    resolveView = resolve;
  });
  const view = reactor.documents.observe('doc').subscribe((snapshot) => {
    const state = snapshot.state as { count: number };
    if (state.count === expected && snapshot.revision === REBASE_LOG + 1) resolveView(now());
  });
  const late = envelope('doc', BASE_WALL + WALL_STEP * (before + 1) - WALL_STEP / 2, { by: LATE_BY });

  collectGarbage();
  const start = now();
  const loading = reactor.load([late]);
  const viewAt = await withTimeout(shown, STALL_MS, () => 'the late op never showed in the view');
  await loading;
  const loadAt = now();
  events.unsubscribe();
  view.unsubscribe();
  if (rebased === undefined) throw new Error(`late op before op ${before}: no document.rebased event`);
  await reactor.stop();
  return { viewMs: viewAt - start, eventMs: rebased.at - start, loadMs: loadAt - start, replayed: rebased.replayed };
}

interface RebaseRow {
  readonly scenario: string;
  readonly replayed: number;
  readonly viewMs: number;
  readonly range: readonly [number, number];
  readonly eventMs: number;
  readonly loadMs: number;
  readonly met?: boolean;
}

const rebaseColumns: readonly Column<RebaseRow>[] = [
  { header: 'scenario', cell: (row) => row.scenario },
  { header: 'replayed', cell: (row) => formatNumber(row.replayed), align: 'right' },
  { header: 'to view ms (median)', cell: (row) => formatNumber(row.viewMs, 1), align: 'right' },
  {
    header: 'min–max',
    cell: (row) => `${formatNumber(row.range[0], 1)}–${formatNumber(row.range[1], 1)}`,
    align: 'right',
  },
  { header: 'to rebased event', cell: (row) => formatNumber(row.eventMs, 1), align: 'right' },
  { header: 'to load() resolved', cell: (row) => formatNumber(row.loadMs, 1), align: 'right' },
  { header: 'target', cell: (row) => (row.met === undefined ? '(reference)' : `< ${REBASE_TARGET_MS} ms`) },
  { header: 'result', cell: (row) => verdict(row.met) },
];

async function rebase(): Promise<RebaseRow[]> {
  const tail = Math.floor((REBASE_LOG - 1) / DEFAULT_KEYFRAME_INTERVAL) * DEFAULT_KEYFRAME_INTERVAL + 10;
  const cases: RebaseCase[] = [
    {
      label: `before all ${formatNumber(REBASE_LOG)} (worst case: before the first keyframe)`,
      before: 0,
      targeted: true,
    },
    {
      label: `before op ${formatNumber(REBASE_LOG / 2)} (mid-stream, on a keyframe)`,
      before: REBASE_LOG / 2,
      targeted: false,
    },
    { label: `before op ${formatNumber(tail)} (near the end, 10 ops past a keyframe)`, before: tail, targeted: false },
  ];
  const samples = cases.map(() => [] as RebaseSample[]);
  for (let round = 1; round <= REBASE_ROUNDS; round++) {
    for (const [i, rebaseCase] of cases.entries()) {
      progress(`rebase round ${round}/${REBASE_ROUNDS}: late op ${rebaseCase.label}`);
      const sample = await rebaseRound(rebaseCase.before);
      samples[i]?.push(sample);
      progress(
        `rebase round ${round}/${REBASE_ROUNDS}: ${formatNumber(sample.viewMs, 1)} ms, ${sample.replayed} replayed`,
      );
    }
  }
  return cases.map((rebaseCase, i): RebaseRow => {
    const runs = samples[i] ?? [];
    const views = runs.map((s) => s.viewMs);
    const viewMs = median(views);
    return {
      scenario: `late op ${rebaseCase.label}`,
      replayed: median(runs.map((s) => s.replayed)),
      viewMs,
      range: [Math.min(...views), Math.max(...views)],
      eventMs: median(runs.map((s) => s.eventMs)),
      loadMs: median(runs.map((s) => s.loadMs)),
      ...(rebaseCase.targeted ? { met: viewMs < REBASE_TARGET_MS } : {}),
    };
  });
}

// ─── B5a initial sync ────────────────────────────────────────────────────────────────────────────

/**
 * A reactor holding `INITIAL_OPS` ops round-robin over `ids`, written as un-awaited mutation
 * bursts. Not `load()`: every load deduplicates by id through the `id` index, which costs
 * O(ids × stored) on fake-indexeddb (see the report), so a bulk load of 100,000 ops would not end.
 */
async function prefilledSource(ids: readonly string[]): Promise<Reactor> {
  const source = await openReactor('source');
  await Promise.all(ids.map((id) => source.createDocument('counter', { id })));
  const started = now();
  for (let done = 0; done < INITIAL_OPS; done += PREFILL_CHUNK) {
    const chunk = Math.min(PREFILL_CHUNK, INITIAL_OPS - done);
    await settleAll(submitBurst(source, chunk, ids));
    const seconds = ((now() - started) / 1000).toFixed(1);
    progress(`  B5a prefill ${formatNumber(done + chunk)}/${formatNumber(INITIAL_OPS)} ops (${seconds} s)`);
  }
  await source.whenIdle();
  return source;
}

interface InitialSample {
  readonly ms: number;
  readonly stored: number;
  readonly total: number;
  /** False when the run was cut off at `INITIAL_CAP_MS` (left running; the process exits later). */
  readonly complete: boolean;
}

/** A fresh reactor pulls everything from `source`; ms from `sync.add` until every op is stored. */
async function initialRound(source: Reactor, ids: readonly string[], round: number): Promise<InitialSample> {
  const puller = await openReactor(`puller-${round}`);
  const total = INITIAL_OPS + ids.length;
  const stored = countStored(puller, total);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cap = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), INITIAL_CAP_MS);
  });
  collectGarbage();
  const start = now();
  await puller.sync.add({
    name: source.id,
    channel: connect(puller, source),
    mode: 'pull',
    batchSize: INITIAL_BATCH,
    pullIntervalMs: 1000,
  });
  const end = await Promise.race([stored.reached, cap]);
  clearTimeout(timer);
  stored.stop();
  if (end === undefined) return { ms: now() - start, stored: stored.count(), total, complete: false };
  await puller.sync.settled({ timeoutMs: STALL_MS });
  await puller.whenIdle();
  expectConverged(source, puller, ids, INITIAL_OPS / ids.length);
  await puller.stop();
  return { ms: end - start, stored: stored.count(), total, complete: true };
}

interface InitialRow {
  readonly scenario: string;
  readonly ops: string;
  readonly rounds: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly range: readonly [number, number];
  readonly verified: string;
  readonly met: boolean;
}

const initialColumns: readonly Column<InitialRow>[] = [
  { header: 'scenario', cell: (row) => row.scenario },
  { header: 'ops', cell: (row) => row.ops, align: 'right' },
  { header: 'rounds', cell: (row) => formatNumber(row.rounds), align: 'right' },
  { header: 'total s (median)', cell: (row) => formatNumber(row.seconds, 2), align: 'right' },
  { header: 'ops/s (median)', cell: (row) => formatNumber(row.opsPerSec), align: 'right' },
  {
    header: 'ops/s min–max',
    cell: (row) => `${formatNumber(row.range[0])}–${formatNumber(row.range[1])}`,
    align: 'right',
  },
  { header: 'state hashes', cell: (row) => row.verified },
  { header: 'target', cell: () => `≥ ${formatNumber(INITIAL_TARGET)} ops/s` },
  { header: 'result', cell: (row) => verdict(row.met) },
];

async function initialSync(): Promise<InitialRow> {
  const ids = Array.from({ length: INITIAL_DOCS }, (_, i) => `doc-${i}`);
  progress(`B5a: prefilling the source with ${formatNumber(INITIAL_OPS)} ops over ${INITIAL_DOCS} documents`);
  const source = await prefilledSource(ids);
  const samples: InitialSample[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`B5a round ${round}/${ROUNDS}: fresh reactor pulls, batchSize ${INITIAL_BATCH}`);
    const sample = await initialRound(source, ids, round);
    samples.push(sample);
    const rate = formatNumber(opsPerSecond(sample.stored, sample.ms));
    if (!sample.complete) {
      progress(
        `B5a round ${round}/${ROUNDS}: cut off after ${INITIAL_CAP_MS / 1000} s with ` +
          `${formatNumber(sample.stored)}/${formatNumber(sample.total)} ops (${rate} ops/s); no more rounds`,
      );
      break;
    }
    progress(`B5a round ${round}/${ROUNDS}: ${rate} ops/s`);
  }
  const complete = samples.filter((sample) => sample.complete);
  const counted = complete.length > 0 ? complete : samples;
  const rates = counted.map((sample) => opsPerSecond(sample.stored, sample.ms));
  const rate = median(rates);
  const cut = samples.find((sample) => !sample.complete);
  if (cut === undefined) await source.stop();
  return {
    scenario: `B5a initial pull, ${INITIAL_DOCS} documents, batchSize ${formatNumber(INITIAL_BATCH)}`,
    ops:
      cut === undefined
        ? formatNumber(samples[0]?.total)
        : `${formatNumber(cut.stored)} of ${formatNumber(cut.total)} (cut at ${INITIAL_CAP_MS / 1000} s)`,
    rounds: samples.length,
    seconds: median(counted.map((sample) => sample.ms)) / 1000,
    opsPerSec: rate,
    range: [Math.min(...rates), Math.max(...rates)],
    verified: cut === undefined ? `${ids.length}/${ids.length} match` : 'not checked (incomplete)',
    met: cut === undefined && rate >= INITIAL_TARGET,
  };
}

// ─── Report ──────────────────────────────────────────────────────────────────────────────────────

const SECTIONS = ['b3', 'throughput', 'rebase', 'b5a'] as const;
/** `SYNC_SECTIONS=b5a,rebase` runs only those sections (for profiling one of them); default all. */
function sectionsToRun(): ReadonlySet<string> {
  const raw = process.env.SYNC_SECTIONS;
  if (raw === undefined || raw === '') return new Set(SECTIONS);
  const wanted = raw.split(',').map((s) => s.trim());
  const unknown = wanted.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`SYNC_SECTIONS: unknown ${unknown.join(', ')}; expected ${SECTIONS.join(', ')}`);
  return new Set(wanted);
}

async function main(): Promise<void> {
  const started = now();
  const run = sectionsToRun();
  const propagationRows = run.has('b3') ? await propagation() : [];
  const throughputRows = run.has('throughput') ? await throughput() : [];
  const rebaseRows = run.has('rebase') ? await rebase() : [];
  // Last: a cut-off run keeps working in the background until the process exits.
  const initialRows = run.has('b5a') ? [await initialSync()] : [];

  console.log('');
  console.log(
    `Sync — in-memory channel (connect, default network: no latency), fake-indexeddb, Node ${process.version}, ` +
      `${ROUNDS} round(s) per scenario`,
  );
  if (propagationRows.length > 0) {
    console.log('');
    console.log(
      `B3 propagation — push, one op at a time after ${PROPAGATION_WARM_UP} warm-up ops; latency = a.mutate ` +
        "resolved → b's view shows the op (percentiles pool every round)",
    );
    console.log(formatTable(propagationColumns, propagationRows));
    console.log(
      '"p50 from call" is from calling a.mutate; "seen early" counts ops b showed before a.mutate resolved (0 ms).',
    );
  }
  if (throughputRows.length > 0) {
    console.log('');
    console.log(
      `Sync throughput — ${formatNumber(THROUGHPUT_OPS)} un-awaited mutations over ${THROUGHPUT_DOCS} documents on a; ` +
        'time from the first write until b has stored all of them (local: until every call resolved)',
    );
    console.log(formatTable(throughputColumns, throughputRows));
    const faster = SYNC_MODES_TIMED.map((mode) => {
      const rows = throughputRows.filter((row) => row.mode === mode);
      const best = rows.reduce((x, y) => (y.opsPerSec > x.opsPerSec ? y : x));
      return `${mode} ${formatNumber(best.batchSize)}`;
    });
    console.log(`Faster batchSize per mode in this run: ${faster.join(', ')}.`);
  }
  if (rebaseRows.length > 0) {
    console.log('');
    console.log(
      `Rebase — one stream of ${formatNumber(REBASE_LOG)} ops, keyframeInterval ${DEFAULT_KEYFRAME_INTERVAL} ` +
        `(default); one late op via load(); time from calling load; ${REBASE_ROUNDS} rounds`,
    );
    console.log(formatTable(rebaseColumns, rebaseRows));
  }

  if (initialRows.length > 0) {
    console.log('');
    console.log('B5a initial sync — a fresh reactor pulls everything from a reactor that holds it (prefill untimed)');
    console.log(formatTable(initialColumns, initialRows));
  }
  const verdicts = [
    ...propagationRows.map((row) => row.met),
    ...throughputRows.map((row) => row.met),
    ...initialRows.map((row) => row.met),
    ...rebaseRows.map((row) => row.met),
  ];
  const missed = verdicts.filter((met) => met === false).length;
  console.log('');
  console.log(
    `${missed === 0 ? 'All targets met' : `${missed} target(s) not met`}. ` +
      `Total sync bench time ${((now() - started) / 1000).toFixed(1)} s.`,
  );
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  // A B5a run cut off at its cap is still working; the report is out, so stop here.
  .finally(() => process.exit());
