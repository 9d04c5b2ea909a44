import { BehaviorSubject, filter, map, type Observable, Subject, type Subscription } from 'rxjs';
import { type AnyActorRef, createActor } from 'xstate';
import type { BusEvent } from '../../actors/eventBus.js';
import { createSnapshotStore } from '../../actors/snapshotStore.js';
import { tabMachine } from '../../machines/tab.js';
import { ReactorError, type ReactorErrorData } from '../../model/errors.js';
import type { RemoteOptions } from '../../model/remote.js';
import type { Channel, Endpoint, Poke, PullResponse, PushResponse } from '../../model/sync.js';
import {
  type LockManagerLike,
  leaderLockName,
  type TabChannelLike,
  type TabEvent,
  type TabMessage,
  tabChannelName,
} from '../../model/tabs.js';
import type { DocumentSnapshot, Job, JobOutcome, Operation } from '../../model/types.js';
import { type Core, type ForwardedJob, openCore } from '../core.js';
import { createDocumentsApi } from '../documentsApi.js';
import type { JobSuccess } from '../jobSubmitter.js';
import type { ResolvedOptions } from '../options.js';
import type { DeadLetter, RemoteStatus, SyncApi } from '../syncApi.js';
import type { Reactor, ReactorOptions, ReactorStatus, StopOptions } from '../types.js';
import { LeaderServer, publishingStore, type TabSnapshot } from './leaderServer.js';
import { Leadership } from './leadership.js';
import { LeaderCalls, TabLink } from './tabLink.js';

/** What sharing a database between tabs needs. */
export interface TabEnvironment {
  readonly locks: LockManagerLike;
  readonly BroadcastChannel: new (name: string) => TabChannelLike;
  readonly dbName: string;
  readonly leaderTimeoutMs: number;
}

/** The tab environment for these options, or `undefined` when the reactor runs alone. */
export function tabEnvironment(settings: ResolvedOptions, option: ReactorOptions['tabs']): TabEnvironment | undefined {
  if (option === false || settings.storage.backend !== undefined) return undefined;
  const global = globalThis as {
    navigator?: { locks?: LockManagerLike };
    BroadcastChannel?: new (name: string) => TabChannelLike;
  };
  const locks = option?.locks ?? global.navigator?.locks;
  const BroadcastChannel = option?.BroadcastChannel ?? global.BroadcastChannel;
  if (locks === undefined || BroadcastChannel === undefined) return undefined;
  const leaderTimeoutMs = option?.leaderTimeoutMs ?? 10_000;
  if (!Number.isInteger(leaderTimeoutMs) || leaderTimeoutMs < 1) {
    throw new ReactorError(
      'validation',
      `createReactor: "tabs.leaderTimeoutMs" must be a positive integer, got ${leaderTimeoutMs}`,
    );
  }
  return { locks, BroadcastChannel, dbName: settings.storage.dbName ?? 'xstate-reactor', leaderTimeoutMs };
}

/** Opens a reactor that shares its database with the other tabs of this origin. */
export async function openTabReactor(settings: ResolvedOptions, env: TabEnvironment): Promise<Reactor> {
  const tab = new TabReactor(settings, env);
  await tab.start();
  return tab.reactor;
}

type Role = 'joining' | 'follower' | 'promoting' | 'leader' | 'stopping' | 'stopped';

/** Jobs forwarded in one tick, with whom to tell each outcome. */
interface ForwardBatch {
  readonly jobs: ForwardedJob[];
  readonly waiters: { resolve(outcome: JobSuccess): void; reject(error: unknown): void }[];
}

/**
 * One tab's reactor on a shared database: the leader (it holds the Web Lock and runs a reactor
 * core) or a follower (it forwards every call to the leader and mirrors what the leader
 * publishes). The public reactor is the same object in both roles and across role changes; its
 * snapshots live in one store the whole time, so `observe` never misses a beat.
 */
class TabReactor {
  readonly #settings: ResolvedOptions;
  readonly #env: TabEnvironment;
  readonly #link: TabLink;
  readonly #calls: LeaderCalls;
  readonly #leadership: Leadership;
  readonly #store = publishingStore(createSnapshotStore());
  readonly #events$ = new Subject<BusEvent>();
  readonly #statuses$ = new BehaviorSubject<RemoteStatus[]>([]);
  readonly #localRemotes = new Map<string, RemoteOptions>();
  readonly #tabActor: AnyActorRef;
  #role: Role = 'joining';
  #reactorId = '';
  #core: Core | undefined;
  #server: LeaderServer | undefined;
  #coreSubscriptions: Subscription[] = [];
  // What a follower mirrors of its leader.
  #leader: { readonly tab: string; readonly epoch: number } | undefined;
  #appliedSeq = -1;
  #buffered: { readonly seq: number; readonly event: TabEvent }[] | undefined;
  #deadLetters: DeadLetter[] = [];
  #leaderStatus: ReactorStatus | undefined;
  #lastHeard = 0;
  #joined: { resolve(): void; reject(error: unknown): void; promise: Promise<void> };
  #watchdog: unknown;
  #joinedOnce = false;
  #batch: ForwardBatch | undefined;
  readonly reactor: Reactor;

  constructor(settings: ResolvedOptions, env: TabEnvironment) {
    this.#settings = settings;
    this.#env = env;
    const tabId = `tab-${settings.newId(12)}`;
    this.#link = new TabLink(env.BroadcastChannel, tabChannelName(env.dbName), tabId);
    this.#calls = new LeaderCalls(this.#link, () => settings.clock.now());
    this.#leadership = new Leadership(env.locks, leaderLockName(env.dbName));
    this.#leadership.onLost = () => void this.#demote('another tab took the leader lock');
    this.#tabActor = createActor(tabMachine, {
      input: { tab: tabId },
      ...(settings.inspect === undefined ? {} : { inspect: settings.inspect }),
    }).start();
    let resolve: () => void = () => {};
    let reject: (error: unknown) => void = () => {};
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    this.#joined = {
      resolve: () => {
        this.#joinedOnce = true;
        resolve();
      },
      reject,
      promise,
    };
    this.#link.on((message) => this.#onMessage(message));
    this.reactor = this.#facade();
  }

  async start(): Promise<void> {
    if (await this.#leadership.acquire('now')) await this.#lead();
    else this.#follow();
    await this.#joined.promise;
  }

  // ─── Roles ────────────────────────────────────────────────────────────────────────────────────

  #follow(): void {
    this.#role = 'follower';
    this.#events$.next({ type: 'tab.role', role: 'follower' });
    this.#lastHeard = this.#settings.clock.now();
    void this.#leadership.acquire('queue').then((granted) => {
      if (granted && this.#role === 'follower') void this.#lead();
    });
    this.#link.post({ kind: 'hello' });
    this.#watch();
  }

  /** Takes the lead: opens a fenced core on the database, serves followers, runs this tab's remotes. */
  async #lead(): Promise<void> {
    this.#role = 'promoting';
    this.#leader = undefined;
    this.#buffered = undefined;
    try {
      const core = await openCore(this.#settings, { snapshots: this.#store, fenced: true });
      if (this.#role !== 'promoting') {
        await core.reactor.stop({ abort: true });
        return;
      }
      this.#core = core;
      this.#reactorId = core.reactor.id;
      this.#server = new LeaderServer(this.#link, core, this.#store);
      this.#role = 'leader';
      this.#tabActor.send({ type: 'tab.lead', epoch: core.epoch ?? 0 });
      this.#coreSubscriptions = [
        core.reactor.sync.status$.subscribe((statuses) => this.#statuses$.next(statuses)),
        core.reactor.events$.subscribe((event) => {
          this.#events$.next(event);
          // A commit refused because a newer leader took the database over: this tab follows now.
          if (event.type === 'store.failed' && isFenced(event.error)) void this.#demote(event.error.message);
        }),
      ];
      for (const options of this.#localRemotes.values()) await core.reactor.sync.add(lent(options));
      const server = this.#server;
      this.#calls.serveLocally((call, body) => server.serve(call, body));
      server.announce();
      this.#events$.next({ type: 'tab.role', role: 'leader' });
      this.#joined.resolve();
    } catch (error) {
      this.#leadership.release();
      if (this.#role !== 'promoting') return;
      // Before the tab joined, the failure is createReactor's; after, it goes on following.
      if (this.#joinedOnce) this.#follow();
      else {
        this.#role = 'stopped';
        this.#joined.reject(error);
      }
    }
  }

  /** Stops leading (the lock was taken, or a commit was fenced): the core stops, this tab follows. */
  async #demote(reason: string): Promise<void> {
    if (this.#role !== 'leader') return;
    const core = this.#core;
    const server = this.#server;
    this.#core = undefined;
    this.#server = undefined;
    if (server !== undefined) {
      server.moved = true;
      server.close();
    }
    this.#calls.serveLocally(undefined);
    for (const subscription of this.#coreSubscriptions) subscription.unsubscribe();
    this.#coreSubscriptions = [];
    this.#leadership.release();
    // The remotes' channels stay this tab's: parked until it leads again.
    for (const options of this.#localRemotes.values()) options.channel.link?.park?.();
    this.#events$.next({
      type: 'actor.failed',
      actor: 'tab',
      error: { kind: 'conflict', message: `this tab no longer leads: ${reason}`, retryable: true },
    });
    await core?.reactor.stop({ abort: true });
    this.#appliedSeq = -1;
    this.#follow();
  }

  /** While following: ask a silent leader again, and take the lock from one that holds it but never answers. */
  #watch(): void {
    const clock = this.#settings.clock;
    const period = Math.max(50, Math.floor(this.#env.leaderTimeoutMs / 4));
    const tick = () => {
      this.#watchdog = undefined;
      if (this.#role !== 'follower') return;
      const now = clock.now();
      if (this.#leader === undefined) this.#link.post({ kind: 'hello' });
      const waitingSince = this.#leader === undefined ? this.#lastHeard : this.#calls.oldest;
      if (waitingSince !== undefined && now - Math.max(waitingSince, this.#lastHeard) >= this.#env.leaderTimeoutMs) {
        void this.#leadership.acquire('steal').then((granted) => {
          if (granted && this.#role === 'follower') void this.#lead();
        });
        return;
      }
      this.#watchdog = clock.setTimeout(tick, period);
    };
    if (this.#watchdog === undefined) this.#watchdog = clock.setTimeout(tick, period);
  }

  // ─── Following ────────────────────────────────────────────────────────────────────────────────

  #onMessage(message: TabMessage): void {
    // While this tab opens the database as the new leader, others learn that it is coming.
    if (this.#role === 'promoting' && message.kind === 'hello') {
      this.#link.post({ kind: 'leader', epoch: 0, reactorId: this.#reactorId, ready: false });
      return;
    }
    if (this.#role !== 'follower') return;
    if (this.#leader !== undefined && message.from === this.#leader.tab) this.#lastHeard = this.#settings.clock.now();
    switch (message.kind) {
      case 'leader':
        this.#lastHeard = this.#settings.clock.now();
        if (!message.ready) return;
        if (this.#leader !== undefined && message.epoch <= this.#leader.epoch && message.from === this.#leader.tab)
          return;
        if (this.#leader !== undefined && message.epoch < this.#leader.epoch) return;
        this.#leader = { tab: message.from, epoch: message.epoch };
        this.#reactorId = message.reactorId;
        this.#tabActor.send({ type: 'tab.follow', leader: message.from, epoch: message.epoch });
        this.#mirrorFrom(message.epoch);
        return;
      case 'event':
        if (this.#leader === undefined || message.epoch !== this.#leader.epoch) return;
        if (this.#buffered !== undefined) this.#buffered.push({ seq: message.seq, event: message.event });
        else if (message.seq > this.#appliedSeq) {
          this.#appliedSeq = message.seq;
          this.#apply(message.event);
        }
        return;
      case 'bye':
        if (this.#leader?.tab === message.from) this.#leader = undefined;
        return;
      default:
        return;
    }
  }

  /** Starts mirroring a (new) leader: buffers its events, fetches its snapshot, replays. */
  #mirrorFrom(epoch: number): void {
    this.#buffered = [];
    this.#calls.resend();
    void this.#calls.call('snapshot', {}).then(
      (answer) => {
        const snapshot = answer as TabSnapshot;
        if (this.#role !== 'follower' || this.#leader?.epoch !== epoch) return;
        this.#store.upsert(snapshot.snapshots);
        this.#statuses$.next([...(snapshot.statuses as RemoteStatus[])]);
        this.#deadLetters = [...(snapshot.deadLetters as DeadLetter[])];
        this.#leaderStatus = snapshot.status as ReactorStatus;
        this.#appliedSeq = snapshot.seq;
        const buffered = this.#buffered ?? [];
        this.#buffered = undefined;
        for (const { seq, event } of buffered) {
          if (seq <= this.#appliedSeq) continue;
          this.#appliedSeq = seq;
          this.#apply(event);
        }
        this.#joined.resolve();
      },
      () => {},
    );
  }

  #apply(event: TabEvent): void {
    switch (event.type) {
      case 'snapshots':
        this.#store.upsert(event.snapshots as DocumentSnapshot[]);
        return;
      case 'statuses':
        this.#statuses$.next([...(event.statuses as RemoteStatus[])]);
        return;
      case 'deadLetters':
        this.#deadLetters = [...(event.deadLetters as DeadLetter[])];
        return;
      case 'bus':
        this.#events$.next(event.event as BusEvent);
        return;
      case 'status':
        this.#leaderStatus = event.status as ReactorStatus;
        return;
    }
  }

  /** A write of this tab goes to the leader (this tab itself while it leads); the jobs of one tick travel together. */
  #forward(job: ForwardedJob): Promise<JobSuccess> {
    return new Promise<JobSuccess>((resolve, reject) => {
      if (this.#batch === undefined) {
        const batch: ForwardBatch = { jobs: [], waiters: [] };
        this.#batch = batch;
        queueMicrotask(() => {
          this.#batch = undefined;
          this.#calls.call('submit', { jobs: batch.jobs }).then(
            (answer) => {
              const outcomes = answer as (JobOutcome | { ok: false; error: ReactorErrorData })[];
              batch.waiters.forEach((waiter, i) => {
                const outcome = outcomes[i];
                if (outcome?.ok === true) waiter.resolve(outcome as JobSuccess);
                else waiter.reject(ReactorError.fromData(outcome?.ok === false ? outcome.error : noAnswer));
              });
            },
            (error: unknown) => {
              for (const waiter of batch.waiters) waiter.reject(error);
            },
          );
        });
      }
      this.#batch.jobs.push(job);
      this.#batch.waiters.push({ resolve, reject });
    });
  }

  // ─── The public reactor ───────────────────────────────────────────────────────────────────────

  #ensureRunning = (what: string) => {
    if (this.#role === 'stopping' || this.#role === 'stopped') {
      throw new ReactorError(
        'stopped',
        `${what}: reactor "${this.#reactorId}" is stopped; open it again with createReactor`,
      );
    }
  };

  #facade(): Reactor {
    const tab = this;
    // One path in both roles: every write carries a write id and goes to the leader, served in
    // this tab while it leads; a write in flight when this tab steps down goes on to the next leader.
    const documents = createDocumentsApi({
      models: this.#settings.models,
      newId: this.#settings.newId,
      submit: (make) => {
        const { seq: _seq, ...job } = make(`w-${this.#settings.newId(16)}`, 0) as Job;
        return this.#forward(job as ForwardedJob);
      },
      snapshots: {
        get: (documentId, branch) => this.#store.get(documentId, branch),
        observe: (documentId, branch) => this.#store.observe(documentId, branch),
        list: () => this.#store.list(),
      },
      readLog: async (documentId, scope, branch) =>
        (await this.#calls.call('operations', { documentId, scope, branch })) as Operation[],
      ensureRunning: this.#ensureRunning,
    });
    const core = () => this.#core?.reactor;
    const sync: SyncApi = {
      status$: this.#statuses$.asObservable(),
      async add(options: RemoteOptions) {
        tab.#ensureRunning('sync.add');
        const previous = tab.#localRemotes.get(options.name)?.channel;
        tab.#localRemotes.set(options.name, options);
        const leader = core();
        // A follower keeps the channel for when it leads; only the leader tab connects.
        if (leader === undefined) options.channel.link?.park?.();
        else await leader.sync.add(lent(options));
        if (previous !== undefined && previous !== options.channel) await previous.close();
      },
      async remove(name) {
        tab.#ensureRunning('sync.remove');
        const own = tab.#localRemotes.get(name)?.channel;
        tab.#localRemotes.delete(name);
        await own?.close();
        const leader = core();
        if (leader !== undefined) await leader.sync.remove(name);
        else await tab.#calls.call('remove', { name });
      },
      status: (name) => core()?.sync.status(name) ?? tab.#statuses$.value.find((status) => status.name === name),
      list: () => core()?.sync.list() ?? tab.#statuses$.value,
      settled: async (options = {}) => {
        const leader = core();
        if (leader !== undefined) return leader.sync.settled(options);
        await tab.#calls.call('settled', options);
      },
      deadLetters: () => core()?.sync.deadLetters() ?? [...tab.#deadLetters],
      retry: async (id) => {
        const leader = core();
        if (leader !== undefined) return leader.sync.retry(id);
        return (await tab.#calls.call('retry', { id })) as { resolved: boolean; reason?: ReactorErrorData };
      },
      discard: async (id) => {
        const leader = core();
        if (leader !== undefined) return leader.sync.discard(id);
        await tab.#calls.call('discard', { id });
      },
    };
    const pokes: Observable<Poke> = this.#events$.pipe(
      filter(
        (event): event is Extract<BusEvent, { type: 'operations.written' }> => event.type === 'operations.written',
      ),
      map((event) => ({ cursor: event.operations.at(-1)?.ordinal ?? 0 })),
    );
    const endpoint: Endpoint = {
      push: async (request, context) =>
        core()?.endpoint.push(request, context) ??
        ((await tab.#calls.call('push', { request, peer: context?.peer })) as PushResponse),
      pull: async (request, context) =>
        core()?.endpoint.pull(request, context) ??
        ((await tab.#calls.call('pull', { request, peer: context?.peer })) as PullResponse),
      pokes,
    };
    return {
      get id() {
        return tab.#reactorId;
      },
      get system() {
        return (core()?.system ?? tab.#tabActor) as Reactor['system'];
      },
      sync,
      endpoint,
      events$: this.#events$.asObservable(),
      createDocument: documents.createDocument,
      deleteDocument: documents.deleteDocument,
      mutate: documents.mutate,
      load: documents.load,
      operations: documents.operations,
      documents: documents.documents,
      status: () => {
        const leader = core();
        if (leader !== undefined) return leader.status();
        const waiting = tab.#calls.waiting;
        return {
          phase: tab.#role === 'stopped' ? 'stopped' : tab.#role === 'stopping' ? 'stopping' : 'running',
          role: 'follower',
          ordinal: tab.#leaderStatus?.ordinal ?? 0,
          jobs: { waiting, running: 0 },
          store: { pending: 0, committing: false, commits: 0 },
          idle: waiting === 0,
        };
      },
      whenIdle: async () => {
        tab.#ensureRunning('whenIdle');
        const leader = core();
        if (leader !== undefined) return leader.whenIdle();
        await tab.#calls.call('whenIdle', {});
      },
      stop: (options) => tab.#stop(options),
    };
  }

  #stopping: Promise<void> | undefined;
  #stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= (async () => {
      const core = this.#core;
      this.#role = 'stopping';
      // A crash: nothing more leaves this tab, not even the answers to calls in flight.
      if (options.abort === true) this.#link.close({ silent: true });
      if (this.#watchdog !== undefined) this.#settings.clock.clearTimeout(this.#watchdog);
      this.#server?.close();
      this.#server = undefined;
      this.#calls.serveLocally(undefined);
      this.#calls.close(
        new ReactorError('stopped', `reactor "${this.#reactorId}" stopped before the leader tab answered this call`),
      );
      for (const subscription of this.#coreSubscriptions) subscription.unsubscribe();
      if (core !== undefined) await core.reactor.stop(options);
      this.#core = undefined;
      await Promise.allSettled([...this.#localRemotes.values()].map(async ({ channel }) => channel.close()));
      // The next tab in line may lead once this one's last commit is done.
      this.#leadership.close();
      this.#link.close();
      this.#tabActor.send({ type: 'tab.stop' });
      this.#tabActor.stop();
      this.#role = 'stopped';
      this.#statuses$.complete();
      this.#events$.complete();
    })();
    return this.#stopping;
  }
}

/**
 * The remote as the leader's core gets it: the same channel, except that closing it is the tab's
 * call (a core that stops because this tab stops leading must leave it for the next time).
 */
function lent(options: RemoteOptions): RemoteOptions {
  const { channel } = options;
  const borrowed: Channel = {
    push: (request) => channel.push(request),
    pull: (request) => channel.pull(request),
    ...(channel.pokes === undefined ? {} : { pokes: channel.pokes }),
    ...(channel.connection === undefined ? {} : { connection: channel.connection }),
    ...(channel.link === undefined ? {} : { link: channel.link }),
    close: () => {},
  };
  return { ...options, channel: borrowed };
}

const noAnswer: ReactorErrorData = { kind: 'internal', message: 'the leader tab sent no outcome', retryable: false };

/** Whether a store failure is a fenced commit (a newer leader took the database over). */
function isFenced(error: ReactorErrorData): boolean {
  return error.kind === 'conflict' && /newer leader/.test(error.message);
}
