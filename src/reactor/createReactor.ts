import { createActor } from 'xstate';
import { DocumentProjector } from '../actors/documentProjector.js';
import { createEndpoint } from '../actors/endpoint.js';
import { createEventBus } from '../actors/eventBus.js';
import { createPrepareRunLogic } from '../actors/prepareRunLogic.js';
import { RecentOperations } from '../actors/recentOperations.js';
import { createSyncLogic } from '../actors/syncLogic.js';
import { checkIncoming } from '../model/envelope.js';
import { classifyError, ReactorError } from '../model/errors.js';
import { HybridLogicalClock } from '../model/hlc.js';
import { parseStreamKey, streamKey } from '../model/order.js';
import type { StoreWrite } from '../model/storeWrite.js';
import type { Channel } from '../model/sync.js';
import { DEFAULT_BRANCH, type LoadJob, type OperationEnvelope, SCOPES } from '../model/types.js';
import { assertId, describe } from '../model/validate.js';
import { loadBootState } from '../storage/bootRepository.js';
import { createDexieStorage } from '../storage/dexie.js';
import { JobLog } from '../storage/jobLog.js';
import type { CommitCounters } from '../storage/operationsRepository.js';
import { type ScanOperations, scanSince } from '../storage/syncRepository.js';
import { checkActions, checkBranch } from './inputChecks.js';
import { JobSubmitter } from './jobSubmitter.js';
import { resolveOptions } from './options.js';
import { whenQuiet } from './quiescence.js';
import { createReplyHub } from './replyHub.js';
import { createSyncApi, MAX_BATCH } from './syncApi.js';
import type { Reactor, ReactorOptions, ReactorStatus } from './types.js';
import { wireReactorMachine } from './wiring.js';

export type { DocumentsApi, Reactor, ReactorOptions, ReactorStatus, StopOptions } from './types.js';

interface QueueView {
  readonly runningCount: number;
  readonly waiting: number;
}
interface StoreView {
  readonly value: string;
  readonly context: { readonly pending: readonly unknown[]; readonly commits: number };
}

/**
 * Opens (or creates) a reactor on its database (IndexedDB, or the given storage backend), restores its clock, counters, pending
 * jobs, read model and remotes, and starts its actor system. The only caller of `createActor`.
 */
export async function createReactor(options: ReactorOptions): Promise<Reactor> {
  const settings = resolveOptions(options);
  const { models, clock, newId } = settings;

  const storage = settings.storage.backend ?? createDexieStorage(settings.storage);
  const jobLog = new JobLog();
  let boot: Awaited<ReturnType<typeof loadBootState>>;
  try {
    boot = await loadBootState(storage, () => newId(12), settings.id, jobLog);
  } catch (error) {
    await storage.close();
    throw classifyError(error);
  }
  if (settings.id !== undefined && boot.meta.reactorId !== settings.id) {
    await storage.close();
    throw new ReactorError(
      'validation',
      `createReactor: database "${storage.name}" belongs to reactor "${boot.meta.reactorId}", not "${settings.id}"; use another database`,
    );
  }
  const reactorId = boot.meta.reactorId;
  const hlc = new HybridLogicalClock(reactorId, () => clock.now(), boot.meta.hlc);
  const counters: CommitCounters = {
    ordinal: boot.meta.ordinal,
    jobSeq: boot.meta.jobSeq,
    knownStreams: new Set(boot.streams.map((row) => row.stream)),
    jobLog,
    tails: new Map(),
    meta: boot.meta,
  };
  const bus = createEventBus();
  // Filled in once the actor system runs; ports below only call it after that.
  let storeWrite: (write: StoreWrite) => void = () => {};
  let keyframeWrites = 0;
  let sendToView: (event: { type: 'view.rebased'; stream: string; replayed: number }) => void = () => {};

  const projector = new DocumentProjector({
    models,
    keyframeInterval: settings.keyframeInterval,
    relay: settings.relay,
    readStream: (stream, after) => storage.readStream(stream, after),
    readKeyframes: (stream) => storage.readKeyframes(stream),
    persist: (write) => {
      keyframeWrites += 1;
      storeWrite({ ...write, writeId: `view:${keyframeWrites}` });
    },
    onRebased: (stream, replayed) => {
      sendToView({ type: 'view.rebased', stream, replayed });
      bus.emit({ type: 'document.rebased', stream, replayed });
    },
    onError: (documentId, error) => bus.emit({ type: 'view.failed', documentId, error: classifyError(error).toData() }),
  });
  await projector.materialise(boot.streams.map((row) => parseStreamKey(row.stream)));

  const jobs = new JobSubmitter({
    bus,
    projector,
    newId: () => newId(16),
    lastSeq: boot.meta.jobSeq,
    enqueue: (batch) => system.system.get('queue')?.send({ type: 'queue.enqueue', jobs: batch }),
  });
  const submitLoad = (job: Omit<LoadJob, 'kind' | 'id' | 'seq'>) =>
    jobs.submit((id, seq): LoadJob => ({ ...job, kind: 'load', id, seq }));
  const replies = createReplyHub((message) =>
    system.system.get('operationsStore')?.send({ type: 'store.write', ...message }),
  );
  const commitSync = (write: Omit<StoreWrite, 'writeId'>) => replies.commit(write);
  const channels = new Map<string, Channel>();
  const recent = new RecentOperations(bus, counters.ordinal);
  const scan: ScanOperations = async (cursor, limit, filter, echo) =>
    recent.scan(cursor, limit, filter, echo) ?? scanSince(storage, cursor, limit, filter, echo);
  const syncBoot = await storage.readSync();

  const machine = wireReactorMachine({
    storage,
    counters,
    hlc,
    bus,
    projector,
    prepareRun: createPrepareRunLogic({
      reactorId,
      models,
      relay: settings.relay,
      hlc,
      maxClockDrift: settings.maxClockDrift,
      now: () => clock.now(),
      read: async (documentId, branch) => {
        await bus.idle();
        return projector.read(documentId, branch);
      },
    }),
    syncLogic: createSyncLogic({
      reactorId,
      scan,
      bus,
      channel: (name) => channels.get(name),
      submitLoad,
      commit: commitSync,
      now: () => clock.now(),
    }),
  });
  const system = createActor(machine, {
    clock,
    id: 'reactor',
    systemId: 'reactor',
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
  storeWrite = (write) => system.system.get('operationsStore')?.send({ type: 'store.write', write });
  sendToView = (event) => system.system.get('documentView')?.send(event);
  system.start();
  if (boot.jobs.length > 0) system.system.get('queue')?.send({ type: 'queue.restore', jobs: boot.jobs });

  let phase: ReactorStatus['phase'] = 'running';
  let stopping: Promise<void> | undefined;
  const ensureRunning = (what: string) => {
    if (phase !== 'running') {
      throw new ReactorError(
        'stopped',
        `${what}: reactor "${reactorId}" is ${phase}; open it again with createReactor`,
      );
    }
  };
  const queueView = () => system.system.get('queue')?.getSnapshot().context as QueueView | undefined;
  const storeView = () => system.system.get('operationsStore')?.getSnapshot() as StoreView | undefined;
  /** No job running (nor waiting, when `drain`), the store idle with nothing pending. */
  const quiet = (drain: boolean) => () => {
    const queue = queueView();
    const store = storeView();
    return (
      queue !== undefined &&
      queue.runningCount === 0 &&
      (!drain || queue.waiting === 0) &&
      store?.value === 'idle' &&
      store.context.pending.length === 0
    );
  };
  const settle = async (drain: boolean) => {
    const actors = ['queue', 'operationsStore', 'jobExecutor'].map((id) => system.system.get(id));
    const done = quiet(drain);
    do {
      await bus.idle();
      await whenQuiet(actors, done);
      await bus.idle();
      await projector.settledAll();
    } while (!done() || jobs.buffered > 0);
  };

  const sync = createSyncApi({
    reactorId,
    syncManager: () => system.system.get('syncManager'),
    channels,
    remotes: new Map(syncBoot.remotes.map((row) => [row.name, row])),
    currentOrdinal: () => counters.ordinal,
    written$: bus.on('operations.written'),
    deadLetters: syncBoot.deadLetters,
    cursors: syncBoot.cursors,
    deadLetters$: bus.on('deadLetters.changed'),
    commit: commitSync,
    submitLoad,
    ensureRunning,
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
    ensureServing: (what) => {
      if (phase !== 'running') {
        throw new ReactorError('stopped', `${what}: reactor "${reactorId}" is ${phase}`, { retryable: true });
      }
    },
  });

  return {
    id: reactorId,
    system,
    sync,
    endpoint,
    events$: bus.events$,

    async createDocument(model, createOptions = {}) {
      ensureRunning('createDocument');
      if (!models.has(model)) {
        throw new ReactorError(
          'unknown-model',
          `createDocument: no model "${String(model)}"; this reactor knows: ${[...models.keys()].join(', ') || '(none)'}`,
        );
      }
      const documentId = createOptions.id ?? newId(16);
      assertId(documentId, 'createDocument: "id"');
      const outcome = await jobs.submit((id, seq) => ({
        kind: 'mutate' as const,
        id,
        seq,
        documentId,
        branch: DEFAULT_BRANCH,
        actions: [],
        create: model,
      }));
      return { documentId, operations: [...outcome.operations] };
    },

    async deleteDocument(documentId) {
      ensureRunning('deleteDocument');
      assertId(documentId, 'deleteDocument: documentId');
      const outcome = await jobs.submit((id, seq) => ({
        kind: 'mutate' as const,
        id,
        seq,
        documentId,
        branch: DEFAULT_BRANCH,
        actions: [],
        delete: true as const,
      }));
      return { operations: [...outcome.operations] };
    },

    async mutate(documentId, actions, mutateOptions = {}) {
      ensureRunning('mutate');
      assertId(documentId, 'mutate: documentId');
      const branch = checkBranch(mutateOptions.branch, 'mutate');
      const checked = checkActions(documentId, actions, projector.get(documentId), models);
      const outcome = await jobs.submit((id, seq) => ({
        kind: 'mutate' as const,
        id,
        seq,
        documentId,
        branch,
        actions: checked,
      }));
      return { operations: [...outcome.operations] };
    },

    async load(operations, loadOptions = {}) {
      ensureRunning('load');
      if (!Array.isArray(operations)) {
        throw new ReactorError('protocol', `load: expected an array of operations, got ${describe(operations)}`);
      }
      // The app hands these over itself, so `local` ops are welcome; ids must still match contents.
      const parsed = operations.map((op, i) => checkIncoming(op, `load: operation ${i}`, { acceptLocal: true }));
      const byDocument = new Map<string, OperationEnvelope[]>();
      for (const op of parsed) {
        const list = byDocument.get(op.documentId) ?? [];
        list.push(op);
        byDocument.set(op.documentId, list);
      }
      const results = await Promise.all(
        [...byDocument].map(([documentId, ops]) =>
          jobs.submit((id, seq) => ({
            kind: 'load' as const,
            id,
            seq,
            documentId,
            operations: ops,
            ...(loadOptions.source === undefined ? {} : { source: loadOptions.source }),
          })),
        ),
      );
      return {
        stored: results.reduce((sum, outcome) => sum + outcome.stored, 0),
        duplicates: results.reduce((sum, outcome) => sum + outcome.duplicates, 0),
      };
    },

    documents: {
      get: (documentId, getOptions = {}) => projector.get(documentId, getOptions.branch),
      observe: (documentId, observeOptions = {}) => projector.observe(documentId, observeOptions.branch),
      list: (listOptions = {}) =>
        projector
          .list()
          .filter((snapshot) => snapshot.branch === (listOptions.branch ?? DEFAULT_BRANCH))
          .filter((snapshot) => listOptions.includeDeleted === true || !snapshot.deleted),
    },

    async operations(documentId, readOptions = {}) {
      assertId(documentId, 'operations: documentId');
      const scope = readOptions.scope ?? 'global';
      if (!SCOPES.includes(scope)) {
        throw new ReactorError(
          'validation',
          `operations: "scope" must be one of ${SCOPES.join(', ')}, got ${describe(scope)}`,
        );
      }
      const branch = checkBranch(readOptions.branch, 'operations');
      await bus.idle();
      await projector.settled(documentId);
      const key = streamKey({ documentId, scope, branch });
      const rows = await storage.readStream(key);
      return rows.map((row, index) => {
        const { ordinal: _ordinal, stream: _stream, source: _source, ...envelope } = row;
        const error = projector.errorOf(key, row.id);
        return error === undefined ? { ...envelope, index } : { ...envelope, index, error };
      });
    },

    status() {
      const queue = queueView();
      const store = storeView();
      const waiting = (queue?.waiting ?? 0) + jobs.buffered;
      const running = queue?.runningCount ?? 0;
      const pending = store?.context.pending.length ?? 0;
      const committing = store?.value === 'committing';
      return {
        phase,
        ordinal: counters.ordinal,
        jobs: { waiting, running },
        store: { pending, committing, commits: store?.context.commits ?? 0 },
        idle: waiting === 0 && running === 0 && pending === 0 && !committing,
      };
    },

    async whenIdle() {
      ensureRunning('whenIdle');
      jobs.flush();
      await settle(true);
    },

    stop(stopOptions = {}) {
      if (stopping !== undefined) return stopping;
      phase = 'stopping';
      stopping = (async () => {
        await sync.closeAll();
        if (stopOptions.abort === true) {
          jobs.drop();
        } else {
          jobs.flush();
          system.send({ type: 'reactor.stop', drain: stopOptions.drain !== false });
          await settle(stopOptions.drain !== false);
          system.send({ type: 'reactor.stopped' });
        }
        system.stop();
        phase = 'stopped';
        const error = new ReactorError(
          'stopped',
          stopOptions.abort === true
            ? `reactor "${reactorId}" was aborted before this job completed; if it was persisted, it runs when the reactor reopens`
            : `reactor "${reactorId}" stopped before this job ran; it is persisted and runs when the reactor reopens`,
        );
        jobs.close(error);
        replies.close(error);
        recent.close();
        bus.complete();
        await storage.close();
      })();
      return stopping;
    },
  };
}
