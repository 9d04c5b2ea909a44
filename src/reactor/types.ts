import type { Observable } from 'rxjs';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { BusEvent } from '../actors/eventBus.js';
import type { RetryPolicy } from '../machines/jobRun.js';
import type { reactorMachine } from '../machines/reactor.js';
import type { Clock } from '../model/clock.js';
import type { DocumentModel } from '../model/documentModel.js';
import type { Endpoint } from '../model/sync.js';
import type { LockManagerLike, TabChannelLike, TabRole } from '../model/tabs.js';
import type { Action, DocumentSnapshot, Operation, Scope } from '../model/types.js';
import type { StorageOptions } from '../storage/schema.js';
import type { SyncApi } from './syncApi.js';

/** Options of `createReactor`. */
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
  /** Documents that run jobs at the same time; default 64. */
  readonly concurrency?: number;
  /** Most jobs of one document in one run (one transaction); default 2048. */
  readonly maxBatch?: number;
  /** Most writes in one transaction; default 2000. */
  readonly maxGroupSize?: number;
  /** A keyframe every this many ops per stream; default 500. */
  readonly keyframeInterval?: number;
  /** Retry policy for transient storage failures. */
  readonly retry?: Partial<RetryPolicy>;
  /** Source of randomness for ids and jitter; default crypto. Seed it for reproducible runs. */
  readonly random?: () => number;
  /**
   * Keep and serve documents whose model this reactor lacks, instead of refusing them as dead
   * letters (a relay such as the switchboard). Their snapshots have `state: null`; default false.
   */
  readonly relay?: boolean;
  /**
   * How far ahead of this reactor's clock a received op may be stamped (ms); default a day. An op
   * stamped later is not applied and does not move the clock: it becomes a `clock-drift` dead
   * letter that `sync.retry` can take again once its time has come.
   */
  readonly maxClockDrift?: number;
  /**
   * Accept ops of the `local` scope pushed to this reactor's endpoint; default false (a remote
   * never writes into the local scope). A pull remote accepts them when its filter names `local`.
   */
  readonly receiveLocal?: boolean;
  /**
   * How tabs of one origin share a database (browsers: Web Locks and BroadcastChannel, found on
   * their own). `false` runs this reactor alone; `locks` / `BroadcastChannel` supply them where
   * there are none (tests of several tabs in Node, with `createLockManager` from
   * `xstate-reactor/sim`); `leaderTimeoutMs` (default 10,000) is how long a follower waits on a
   * leader that holds the lock but does not answer before it takes the lock over.
   */
  readonly tabs?:
    | false
    | {
        readonly locks?: LockManagerLike;
        readonly BroadcastChannel?: new (name: string) => TabChannelLike;
        readonly leaderTimeoutMs?: number;
      };
}

/** What `reactor.status()` reports. */
export interface ReactorStatus {
  readonly phase: 'running' | 'stopping' | 'stopped';
  /**
   * `leader`: this reactor runs its queue, store and remotes (alone, or as the tab that leads the
   * others on its database); `follower`: another tab does, and this one forwards to it.
   */
  readonly role: TabRole;
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
