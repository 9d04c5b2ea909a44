import { EMPTY, map, Observable } from 'rxjs';
import { type EventObject, fromEventObservable, fromPromise, type Subscribable } from 'xstate';
import { linkedConnections } from '../channels/link.js';
import type { PullPageOutput, PushBatchOutput } from '../machines/remote/remoteSetup.js';
import { classifyError, ReactorError } from '../model/errors.js';
import type { DeadLetterRow } from '../model/rows.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';
import {
  type Channel,
  includesLocal,
  type PullRequest,
  parsePullResponse,
  parsePushResponse,
  pulledFrom,
  type SyncFilter,
} from '../model/sync.js';
import type { JobOutcome, LoadJob } from '../model/types.js';
import type { ScanOperations } from '../storage/syncRepository.js';
import type { EventBus } from './eventBus.js';

/** What the sync actors need. */
export interface SyncPorts {
  readonly reactorId: string;
  readonly scan: ScanOperations;
  readonly bus: EventBus;
  readonly channel: (name: string) => Channel | undefined;
  /** Enqueues a load job and resolves with its outcome (after commit). */
  readonly submitLoad: (job: Omit<LoadJob, 'kind' | 'id' | 'seq'>) => Promise<JobOutcome & { ok: true }>;
  /** Commits a sync write through the operations store. */
  readonly commit: (write: Omit<StoreWrite, 'writeId'>) => Promise<WriteResult>;
  readonly now: () => number;
}

/** Anything a channel throws becomes a ReactorError; unknown failures count as (retryable) network errors. */
export function channelError(error: unknown, what: string): ReactorError {
  return classifyError(error, { origin: 'channel', what });
}

function requireChannel(ports: SyncPorts, name: string): Channel {
  const channel = ports.channel(name);
  if (channel === undefined) {
    throw new ReactorError('network', `remote "${name}" has no channel attached; call sync.add again`, {
      retryable: true,
    });
  }
  return channel;
}

type RegionInput = { name: string; cursor: number; filter?: SyncFilter; batchSize: number; epoch?: number };

const epochOf = (input: RegionInput) => (input.epoch === undefined ? {} : { epoch: input.epoch });

/** Builds the IO actors of the push, pull and ping-pong statecharts (and of their channels' connections). */
export function createSyncLogic(ports: SyncPorts) {
  // The peer's own reactor id per remote, learned from its answers: ops it pushed to us carry it.
  const peers = new Map<string, string>();
  const learn = (name: string, from: string | undefined) => {
    if (from !== undefined) peers.set(name, from);
  };
  /**
   * Sources a push to `name` must skip: ops that came from that remote, from its reactor id (its
   * own pushes to us), and from every other remote that is the same reactor (a pull remote beside
   * a push remote to one peer).
   */
  const echoSources = (name: string): string[] => {
    const peer = peers.get(name);
    if (peer === undefined) return [name];
    const sameReactor = [...peers].filter(([, id]) => id === peer).map(([other]) => other);
    return [...new Set([name, peer, ...sameReactor])];
  };
  /** Why a remote's answer shows it is another reactor than the one we synced with, if it does. */
  const replaced = (name: string, from: string | undefined): string | undefined => {
    const known = peers.get(name);
    if (known === undefined || from === undefined || from === known) return undefined;
    return `remote "${name}" is reactor "${from}" now, not "${known}": syncing again from the start`;
  };
  // The next batch starts from the cursor in memory; a cursor write lost in a crash only means
  // those ops are sent again, and the receiver skips them. So cursor writes are not awaited.
  const persistCursor = (cursor: { remote: string; direction: 'push'; cursor: number }) => {
    ports.commit({ cursors: [cursor] }).catch(() => {});
  };

  const pushBatch = fromPromise<PushBatchOutput, RegionInput>(async ({ input }) => {
    const channel = requireChannel(ports, input.name);
    const page = await ports.scan(input.cursor, input.batchSize, input.filter, { sources: echoSources(input.name) });
    const cursor = { remote: input.name, direction: 'push' as const, cursor: page.cursor };
    if (page.operations.length === 0) {
      persistCursor(cursor);
      return { cursor: page.cursor, sent: 0 };
    }
    let raw: unknown;
    try {
      raw = await channel.push({ from: ports.reactorId, operations: page.operations, cursor: page.cursor });
    } catch (error) {
      throw channelError(error, `push to "${input.name}"`);
    }
    const response = parsePushResponse(raw);
    const reset = replaced(input.name, response.from);
    learn(input.name, response.from);
    if (reset !== undefined) return { cursor: 0, sent: 0, reset, ...epochOf(input) };
    const byId = new Map(page.operations.map((op) => [op.id, op]));
    const deadLetters: DeadLetterRow[] = [];
    for (const rejected of response.rejected) {
      const operation = byId.get(rejected.id);
      if (operation === undefined) continue;
      deadLetters.push({
        id: `push:${input.name}:${operation.id}`,
        remote: input.name,
        direction: 'push',
        operation,
        reason: rejected.reason,
        at: ports.now(),
      });
    }
    if (deadLetters.length > 0) await ports.commit({ cursors: [cursor], deadLetters });
    else persistCursor(cursor);
    return { cursor: page.cursor, sent: page.operations.length, ...epochOf(input) };
  });

  const pullPage = fromPromise<PullPageOutput, RegionInput>(async ({ input }) => {
    const channel = requireChannel(ports, input.name);
    const request: PullRequest = {
      from: ports.reactorId,
      cursor: input.cursor,
      limit: input.batchSize,
      ...(input.filter === undefined ? {} : { filter: input.filter }),
    };
    let raw: unknown;
    try {
      raw = await channel.pull(request);
    } catch (error) {
      throw channelError(error, `pull from "${input.name}"`);
    }
    // The page is checked op by op: the server may answer only what our filter asked for, and
    // may never hand us `local` ops unless the filter names that scope.
    const page = parsePullResponse(raw, {
      acceptLocal: includesLocal(input.filter),
      filter: input.filter ?? {},
    });
    // A serving log shorter than our cursor lost data (or is a new reactor): start over.
    const reset =
      replaced(input.name, page.from) ??
      (page.cursor < input.cursor
        ? `remote "${input.name}" holds ops up to ${page.cursor} only, but ${input.cursor} were pulled from it: it lost data; syncing again from the start`
        : undefined);
    learn(input.name, page.from);
    if (reset !== undefined) return { cursor: 0, received: 0, hasMore: true, reset, ...epochOf(input) };
    const cursor = page.cursor;
    const outcome = await ports.submitLoad({
      documentId: `pull:${input.name}`,
      lane: `pull:${input.name}`,
      operations: page.operations,
      source: input.name,
      direction: 'pull',
      cursor: { remote: input.name, direction: 'pull', cursor },
      ...(page.refused.length === 0 ? {} : { refused: page.refused }),
    });
    return { cursor, received: outcome.stored, hasMore: page.hasMore, ...epochOf(input) };
  });

  const probe = fromPromise<void, { name: string }>(async ({ input }) => {
    const channel = requireChannel(ports, input.name);
    try {
      const from = pulledFrom(await channel.pull({ from: ports.reactorId, cursor: 0, limit: 0 }));
      // Only a first answer teaches the peer's id: a changed one is for push or pull to notice.
      if (!peers.has(input.name)) learn(input.name, from);
    } catch (error) {
      throw channelError(error, `probe of "${input.name}"`);
    }
  });

  const writtenOrdinals = fromEventObservable(
    () =>
      ports.bus
        .on('operations.written')
        .pipe(
          map((event) => ({ type: 'sync.written', ordinal: event.operations.at(-1)?.ordinal ?? 0 })),
        ) as Subscribable<EventObject>,
  );

  const pokes = fromEventObservable(({ input }: { input: { name: string } }) => {
    const source = ports.channel(input.name)?.pokes;
    if (source === undefined) return EMPTY as Subscribable<EventObject>;
    return new Observable<EventObject>((subscriber) => {
      const subscription = source.subscribe(() => subscriber.next({ type: 'sync.poked' }));
      return () => subscription.unsubscribe();
    }) as Subscribable<EventObject>;
  });

  // A channel's connection statechart runs under its remote; its IO is the channel's, found by name.
  const connections = linkedConnections((name) => (name === undefined ? undefined : ports.channel(name)?.link));

  return { pushBatch, pullPage, probe, writtenOrdinals, pokes, ...connections };
}
