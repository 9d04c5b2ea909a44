import type { Observable } from 'rxjs';
import {
  type Actor,
  type AnyActorRef,
  createActor,
  type EventObject,
  fromEventObservable,
  fromPromise,
  type InspectionEvent,
  type Observer,
  type Subscribable,
} from 'xstate';
import { DocumentProjector } from '../actors/documentProjector.js';
import { createEndpoint } from '../actors/endpoint.js';
import { type BusEvent, createEventBus } from '../actors/eventBus.js';
import { createPrepareRunLogic } from '../actors/prepareRunLogic.js';
import { createSyncLogic } from '../actors/syncLogic.js';
import { documentViewMachine } from '../machines/documentView.js';
import { jobExecutorMachine } from '../machines/jobExecutor.js';
import type { RetryPolicy } from '../machines/jobRun.js';
import { jobRunMachine } from '../machines/jobRun.js';
import { operationsStoreMachine } from '../machines/operationsStore.js';
import { reactorMachine } from '../machines/reactor.js';
import { pingPongMachine, pullMachine, pushMachine } from '../machines/remote/remote.js';
import { syncManagerMachine } from '../machines/syncManager.js';
import type { AnyDocumentModel, DocumentModel } from '../model/documentModel.js';
import { parseOperationEnvelope } from '../model/envelope.js';
import { classifyError, ReactorError } from '../model/errors.js';
import { HybridLogicalClock } from '../model/hlc.js';
import { parseStreamKey, streamKey } from '../model/order.js';
import type { Channel, Endpoint } from '../model/sync.js';
import {
  type Action,
  CREATE_DOCUMENT,
  DEFAULT_BRANCH,
  type DocumentSnapshot,
  type Job,
  type JobOutcome,
  type LoadJob,
  type Operation,
  type OperationEnvelope,
  SCOPES,
  type Scope,
} from '../model/types.js';
import { assertCloneable, assertId, cloneChecked, describe } from '../model/validate.js';
import { loadBootState } from '../storage/bootRepository.js';
import { JobLog } from '../storage/jobLog.js';
import {
  type CommitCounters,
  commitGroup,
  nearestKeyframe,
  readStream,
  type StoreWrite,
  type WriteResult,
} from '../storage/operationsRepository.js';
import { ReactorDatabase, type StorageOptions } from '../storage/schema.js';
import { loadSyncState } from '../storage/syncRepository.js';
import { type Clock, systemClock } from './clock.js';
import { createIdGenerator } from './ids.js';
import { whenQuiet } from './quiescence.js';
import { createReplyHub } from './replyHub.js';
import { createSyncApi, type SyncApi } from './syncApi.js';

/** Options of {@link createReactor}. */
export interface ReactorOptions {
  // biome-ignore lint/suspicious/noExplicitAny: models of any state and reducers are accepted
  readonly models: readonly DocumentModel<any, any>[];
  /** This reactor's id; persisted on first start. Default: random. */
  readonly id?: string;
  readonly storage?: StorageOptions;
  /** Physical time and timers; default the system clock. */
  readonly clock?: Clock;
  /** An XState inspection observer (e.g. the Stately inspector's `inspect`). */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Documents that run jobs at the same time; default 16. */
  readonly concurrency?: number;
  /** Most jobs of one document in one run; default 512. */
  readonly maxBatch?: number;
  /** Most writes in one transaction; default 2000. */
  readonly maxGroupSize?: number;
  /** A keyframe every this many ops per stream; default 500. */
  readonly keyframeInterval?: number;
  /** Retry policy for transient storage failures. */
  readonly retry?: Partial<RetryPolicy>;
  /** Source of randomness for ids and jitter; default crypto. Seed it for reproducible runs. */
  readonly random?: () => number;
}

/** What `reactor.status()` reports. */
export interface ReactorStatus {
  readonly phase: 'running' | 'stopping' | 'stopped';
  /** The last ordinal stored (ops stored here so far). */
  readonly ordinal: number;
  /** Jobs accepted but not yet run, and documents with a run in progress. */
  readonly jobs: { readonly waiting: number; readonly running: number };
  /** Writes waiting for the store, and whether a transaction is in flight. */
  readonly store: { readonly pending: number; readonly committing: boolean; readonly commits: number };
  /** True when nothing is queued, running or waiting to be written. */
  readonly idle: boolean;
}

/** How to stop. */
export interface StopOptions {
  /** Run every accepted job first (default true). With false, queued jobs stay persisted and resume on reopen. */
  readonly drain?: boolean;
  /** Stop at once, dropping everything in memory, as a crash would (default false). */
  readonly abort?: boolean;
}

/** The read side of the reactor. */
export interface DocumentsApi {
  get(documentId: string, options?: { branch?: string }): DocumentSnapshot | undefined;
  observe(documentId: string, options?: { branch?: string }): Observable<DocumentSnapshot>;
  list(options?: { branch?: string; includeDeleted?: boolean }): DocumentSnapshot[];
}

/** A running reactor. */
export interface Reactor {
  readonly id: string;
  createDocument(model: string, options?: { id?: string }): Promise<{ documentId: string; operations: Operation[] }>;
  deleteDocument(documentId: string): Promise<{ operations: Operation[] }>;
  mutate(
    documentId: string,
    actions: readonly Action[],
    options?: { branch?: string },
  ): Promise<{ operations: Operation[] }>;
  /** Loads ops made elsewhere (idempotent by id). What sync feeds; usable directly. */
  load(operations: readonly unknown[], options?: { source?: string }): Promise<{ stored: number; duplicates: number }>;
  readonly documents: DocumentsApi;
  operations(documentId: string, options?: { scope?: Scope; branch?: string }): Promise<Operation[]>;
  /** Remotes this reactor synchronises with. */
  readonly sync: SyncApi;
  /** What this reactor serves to other reactors' channels. */
  readonly endpoint: Endpoint;
  /** Every event on the reactor's bus. */
  readonly events$: Observable<BusEvent>;
  /** The root XState actor. */
  readonly system: Actor<typeof reactorMachine>;
  /** Resolves when every accepted job has run, the store is idle and the view is up to date. */
  whenIdle(): Promise<void>;
  /** A synchronous look at the reactor's progress. */
  status(): ReactorStatus;
  stop(options?: StopOptions): Promise<void>;
}

interface Waiter {
  /** The documents whose view must show the job's effect before the caller hears of it. */
  readonly documentIds: readonly string[];
  resolve(outcome: JobOutcome & { ok: true }): void;
  reject(error: ReactorError): void;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ReactorError('validation', `createReactor: "${name}" must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

function checkModels(models: unknown): Map<string, AnyDocumentModel> {
  if (!Array.isArray(models)) {
    throw new ReactorError('validation', 'createReactor: "models" must be an array of models from defineDocumentModel');
  }
  const byType = new Map<string, AnyDocumentModel>();
  for (const model of models as AnyDocumentModel[]) {
    if (
      typeof model?.type !== 'string' ||
      typeof model.initialState !== 'function' ||
      typeof model.reducers !== 'object'
    ) {
      throw new ReactorError(
        'validation',
        `createReactor: ${describe(model)} is not a document model; build models with defineDocumentModel`,
      );
    }
    if (byType.has(model.type))
      throw new ReactorError('validation', `createReactor: two models have the type "${model.type}"`);
    byType.set(model.type, model);
  }
  return byType;
}

/**
 * Opens (or creates) a reactor on its IndexedDB database, restores its clock, counters, pending
 * jobs and read model, and starts its actor system.
 */
export async function createReactor(options: ReactorOptions): Promise<Reactor> {
  if (typeof options !== 'object' || options === null) {
    throw new ReactorError('validation', 'createReactor expects an options object with at least { models }');
  }
  const models = checkModels(options.models);
  if (options.id !== undefined) assertId(options.id, 'createReactor: "id"');
  const concurrency = positive(options.concurrency, 16, 'concurrency');
  const maxBatch = positive(options.maxBatch, 512, 'maxBatch');
  const maxGroupSize = positive(options.maxGroupSize, 2000, 'maxGroupSize');
  const keyframeInterval = positive(options.keyframeInterval, 500, 'keyframeInterval');
  const retry: RetryPolicy = { maxAttempts: 5, baseMs: 20, maxMs: 2000, ...options.retry };
  const clock = options.clock ?? systemClock;
  const newId = createIdGenerator(options.random);

  const storage = options.storage ?? {};
  if (storage.indexedDB === undefined && typeof globalThis.indexedDB === 'undefined') {
    throw new ReactorError(
      'validation',
      'createReactor: no IndexedDB here; pass storage: { dbName, indexedDB, IDBKeyRange } (in Node, from fake-indexeddb)',
    );
  }
  const db = new ReactorDatabase(storage);
  const jobLog = new JobLog();
  let boot: Awaited<ReturnType<typeof loadBootState>>;
  try {
    boot = await loadBootState(db, () => newId(12), options.id, jobLog);
  } catch (error) {
    db.close();
    throw classifyError(error);
  }
  if (options.id !== undefined && boot.meta.reactorId !== options.id) {
    db.close();
    throw new ReactorError(
      'validation',
      `createReactor: database "${db.name}" belongs to reactor "${boot.meta.reactorId}", not "${options.id}"; use another dbName`,
    );
  }
  const reactorId = boot.meta.reactorId;
  const hlc = new HybridLogicalClock(reactorId, () => clock.now(), boot.meta.hlc);
  const counters: CommitCounters = {
    ordinal: boot.meta.ordinal,
    jobSeq: boot.meta.jobSeq,
    knownStreams: new Set(boot.streams.map((row) => row.stream)),
    jobLog,
    meta: boot.meta,
  };
  let jobSeq = boot.meta.jobSeq;
  const bus = createEventBus();
  let root: Actor<typeof reactorMachine> | undefined;

  const sendToStore = (write: StoreWrite) => root?.system.get('operationsStore')?.send({ type: 'store.write', write });
  let keyframeWrites = 0;
  const projector = new DocumentProjector({
    models,
    keyframeInterval,
    readStream: (stream, after) => readStream(db, stream, after),
    readKeyframes: async (stream) => {
      const rows = await db.keyframes
        .where('[stream+timestamp+id]')
        .between([stream, '', ''], [stream, '\uffff', '\uffff'])
        .toArray();
      return rows;
    },
    persist: (write) => {
      keyframeWrites += 1;
      sendToStore({ ...write, writeId: `view:${keyframeWrites}` });
    },
    onRebased: (stream, replayed) => {
      root?.system.get('documentView')?.send({ type: 'view.rebased', stream, replayed });
      bus.emit({ type: 'document.rebased', stream, replayed });
    },
    onError: (documentId, error) => bus.emit({ type: 'view.failed', documentId, error: classifyError(error).toData() }),
  });
  await projector.materialise(boot.streams.map((row) => parseStreamKey(row.stream)));

  const prepareRun = createPrepareRunLogic({
    reactorId,
    models,
    hlc,
    newOperationId: () => newId(16),
    now: () => clock.now(),
    read: async (documentId, branch) => {
      await bus.idle();
      return projector.read(documentId, branch);
    },
    refusedModel: async (documentId) => {
      const letter = await db.deadLetters
        .filter(
          (row) =>
            row.direction !== 'push' &&
            row.operation.documentId === documentId &&
            row.operation.scope === 'document' &&
            row.operation.type === CREATE_DOCUMENT,
        )
        .first();
      return letter === undefined ? undefined : String((letter.operation.input as { model?: unknown }).model);
    },
  });
  const channels = new Map<string, Channel>();
  const syncBoot = await loadSyncState(db);
  const remotes = new Map(syncBoot.remotes.map((row) => [row.name, row]));
  const commitSync = (write: Omit<StoreWrite, 'writeId'>) => replies.commit(write);
  const submitLoad = (job: Omit<LoadJob, 'kind' | 'id' | 'seq'>) =>
    submit((id, seq): LoadJob => ({ ...job, kind: 'load', id, seq }));
  const syncLogic = createSyncLogic({
    reactorId,
    db,
    bus,
    channel: (name) => channels.get(name),
    submitLoad,
    commit: commitSync,
    now: () => clock.now(),
  });
  const machine = reactorMachine.provide({
    actors: {
      operationsStore: operationsStoreMachine.provide({
        actors: {
          commitGroup: fromPromise<WriteResult[], { writes: readonly StoreWrite[] }>(async ({ input }) => {
            try {
              return await commitGroup(db, input.writes, counters, () => hlc.state);
            } catch (error) {
              throw classifyError(error);
            }
          }),
        },
        actions: {
          publishWritten: (_, params) => {
            const operations = params.results.flatMap((result) => result.stored);
            if (operations.length === 0) return;
            const sources: Record<string, string> = {};
            params.results.forEach((result, i) => {
              const source = params.writes[i]?.write.source;
              if (source !== undefined) for (const op of result.stored) sources[op.id] = source;
            });
            bus.emit({ type: 'operations.written', operations, sources });
          },
          reportFailure: (_, params) => bus.emit({ type: 'store.failed', error: params.error }),
        },
      }),
      documentView: documentViewMachine.provide({
        actors: {
          writtenOperations: fromEventObservable(() => bus.on('operations.written') as Subscribable<EventObject>),
        },
        actions: { project: (_, params) => projector.apply(params.operations) },
      }),
      jobExecutor: jobExecutorMachine.provide({
        actors: {
          jobRun: jobRunMachine.provide({
            actors: { prepareRun },
          }),
        },
        actions: {
          publishOutcomes: (_, params) => bus.emit({ type: 'jobs.settled', outcomes: params.outcomes }),
        },
      }),
      syncManager: syncManagerMachine.provide({
        actors: {
          push: pushMachine.provide({ actors: syncLogic }),
          pull: pullMachine.provide({ actors: syncLogic }),
          pingPong: pingPongMachine.provide({ actors: syncLogic }),
        },
      }),
    },
  });

  const seedSource = options.random ?? Math.random;
  const actorOptions: Parameters<typeof createActor<typeof machine>>[1] = {
    clock,
    systemId: 'reactor',
    input: {
      reactorId,
      concurrency,
      maxBatch,
      maxGroupSize,
      retry,
      seed: Math.floor(seedSource() * 2 ** 31),
    },
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  };
  root = createActor(machine, actorOptions);

  const waiters = new Map<string, Waiter>();
  const outcomes = bus.on('jobs.settled').subscribe((event) => {
    for (const outcome of event.outcomes) {
      const waiter = waiters.get(outcome.jobId);
      if (waiter === undefined) continue;
      waiters.delete(outcome.jobId);
      if (!outcome.ok) {
        waiter.reject(ReactorError.fromData(outcome.error));
        continue;
      }
      // Resolve once the view shows the job's effect (a rebase may still be running).
      const pending = waiter.documentIds.flatMap((id) => projector.pending(id) ?? []);
      if (pending.length === 0) waiter.resolve(outcome);
      else Promise.all(pending).then(() => waiter.resolve(outcome));
    }
  });

  const replies = createReplyHub((write) =>
    root?.system.get('operationsStore')?.send({ type: 'store.write', ...write }),
  );
  root.start();
  const system = root;
  const child = (id: 'queue' | 'operationsStore' | 'jobExecutor'): AnyActorRef | undefined => system.system.get(id);
  if (boot.jobs.length > 0) child('queue')?.send({ type: 'queue.restore', jobs: boot.jobs });

  let buffer: Job[] = [];
  let phase: 'running' | 'stopping' | 'stopped' = 'running';
  let stopping: Promise<void> | undefined;
  const flush = () => {
    if (buffer.length === 0) return;
    const jobs = buffer;
    buffer = [];
    child('queue')?.send({ type: 'queue.enqueue', jobs });
  };

  const ensureRunning = (what: string) => {
    if (phase !== 'running') {
      throw new ReactorError(
        'stopped',
        `${what}: reactor "${reactorId}" is ${phase}; open it again with createReactor`,
      );
    }
  };

  /** Accepts a job: queued in a buffer that goes to the queue as one event per microtask. */
  const submit = <T extends Job>(make: (id: string, seq: number) => T): Promise<JobOutcome & { ok: true }> => {
    jobSeq += 1;
    const job = make(newId(16), jobSeq);
    const promise = new Promise<JobOutcome & { ok: true }>((resolve, reject) =>
      waiters.set(job.id, {
        documentIds: job.kind === 'load' ? [...new Set(job.operations.map((op) => op.documentId))] : [job.documentId],
        resolve,
        reject,
      }),
    );
    if (buffer.length === 0) queueMicrotask(flush);
    buffer.push(job);
    return promise;
  };

  const checkBranch = (branch: unknown, where: string): string => {
    if (branch === undefined) return DEFAULT_BRANCH;
    assertId(branch, `${where}: "branch"`);
    return branch;
  };

  const checkActions = (documentId: string, actions: unknown): readonly Action[] => {
    const where = `mutate(${JSON.stringify(documentId)})`;
    if (!Array.isArray(actions) || actions.length === 0) {
      throw new ReactorError(
        'validation',
        `${where}: expected a non-empty array of actions { type, input, scope? }, got ${describe(actions)}`,
      );
    }
    const snapshot = projector.get(documentId);
    const model = snapshot === undefined ? undefined : models.get(snapshot.type);
    if (snapshot?.deleted) {
      throw new ReactorError(
        'conflict',
        `${where}: the document was deleted; a deleted document accepts no more mutations`,
      );
    }
    actions.forEach((action: unknown, i) => {
      const at = `${where}: action ${i}`;
      if (typeof action !== 'object' || action === null || typeof (action as Action).type !== 'string') {
        throw new ReactorError(
          'validation',
          `${at} must be an object { type: string, input, scope? }, got ${describe(action)}`,
        );
      }
      const { type, scope } = action as Action;
      if (scope !== undefined && scope !== 'global' && scope !== 'local') {
        throw new ReactorError('validation', `${at}: "scope" must be "global" or "local", got ${describe(scope)}`);
      }
      if (model !== undefined && model.reducers[type] === undefined) {
        throw new ReactorError(
          'validation',
          `${at}: model "${model.type}" has no action "${type}"; expected one of: ${Object.keys(model.reducers).join(', ')}`,
        );
      }
    });
    return cloneChecked(actions as Action[], `${where}: the actions' input`);
  };

  /** No job running (nor waiting, when `drain`), the store idle with nothing pending. */
  const quiet = (drain: boolean) => () => {
    const queue = child('queue')?.getSnapshot().context as { runningCount: number; waiting: number } | undefined;
    const store = child('operationsStore')?.getSnapshot() as
      | { value: string; context: { pending: readonly unknown[] } }
      | undefined;
    return (
      queue !== undefined &&
      queue.runningCount === 0 &&
      (!drain || queue.waiting === 0) &&
      store !== undefined &&
      store.value === 'idle' &&
      store.context.pending.length === 0
    );
  };
  const settle = async (drain: boolean) => {
    const actors = [child('queue'), child('operationsStore'), child('jobExecutor')];
    const done = quiet(drain);
    do {
      await bus.idle();
      await whenQuiet(actors, done);
      await bus.idle();
      await projector.settledAll();
    } while (!done() || buffer.length > 0);
  };

  const sync = createSyncApi({
    reactorId,
    db,
    syncManager: () => system.system.get('syncManager'),
    channels,
    remotes,
    currentOrdinal: () => counters.ordinal,
    written$: bus.on('operations.written'),
    commit: commitSync,
    submitLoad,
    ensureRunning,
    now: () => clock.now(),
    seed: () => Math.floor(seedSource() * 2 ** 31),
    retry: { baseMs: retry.baseMs, maxMs: retry.maxMs },
  });
  const endpoint = createEndpoint({
    reactorId,
    db,
    bus,
    maxPushBatch: 5000,
    maxPullLimit: 5000,
    currentOrdinal: () => counters.ordinal,
    submitLoad,
    ensureServing: (what) => {
      if (phase !== 'running') {
        throw new ReactorError('stopped', `${what}: reactor "${reactorId}" is ${phase}`, { retryable: true });
      }
    },
  });

  const reactor: Reactor = {
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
      const outcome = await submit((id, seq) => ({
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
      const outcome = await submit((id, seq) => ({
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
      const checked = checkActions(documentId, actions);
      const outcome = await submit((id, seq) => ({
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
      const parsed = operations.map((op, i) => parseOperationEnvelope(op, `load: operation ${i}`));
      assertCloneable(parsed, 'load: the operations');
      const byDocument = new Map<string, OperationEnvelope[]>();
      for (const op of parsed) {
        const list = byDocument.get(op.documentId) ?? [];
        list.push(op);
        byDocument.set(op.documentId, list);
      }
      const results = await Promise.all(
        [...byDocument].map(([documentId, ops]) =>
          submit((id, seq) => ({
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
      const rows = await readStream(db, key);
      return rows.map((row, index) => {
        const { ordinal: _ordinal, stream: _stream, ...envelope } = row;
        const error = projector.errorOf(key, row.id);
        return error === undefined ? { ...envelope, index } : { ...envelope, index, error };
      });
    },

    status() {
      const queue = child('queue')?.getSnapshot().context as { runningCount: number; waiting: number } | undefined;
      const store = child('operationsStore')?.getSnapshot() as
        | { value: string; context: { pending: readonly unknown[]; commits: number } }
        | undefined;
      const jobs = { waiting: (queue?.waiting ?? 0) + buffer.length, running: queue?.runningCount ?? 0 };
      const storeStatus = {
        pending: store?.context.pending.length ?? 0,
        committing: store?.value === 'committing',
        commits: store?.context.commits ?? 0,
      };
      return {
        phase,
        ordinal: counters.ordinal,
        jobs,
        store: storeStatus,
        idle: jobs.waiting === 0 && jobs.running === 0 && storeStatus.pending === 0 && !storeStatus.committing,
      };
    },

    async whenIdle() {
      ensureRunning('whenIdle');
      flush();
      await settle(true);
    },

    stop(stopOptions = {}) {
      if (stopping !== undefined) return stopping;
      phase = 'stopping';
      stopping = (async () => {
        await sync.closeAll();
        if (stopOptions.abort === true) {
          buffer = [];
        } else {
          flush();
          system.send({ type: 'reactor.stop', drain: stopOptions.drain !== false });
          await settle(stopOptions.drain !== false);
          system.send({ type: 'reactor.stopped' });
        }
        system.stop();
        outcomes.unsubscribe();
        phase = 'stopped';
        const error = new ReactorError(
          'stopped',
          stopOptions.abort === true
            ? `reactor "${reactorId}" was aborted before this job completed; if it was persisted, it runs when the reactor reopens`
            : `reactor "${reactorId}" stopped before this job ran; it is persisted and runs when the reactor reopens`,
        );
        for (const waiter of waiters.values()) waiter.reject(error);
        waiters.clear();
        replies.close(error);
        bus.complete();
        db.close();
      })();
      return stopping;
    },
  };
  return reactor;
}

export { nearestKeyframe };
