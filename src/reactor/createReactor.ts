import { createActor } from 'xstate';
import { DocumentProjector } from '../actors/documentProjector.js';
import { createEndpoint } from '../actors/endpoint.js';
import { createEventBus } from '../actors/eventBus.js';
import { createPrepareRunLogic } from '../actors/prepareRunLogic.js';
import { RecentOperations } from '../actors/recentOperations.js';
import { createSyncLogic } from '../actors/syncLogic.js';
import { SYSTEM_IDS } from '../machines/systemIds.js';
import { classifyError } from '../model/errors.js';
import { parseStreamKey } from '../model/order.js';
import type { Channel } from '../model/sync.js';
import type { LoadJob } from '../model/types.js';
import { type ScanOperations, scanSince } from '../storage/syncRepository.js';
import { keyframeWriter, viewReaders } from './backEdges.js';
import { boot } from './boot.js';
import { createDocumentsApi } from './documentsApi.js';
import { JobSubmitter } from './jobSubmitter.js';
import { createLifecycle, createPhase } from './lifecycle.js';
import { resolveOptions } from './options.js';
import { createReplies } from './replies.js';
import { createSyncApi, MAX_BATCH } from './syncApi.js';
import { systemRef } from './system.js';
import type { Reactor, ReactorOptions } from './types.js';
import { wireReactorMachine } from './wiring.js';

export type { DocumentsApi, Reactor, ReactorOptions, ReactorStatus, StopOptions } from './types.js';

/**
 * Opens (or creates) a reactor on its database (IndexedDB, or the given storage backend), restores
 * its clock, counters, pending jobs, read model and remotes, and starts its actor system: the only
 * caller of `createActor`. Read top to bottom, it builds the flow in its direction: the public API
 * hands jobs to the queue → the executor runs reducers → the operations store commits → the bus
 * publishes → the view folds, sync pushes → a channel carries → another reactor's endpoint feeds
 * its queue. The three back-edges are named in backEdges.ts.
 */
export async function createReactor(options: ReactorOptions): Promise<Reactor> {
  const settings = resolveOptions(options);
  const { models, clock } = settings;
  const { storage, reactorId, hlc, counters, pending, streams, sync: syncRows } = await boot(settings);
  const phase = createPhase(reactorId);
  // The one actor system, reached by systemId once it runs (the ports below are built before it).
  const system = systemRef();
  const bus = createEventBus();

  // The view: folds what the bus publishes; rebuilt now from keyframes and the log.
  const view = new DocumentProjector({
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
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
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

  return {
    id: reactorId,
    system: root,
    sync,
    endpoint,
    events$: bus.events$,
    ...createDocumentsApi({
      models,
      newId: settings.newId,
      submitter,
      view,
      bus,
      storage,
      ensureRunning: phase.ensureRunning,
    }),
    status: lifecycle.status,
    whenIdle: lifecycle.whenIdle,
    stop: lifecycle.stop,
  };
}
