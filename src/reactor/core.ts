import { createActor } from 'xstate';
import { DocumentProjector } from '../actors/documentProjector.js';
import { createEndpoint } from '../actors/endpoint.js';
import { createEventBus } from '../actors/eventBus.js';
import { createPrepareRunLogic } from '../actors/prepareRunLogic.js';
import { RecentOperations } from '../actors/recentOperations.js';
import { createSnapshotStore, type SnapshotStore } from '../actors/snapshotStore.js';
import { createSyncLogic } from '../actors/syncLogic.js';
import { SYSTEM_IDS } from '../machines/systemIds.js';
import { classifyError } from '../model/errors.js';
import { parseStreamKey, streamKey } from '../model/order.js';
import type { WriteRow } from '../model/rows.js';
import type { Channel } from '../model/sync.js';
import type { Job, LoadJob, MutateJob, Operation, Scope } from '../model/types.js';
import { type ScanOperations, scanSince } from '../storage/syncRepository.js';
import { keyframeWriter, viewReaders } from './backEdges.js';
import { boot } from './boot.js';
import { createDocumentsApi } from './documentsApi.js';
import { JobSubmitter, type JobSuccess } from './jobSubmitter.js';
import { createLifecycle, createPhase } from './lifecycle.js';
import type { ResolvedOptions } from './options.js';
import { createReplies } from './replies.js';
import { createSyncApi, MAX_BATCH } from './syncApi.js';
import { systemRef } from './system.js';
import type { Reactor } from './types.js';
import { wireReactorMachine } from './wiring.js';

/** A job another tab made: its id is the write id that makes a retry idempotent. */
export type ForwardedJob = Omit<MutateJob, 'seq' | 'record'> | Omit<LoadJob, 'seq' | 'record'>;

/** What a core is opened with besides the options: how it shares a database with other tabs. */
export interface CoreExtras {
  /** The store the view publishes snapshots to (a tab keeps one across leader changes). */
  readonly snapshots?: SnapshotStore;
  /** Claim a fencing epoch at boot and put it into every commit (a leader tab; see docs/architecture.md, Tabs). */
  readonly fenced?: boolean;
}

/** A running reactor core: the public reactor and what the tab layer needs of it. */
export interface Core {
  readonly reactor: Reactor;
  /** The fencing epoch every commit carries (`fenced` cores only). */
  readonly epoch: number | undefined;
  /** Submits a job made elsewhere (another tab) under its own id, recorded so a retry finds it. */
  submitForwarded(job: ForwardedJob): Promise<JobSuccess>;
  /** The result recorded for a forwarded write, if it committed. */
  recordedWrite(id: string): Promise<WriteRow | undefined>;
  /** The view's snapshot store. */
  readonly snapshots: SnapshotStore;
}

/**
 * Opens (or creates) a reactor core on its database (IndexedDB, or the given storage backend),
 * restores its clock, counters, pending jobs, read model and remotes, and starts its actor system:
 * the only caller of `createActor` in a reactor. Read top to bottom, it builds the flow in its
 * direction: the public API hands jobs to the queue → the executor runs reducers → the operations
 * store commits → the bus publishes → the view folds, sync pushes → a channel carries → another
 * reactor's endpoint feeds its queue. The three back-edges are named in backEdges.ts.
 */
export async function openCore(settings: ResolvedOptions, extras: CoreExtras = {}): Promise<Core> {
  const { models, clock } = settings;
  const {
    storage,
    reactorId,
    hlc,
    counters,
    pending,
    streams,
    sync: syncRows,
    epoch,
  } = await boot(settings, {
    fenced: extras.fenced === true,
  });
  const snapshots = extras.snapshots ?? createSnapshotStore();
  const phase = createPhase(reactorId);
  // The one actor system, reached by systemId once it runs (the ports below are built before it).
  const system = systemRef();
  const bus = createEventBus();

  // The view: folds what the bus publishes; rebuilt now from keyframes and the log.
  const view = new DocumentProjector({
    snapshots,
    models,
    keyframeInterval: settings.keyframeInterval,
    relay: settings.relay,
    readStream: (stream, after) => storage.readStream(stream, after),
    readKeyframes: (stream) => storage.readKeyframes(stream),
    persist: keyframeWriter(system),
    onRebased: (stream, replayed) => {
      system.send(SYSTEM_IDS.documentView, { type: 'view.rebased', stream, replayed });
      bus.emit({ type: 'document.rebased', stream, replayed });
    },
    onError: (documentId, error) => bus.emit({ type: 'view.failed', documentId, error: classifyError(error).toData() }),
  });
  await view.materialise(streams.map((row) => parseStreamKey(row.stream)));
  const { currentState, visible } = viewReaders(bus, view);

  // Into the queue: the public API and sync submit jobs; each caller's promise settles from the bus.
  const submitter = new JobSubmitter({
    bus,
    visible,
    newId: () => settings.newId(16),
    lastSeq: counters.jobSeq,
    enqueue: (jobs) => system.send(SYSTEM_IDS.queue, { type: 'queue.enqueue', jobs }),
  });
  const submitLoad = (job: Omit<LoadJob, 'kind' | 'id' | 'seq'>) =>
    submitter.submit((id, seq): LoadJob => ({ ...job, kind: 'load', id, seq }));

  // The executor: prepares each batch (reducers on the current state, HLC, content ids).
  const prepareRun = createPrepareRunLogic({
    reactorId,
    models,
    relay: settings.relay,
    hlc,
    maxClockDrift: settings.maxClockDrift,
    now: () => clock.now(),
    read: currentState,
  });

  // Out of the store, for sync: recent commits from memory, older ones from storage; writes of
  // plain async code (cursors, dead letters) go through the store and are awaited.
  const replies = createReplies(system);
  const recent = new RecentOperations(bus, counters.ordinal);
  const scan: ScanOperations = async (cursor, limit, filter, echo) =>
    recent.scan(cursor, limit, filter, echo) ?? scanSince(storage, cursor, limit, filter, echo);
  const channels = new Map<string, Channel>();
  const syncLogic = createSyncLogic({
    reactorId,
    scan,
    bus,
    channel: (name) => channels.get(name),
    submitLoad,
    commit: replies.commit,
    now: () => clock.now(),
  });

  const root = createActor(wireReactorMachine({ storage, counters, hlc, bus, view, prepareRun, syncLogic, replies }), {
    clock,
    id: SYSTEM_IDS.reactor,
    systemId: SYSTEM_IDS.reactor,
    input: {
      reactorId,
      concurrency: settings.concurrency,
      maxBatch: settings.maxBatch,
      maxGroupSize: settings.maxGroupSize,
      retry: settings.retry,
      seed: settings.seed(),
    },
    ...(settings.inspect === undefined ? {} : { inspect: settings.inspect }),
  });
  system.attach(root);
  root.start();
  if (pending.length > 0) system.send(SYSTEM_IDS.queue, { type: 'queue.restore', jobs: pending });

  // The public API around it.
  const sync = createSyncApi({
    reactorId,
    syncManager: () => system.get(SYSTEM_IDS.syncManager),
    channels,
    remotes: new Map(syncRows.remotes.map((row) => [row.name, row])),
    currentOrdinal: () => counters.ordinal,
    written$: bus.on('operations.written'),
    deadLetters: syncRows.deadLetters,
    cursors: syncRows.cursors,
    deadLetters$: bus.on('deadLetters.changed'),
    commit: replies.commit,
    submitLoad,
    ensureRunning: phase.ensureRunning,
    now: () => clock.now(),
    clock,
    seed: settings.seed,
    retry: { baseMs: settings.retry.baseMs, maxMs: settings.retry.maxMs },
  });
  const endpoint = createEndpoint({
    reactorId,
    scan,
    bus,
    maxPushBatch: MAX_BATCH,
    maxPullLimit: MAX_BATCH,
    currentOrdinal: () => counters.ordinal,
    submitLoad,
    receiveLocal: settings.receiveLocal,
    ensureServing: phase.ensureServing,
  });
  const lifecycle = createLifecycle({
    reactorId,
    root,
    system,
    bus,
    view,
    submitter,
    counters,
    phase,
    storage,
    closeSync: () => sync.closeAll(),
    closeReplies: (error) => replies.close(error),
    recent,
  });

  /** A stream's ops in canonical order, once the view has folded everything committed (for its marks). */
  const readLog = async (documentId: string, scope: Scope, branch: string): Promise<Operation[]> => {
    await bus.idle();
    await view.settled(documentId);
    const key = streamKey({ documentId, scope, branch });
    const rows = await storage.readStream(key);
    return rows.map((row, index) => {
      const { ordinal: _ordinal, stream: _stream, source: _source, ...envelope } = row;
      const error = view.errorOf(key, row.id);
      return error === undefined ? { ...envelope, index } : { ...envelope, index, error };
    });
  };

  // Forwarded jobs restored from the job log: a retry of one waits for it instead of running it twice.
  const restored = new Map<string, Promise<JobSuccess>>();
  for (const job of pending) {
    if (job.record !== true) continue;
    const outcome = submitter.expect(job);
    // Nobody may ever ask (the tab that made it may be gone): a failure must not go unhandled.
    outcome.catch(() => {});
    restored.set(job.id, outcome);
  }

  const reactor: Reactor = {
    id: reactorId,
    system: root,
    sync,
    endpoint,
    events$: bus.events$,
    ...createDocumentsApi({
      models,
      newId: settings.newId,
      submit: (make) => submitter.submit(make),
      snapshots,
      readLog,
      ensureRunning: phase.ensureRunning,
    }),
    status: lifecycle.status,
    whenIdle: lifecycle.whenIdle,
    stop: lifecycle.stop,
  };
  return {
    reactor,
    epoch,
    snapshots,
    submitForwarded: (job) =>
      restored.get(job.id) ?? submitter.submitAs(job.id, (seq): Job => ({ ...job, seq, record: true }) as Job),
    recordedWrite: async (id) => (await storage.findWrites([id]))[0],
  };
}
