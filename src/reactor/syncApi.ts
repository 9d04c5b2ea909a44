import { BehaviorSubject, type Observable } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import type { RemoteContext, RemoteInput } from '../machines/remote/remoteSetup.js';
import { remoteActorId } from '../machines/syncManager.js';
import type { Clock } from '../model/clock.js';
import { ReactorError, type ReactorErrorData } from '../model/errors.js';
import type { DeadLetterRow, RemoteRow } from '../model/rows.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';
import { type Channel, parsePushResponse, type SyncCursor } from '../model/sync.js';
import type { JobOutcome, LoadJob } from '../model/types.js';
import { type RemoteOptions, toRemoteRow } from './remoteOptions.js';
import { describeRemote, detachedStatus, type RemoteStatus } from './remoteStatus.js';
import { settleRemotes } from './settleRemotes.js';

export { MAX_BATCH, type RemoteOptions } from './remoteOptions.js';
export type { RemoteStatus } from './remoteStatus.js';

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
  /** Refused ops with their reasons, oldest first (kept in memory; reads nothing). */
  deadLetters(): DeadLetter[];
  retry(id: string): Promise<{ resolved: boolean; reason?: ReactorErrorData }>;
  discard(id: string): Promise<void>;
}

/** What the sync API needs from the reactor. */
export interface SyncApiPorts {
  readonly reactorId: string;
  readonly syncManager: () => AnyActorRef | undefined;
  readonly channels: Map<string, Channel>;
  readonly remotes: Map<string, RemoteRow>;
  readonly currentOrdinal: () => number;
  readonly written$: Observable<unknown>;
  /** Sync cursors as persisted at start. */
  readonly cursors: readonly SyncCursor[];
  /** Dead letters at start, and the changes each commit makes to them. */
  readonly deadLetters: readonly DeadLetterRow[];
  readonly deadLetters$: Observable<{ readonly added: readonly DeadLetterRow[]; readonly dropped: readonly string[] }>;
  readonly commit: (write: Omit<StoreWrite, 'writeId'>) => Promise<WriteResult>;
  readonly submitLoad: (job: Omit<LoadJob, 'kind' | 'id' | 'seq'>) => Promise<JobOutcome & { ok: true }>;
  readonly ensureRunning: (what: string) => void;
  readonly now: () => number;
  /** The reactor's clock: `settled({ timeoutMs })` times out on it. */
  readonly clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  readonly seed: () => number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
}

/** Builds `reactor.sync`. */
export function createSyncApi(ports: SyncApiPorts): SyncApi & { closeAll(): Promise<void> } {
  const statuses$ = new BehaviorSubject<RemoteStatus[]>([]);
  // Persisted cursors of remotes not running now (at start: all of them).
  const cursors = new Map(ports.cursors.map((row) => [`${row.remote}\u0000${row.direction}`, row.cursor]));
  // Dead letters mirrored in memory: loaded at start, kept current from the store's commits.
  const letters = new Map(ports.deadLetters.map((row) => [row.id, row]));
  const lettersSubscription = ports.deadLetters$.subscribe((change) => {
    for (const id of change.dropped) letters.delete(id);
    for (const row of change.added) letters.set(row.id, row);
  });
  const watched = new Map<string, { unsubscribe(): void }>();
  const behindSince = new Map<string, number>();

  const child = (name: string): AnyActorRef | undefined =>
    ports.syncManager()?.getSnapshot().children[remoteActorId(name)] as AnyActorRef | undefined;

  const statusOf = (name: string): RemoteStatus | undefined => {
    const row = ports.remotes.get(name);
    if (row === undefined) return undefined;
    const ref = child(name);
    if (ref === undefined) return detachedStatus(row);
    const described = describeRemote(ref, ports.currentOrdinal(), behindSince.get(name), ports.now());
    const connection = ports.channels.get(name)?.connection?.state;
    const status = connection === undefined ? described : { ...described, connection };
    if (status.pending === 0) behindSince.delete(name);
    else if (!behindSince.has(name)) behindSince.set(name, ports.now());
    return status;
  };

  const list = () => [...ports.remotes.keys()].sort().flatMap((name) => statusOf(name) ?? []);
  const publish = () => statuses$.next(list());
  const writtenSubscription = ports.written$.subscribe(() => publish());

  const watch = (name: string) => {
    watched.get(name)?.unsubscribe();
    const ref = child(name);
    if (ref === undefined) return;
    const snapshots = ref.subscribe({ next: publish, error: publish });
    const connection = ports.channels.get(name)?.connection?.subscribe(() => publish());
    watched.set(name, {
      unsubscribe: () => {
        snapshots.unsubscribe();
        connection?.unsubscribe();
      },
    });
  };

  /** Where a remote's sync stands: its statechart's cursors while it runs, else the last known. */
  const cursorsOf = (name: string): { push: number; pull: number } => {
    const context = child(name)?.getSnapshot().context as RemoteContext | undefined;
    if (context !== undefined) return { push: context.pushCursor, pull: context.pullCursor };
    return { push: cursors.get(`${name}\u0000push`) ?? 0, pull: cursors.get(`${name}\u0000pull`) ?? 0 };
  };

  const detach = async (name: string) => {
    const last = cursorsOf(name);
    cursors.set(`${name}\u0000push`, last.push);
    cursors.set(`${name}\u0000pull`, last.pull);
    watched.get(name)?.unsubscribe();
    watched.delete(name);
    // Closed before the remote stops, so its connection statechart is seen to end `closed`.
    const channel = ports.channels.get(name);
    let closing: unknown;
    try {
      closing = channel?.close();
    } catch (error) {
      closing = Promise.reject(error);
    }
    ports.syncManager()?.send({ type: 'sync.detach', name });
    ports.channels.delete(name);
    await closing;
  };

  const api: SyncApi & { closeAll(): Promise<void> } = {
    status$: statuses$.asObservable(),

    async add(options) {
      ports.ensureRunning('sync.add');
      if (typeof options !== 'object' || options === null) {
        throw new ReactorError('validation', 'sync.add expects { name, channel, mode?, filter?, pullIntervalMs? }');
      }
      const row = toRemoteRow(options, ports.remotes.get(options.name));
      // Everything up to the commit happens at once, so `add` without `await` followed by
      // `status()` or `settled()` already sees the remote.
      const { push: pushCursor, pull: pullCursor } = cursorsOf(row.name);
      const previous = ports.channels.get(row.name);
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
        pushCursor,
        pullCursor,
        localOrdinal: ports.currentOrdinal(),
        seed: ports.seed(),
        ...(options.channel.link === undefined ? {} : { link: options.channel.link.chart }),
      };
      ports.syncManager()?.send({ type: 'sync.attach', remote: input });
      watch(row.name);
      publish();
      if (previous !== undefined && previous !== options.channel) await previous.close();
      await ports.commit({ remotes: [row] });
    },

    async remove(name) {
      ports.ensureRunning('sync.remove');
      if (!ports.remotes.has(name)) throw new ReactorError('not-found', `sync.remove: no remote "${name}"`);
      await detach(name);
      ports.remotes.delete(name);
      cursors.delete(`${name}\u0000push`);
      cursors.delete(`${name}\u0000pull`);
      await ports.commit({ dropRemotes: [name] });
      publish();
    },

    status: (name) => statusOf(name),
    list,

    settled(options = {}) {
      const remotes = [...ports.remotes.keys()].flatMap((name) => {
        const ref = child(name);
        return ref === undefined ? [] : [{ name, ref }];
      });
      return settleRemotes(remotes, ports.currentOrdinal, ports.written$, options.timeoutMs, ports.clock);
    },

    deadLetters() {
      return [...letters.values()].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
    },

    async retry(id) {
      ports.ensureRunning('sync.retry');
      const row = letters.get(id);
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
      if (!letters.has(id)) throw new ReactorError('not-found', `sync.discard: no dead letter "${id}"`);
      await ports.commit({ dropDeadLetters: [id] });
    },

    async closeAll() {
      writtenSubscription.unsubscribe();
      lettersSubscription.unsubscribe();
      await Promise.all([...ports.channels.keys()].map((name) => detach(name)));
      statuses$.complete();
    },
  };
  return api;
}
