import { BehaviorSubject, type Observable } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import type { RemoteContext, RemoteInput } from '../machines/remote/remoteSetup.js';
import { remoteActorId } from '../machines/syncManager.js';
import { ReactorError, type ReactorErrorData } from '../model/errors.js';
import {
  type Channel,
  parsePushResponse,
  parseSyncFilter,
  SYNC_MODES,
  type SyncFilter,
  type SyncMode,
} from '../model/sync.js';
import type { JobOutcome, LoadJob } from '../model/types.js';
import { assertId, describe } from '../model/validate.js';
import type { StoreWrite, WriteResult } from '../storage/operationsRepository.js';
import type { DeadLetterRow, ReactorDatabase, RemoteRow } from '../storage/schema.js';
import { readDeadLetters } from '../storage/syncRepository.js';

/** The largest push batch or pull page an endpoint accepts. */
export const MAX_BATCH = 5000;

/** Options of `sync.add`. */
export interface RemoteOptions {
  readonly name: string;
  readonly channel: Channel;
  /** Default: the persisted mode of this remote, else `ping-pong`. */
  readonly mode?: SyncMode;
  readonly filter?: SyncFilter;
  /** Pull interval (ms); default 1000. */
  readonly pullIntervalMs?: number;
  /** How long push waits for more writes before sending (ms); default 5. */
  readonly debounceMs?: number;
  /** Ops per push batch and pull page; default 2000 (the endpoint accepts up to 5000). */
  readonly batchSize?: number;
}

/** A remote's state as the app sees it. */
export interface RemoteStatus {
  readonly name: string;
  readonly mode: SyncMode;
  /** `detached` (no channel since start), `idle`, `syncing`, `backingOff`, `offline` or `stopped`. */
  readonly phase: 'detached' | 'idle' | 'syncing' | 'backingOff' | 'offline' | 'stopped';
  /** State of each region (`disabled` when the mode does not use it). */
  readonly push: string;
  readonly pull: string;
  /** Local ops not yet sent and acknowledged (ordinal distance). */
  readonly pending: number;
  readonly pushedCursor: number;
  readonly pulledCursor: number;
  /** How long the oldest unacknowledged local write has waited (ms; 0 when caught up). */
  readonly lagMs: number;
  readonly pushed: number;
  readonly pulled: number;
  readonly retries: number;
  readonly lastError: ReactorErrorData | undefined;
}

/** A refused op with its reason (as stored). */
export type DeadLetter = DeadLetterRow;

/** The sync API of a reactor. */
export interface SyncApi {
  add(options: RemoteOptions): Promise<void>;
  remove(name: string): Promise<void>;
  status(name: string): RemoteStatus | undefined;
  list(): RemoteStatus[];
  readonly status$: Observable<RemoteStatus[]>;
  settled(options?: { timeoutMs?: number }): Promise<void>;
  deadLetters(): Promise<DeadLetter[]>;
  retry(id: string): Promise<{ resolved: boolean; reason?: ReactorErrorData }>;
  discard(id: string): Promise<void>;
}

/** What the sync API needs from the reactor. */
export interface SyncApiPorts {
  readonly reactorId: string;
  readonly db: ReactorDatabase;
  readonly syncManager: () => AnyActorRef | undefined;
  readonly channels: Map<string, Channel>;
  readonly remotes: Map<string, RemoteRow>;
  readonly currentOrdinal: () => number;
  readonly written$: Observable<unknown>;
  readonly commit: (write: Omit<StoreWrite, 'writeId'>) => Promise<WriteResult>;
  readonly submitLoad: (job: Omit<LoadJob, 'kind' | 'id' | 'seq'>) => Promise<JobOutcome & { ok: true }>;
  readonly ensureRunning: (what: string) => void;
  readonly now: () => number;
  readonly seed: () => number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
}

function regionState(value: unknown, region: 'push' | 'pull'): string {
  const states = value as Record<string, unknown> | undefined;
  const state = states?.[region];
  if (state === undefined) return 'disabled';
  if (typeof state === 'string') return state;
  return Object.keys(state as object)[0] ?? 'unknown';
}

function phaseOf(push: string, pull: string): RemoteStatus['phase'] {
  const both = [push, pull];
  if (both.includes('stopped')) return 'stopped';
  if (both.includes('offline') || both.includes('probing')) return 'offline';
  if (both.includes('backingOff')) return 'backingOff';
  if (both.some((s) => s === 'sending' || s === 'debouncing' || s === 'pulling' || s === 'starting')) return 'syncing';
  return 'idle';
}

/** Builds `reactor.sync`. */
export function createSyncApi(ports: SyncApiPorts): SyncApi & { closeAll(): Promise<void> } {
  const statuses$ = new BehaviorSubject<RemoteStatus[]>([]);
  const watched = new Map<string, { unsubscribe(): void }>();
  const behindSince = new Map<string, number>();

  const child = (name: string): AnyActorRef | undefined =>
    ports.syncManager()?.getSnapshot().children[remoteActorId(name)] as AnyActorRef | undefined;

  const statusOf = (name: string): RemoteStatus | undefined => {
    const row = ports.remotes.get(name);
    if (row === undefined) return undefined;
    const ref = child(name);
    if (ref === undefined) {
      return {
        name,
        mode: row.mode,
        phase: 'detached',
        push: 'detached',
        pull: 'detached',
        pending: 0,
        pushedCursor: 0,
        pulledCursor: 0,
        lagMs: 0,
        pushed: 0,
        pulled: 0,
        retries: 0,
        lastError: undefined,
      };
    }
    const snapshot = ref.getSnapshot() as { value: unknown; context: RemoteContext };
    const context = snapshot.context;
    const push = regionState(snapshot.value, 'push');
    const pull = regionState(snapshot.value, 'pull');
    const pending = push === 'disabled' ? 0 : Math.max(0, ports.currentOrdinal() - context.pushCursor);
    if (pending === 0) behindSince.delete(name);
    else if (!behindSince.has(name)) behindSince.set(name, ports.now());
    const since = behindSince.get(name);
    return {
      name,
      mode: context.mode,
      phase: phaseOf(push, pull),
      push,
      pull,
      pending,
      pushedCursor: context.pushCursor,
      pulledCursor: context.pullCursor,
      lagMs: since === undefined ? 0 : ports.now() - since,
      pushed: context.pushed,
      pulled: context.pulled,
      retries: context.retries,
      lastError: context.lastError,
    };
  };

  const list = () => [...ports.remotes.keys()].sort().flatMap((name) => statusOf(name) ?? []);
  const publish = () => statuses$.next(list());
  const writtenSubscription = ports.written$.subscribe(() => publish());

  const watch = (name: string) => {
    watched.get(name)?.unsubscribe();
    const ref = child(name);
    if (ref === undefined) return;
    watched.set(name, ref.subscribe({ next: publish, error: publish }));
  };

  const detach = async (name: string) => {
    watched.get(name)?.unsubscribe();
    watched.delete(name);
    ports.syncManager()?.send({ type: 'sync.detach', name });
    const channel = ports.channels.get(name);
    ports.channels.delete(name);
    await channel?.close();
  };

  const api: SyncApi & { closeAll(): Promise<void> } = {
    status$: statuses$.asObservable(),

    async add(options) {
      ports.ensureRunning('sync.add');
      if (typeof options !== 'object' || options === null) {
        throw new ReactorError('validation', 'sync.add expects { name, channel, mode?, filter?, pullIntervalMs? }');
      }
      assertId(options.name, 'sync.add: "name"');
      const channel = options.channel as Partial<Channel> | undefined;
      if (
        typeof channel?.push !== 'function' ||
        typeof channel.pull !== 'function' ||
        typeof channel.close !== 'function'
      ) {
        throw new ReactorError(
          'validation',
          `sync.add("${options.name}"): "channel" must have push, pull and close functions, got ${describe(options.channel)}`,
        );
      }
      const persisted = ports.remotes.get(options.name);
      const mode = options.mode ?? persisted?.mode ?? 'ping-pong';
      if (!SYNC_MODES.includes(mode)) {
        throw new ReactorError(
          'validation',
          `sync.add("${options.name}"): "mode" must be one of ${SYNC_MODES.join(', ')}, got ${describe(mode)}`,
        );
      }
      let filter: SyncFilter | undefined;
      try {
        filter =
          options.filter === undefined
            ? persisted?.filter
            : parseSyncFilter(options.filter, `sync.add("${options.name}")`);
      } catch (error) {
        throw new ReactorError('validation', (error as Error).message);
      }
      const number = (value: number | undefined, fallback: number, what: string, min: number, max = Infinity) => {
        const n = value ?? fallback;
        if (!Number.isFinite(n) || n < min || n > max) {
          throw new ReactorError(
            'validation',
            `sync.add("${options.name}"): "${what}" must be a number from ${min}${max === Infinity ? '' : ` to ${max}`}, got ${describe(value)}`,
          );
        }
        return n;
      };
      const row: RemoteRow = {
        name: options.name,
        mode,
        ...(filter === undefined ? {} : { filter }),
        pullIntervalMs: number(options.pullIntervalMs, persisted?.pullIntervalMs ?? 1000, 'pullIntervalMs', 1),
        debounceMs: number(options.debounceMs, persisted?.debounceMs ?? 5, 'debounceMs', 0),
        batchSize: number(options.batchSize, persisted?.batchSize ?? 2000, 'batchSize', 1, MAX_BATCH),
      };
      await ports.commit({ remotes: [row] });
      const [pushCursor, pullCursor] = await Promise.all([
        ports.db.cursors.get([row.name, 'push']),
        ports.db.cursors.get([row.name, 'pull']),
      ]);
      const previous = ports.channels.get(row.name);
      if (previous !== undefined && previous !== options.channel) await previous.close();
      ports.channels.set(row.name, options.channel);
      ports.remotes.set(row.name, row);
      const input: RemoteInput = {
        name: row.name,
        mode: row.mode,
        ...(row.filter === undefined ? {} : { filter: row.filter }),
        batchSize: row.batchSize,
        debounceMs: row.debounceMs,
        pullIntervalMs: row.pullIntervalMs,
        retry: ports.retry,
        offlineAfter: 3,
        pushCursor: pushCursor?.cursor ?? 0,
        pullCursor: pullCursor?.cursor ?? 0,
        localOrdinal: ports.currentOrdinal(),
        seed: ports.seed(),
      };
      ports.syncManager()?.send({ type: 'sync.attach', remote: input });
      watch(row.name);
      publish();
    },

    async remove(name) {
      ports.ensureRunning('sync.remove');
      if (!ports.remotes.has(name)) throw new ReactorError('not-found', `sync.remove: no remote "${name}"`);
      await detach(name);
      ports.remotes.delete(name);
      await ports.commit({ dropRemotes: [name] });
      publish();
    },

    status: (name) => statusOf(name),
    list,

    settled(options = {}) {
      const targets = [...ports.remotes.keys()].filter((name) => child(name) !== undefined);
      const wanted = new Map<string, number>();
      for (const name of targets) {
        const context = child(name)?.getSnapshot().context as RemoteContext;
        wanted.set(name, context.pullRequested + 1);
        child(name)?.send({ type: 'sync.pullNow' });
      }
      return new Promise<void>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const subscriptions: { unsubscribe(): void }[] = [];
        const finish = (error?: ReactorError) => {
          if (timer !== undefined) clearTimeout(timer);
          for (const s of subscriptions) s.unsubscribe();
          if (error === undefined) resolve();
          else reject(error);
        };
        const check = () => {
          for (const name of targets) {
            const ref = child(name);
            if (ref === undefined) continue;
            const snapshot = ref.getSnapshot() as { value: unknown; context: RemoteContext };
            const push = regionState(snapshot.value, 'push');
            const pull = regionState(snapshot.value, 'pull');
            if (push === 'stopped' || pull === 'stopped') {
              const cause = snapshot.context.lastError;
              finish(
                new ReactorError(
                  cause?.kind ?? 'internal',
                  `remote "${name}" stopped: ${cause?.message ?? 'unknown error'}`,
                  {
                    retryable: false,
                  },
                ),
              );
              return true;
            }
            const pushDone =
              push === 'disabled' || (push === 'idle' && snapshot.context.pushCursor >= ports.currentOrdinal());
            const pullDone =
              pull === 'disabled' || (pull === 'idle' && snapshot.context.pullServed >= (wanted.get(name) ?? 0));
            if (!pushDone || !pullDone) return false;
          }
          finish();
          return true;
        };
        if (check()) return;
        for (const name of targets) {
          const ref = child(name);
          if (ref !== undefined) subscriptions.push(ref.subscribe({ next: check, error: check, complete: check }));
        }
        subscriptions.push(ports.written$.subscribe(() => check()));
        if (options.timeoutMs !== undefined) {
          timer = setTimeout(
            () => finish(new ReactorError('timeout', `sync.settled: not settled within ${options.timeoutMs} ms`)),
            options.timeoutMs,
          );
        }
      });
    },

    async deadLetters() {
      return (await readDeadLetters(ports.db)).map((row) => ({ ...row }));
    },

    async retry(id) {
      ports.ensureRunning('sync.retry');
      const row = await ports.db.deadLetters.get(id);
      if (row === undefined) throw new ReactorError('not-found', `sync.retry: no dead letter "${id}"`);
      if (row.direction === 'push') {
        const channel = ports.channels.get(row.remote);
        if (channel === undefined) {
          throw new ReactorError('network', `sync.retry: remote "${row.remote}" has no channel attached`, {
            retryable: true,
          });
        }
        const cursor = (child(row.remote)?.getSnapshot().context as RemoteContext | undefined)?.pushCursor ?? 0;
        const response = parsePushResponse(
          await channel.push({ from: ports.reactorId, operations: [row.operation], cursor }),
        );
        const refused = response.rejected.find((r) => r.id === row.operation.id);
        if (refused === undefined) {
          await ports.commit({ dropDeadLetters: [id] });
          return { resolved: true };
        }
        await ports.commit({ deadLetters: [{ ...row, reason: refused.reason, at: ports.now() }] });
        return { resolved: false, reason: refused.reason };
      }
      const outcome = await ports.submitLoad({
        documentId: row.operation.documentId,
        operations: [row.operation],
        source: row.remote,
        direction: row.direction,
        retrying: [id],
      });
      const refused = outcome.rejected[0];
      return refused === undefined ? { resolved: true } : { resolved: false, reason: refused.reason };
    },

    async discard(id) {
      ports.ensureRunning('sync.discard');
      const row = await ports.db.deadLetters.get(id);
      if (row === undefined) throw new ReactorError('not-found', `sync.discard: no dead letter "${id}"`);
      await ports.commit({ dropDeadLetters: [id] });
    },

    async closeAll() {
      writtenSubscription.unsubscribe();
      await Promise.all([...ports.channels.keys()].map((name) => detach(name)));
      statuses$.complete();
    },
  };
  return api;
}
