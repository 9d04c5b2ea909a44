import type { ChannelLink } from './connection.js';
import { checkIncomingBatch, type IncomingPolicy, type RefusedIncoming } from './envelope.js';
import { parseWire } from './schema.js';
import {
  type Poke,
  type PullRequest,
  type PullResponse,
  type PushRequest,
  type PushResponse,
  pullAnswerFrom,
  pullRequestUpTo,
  pullResponseBatch,
  pushRequestBatch,
  pushResponse,
  type SyncFilter,
  syncFilter,
} from './wire.js';

export { DEFAULT_SYNC_SCOPES, includesLocal, matchesFilter } from './syncFilter.js';
// The bodies a channel carries: their schemas and types are in the wire module.
export type {
  Poke,
  PullRequest,
  PullResponse,
  PushRequest,
  PushResponse,
  RejectedOperation,
  SyncFilter,
} from './wire.js';

/** How a remote synchronises: send our ops, fetch theirs, or both. */
export const SYNC_MODES = ['push', 'pull', 'ping-pong'] as const;
/** One of {@link SYNC_MODES}. */
export type SyncMode = (typeof SYNC_MODES)[number];

/** How far sync got with a remote in one direction: our ordinal for push, theirs for pull. */
export interface SyncCursor {
  readonly remote: string;
  readonly direction: 'push' | 'pull';
  readonly cursor: number;
}

/** Something that can be subscribed to, like an rxjs Observable. */
export interface PokeSource {
  subscribe(observer: (poke: Poke) => void): { unsubscribe(): void };
}

/** Whether a connection-based transport can reach its remote right now. */
export type ConnectionState = 'connecting' | 'online' | 'offline' | 'refused' | 'closed';

/** A transport's connection state and its changes (a remote's status shows it). */
export interface ConnectionSource {
  readonly state: ConnectionState;
  subscribe(observer: (state: ConnectionState) => void): { unsubscribe(): void };
}

/** Transport to one remote. */
export interface Channel {
  push(request: PushRequest): Promise<PushResponse>;
  pull(request: PullRequest): Promise<PullResponse>;
  readonly pokes?: PokeSource;
  /** Present on transports with a connection (WebSocket). */
  readonly connection?: ConnectionSource;
  /**
   * The transport's connection statechart (WebSocket, BroadcastChannel peer): `sync.add` runs it
   * as the child `connection` of the remote, so the inspector shows it; without a reactor the
   * channel runs it itself.
   */
  readonly link?: ChannelLink;
  close(): void | Promise<void>;
}

/**
 * Who delivered a request, as the transport knows it (the connection, the tab, the in-memory
 * peer). The source of pushed ops is this peer, never the `from` a request body claims.
 */
export interface RequestContext {
  readonly peer: string;
}

/** What a reactor serves to others. Requests are `unknown`: they are parsed at this boundary. */
export interface Endpoint {
  push(request: unknown, context?: RequestContext): Promise<PushResponse>;
  pull(request: unknown, context?: RequestContext): Promise<PullResponse>;
  readonly pokes: PokeSource;
}

/** Reading schemas per limit: an endpoint asks with the same limits every time. */
function memo<S>(make: (max: number) => S): (max: number) => S {
  const made = new Map<number, S>();
  return (max) => {
    let schema = made.get(max);
    if (schema === undefined) {
      schema = make(max);
      made.set(max, schema);
    }
    return schema;
  };
}

const pushRequestOf = memo(pushRequestBatch);
const pullRequestOf = memo(pullRequestUpTo);

/** Parses a filter from outside (`where` names the request or call it came with). */
export function parseSyncFilter(value: unknown, where: string): SyncFilter | undefined {
  if (value === undefined) return undefined;
  return parseWire(syncFilter, value, where, ['filter']);
}

/** A push request once parsed: the ops that passed the checks, and those refused with why. */
export interface ParsedPushRequest extends PushRequest {
  readonly refused: readonly RefusedIncoming[];
}

/**
 * Parses a push request. A request that is not one (not an object, no ops array, too many ops, a
 * bad cursor) is a `protocol` error; each op is then checked on its own (see `checkIncoming`), so
 * one bad op is refused while the rest of the batch is kept.
 */
export function parsePushRequest(value: unknown, maxBatch: number, policy: IncomingPolicy): ParsedPushRequest {
  const where = 'push request';
  const request = parseWire(pushRequestOf(maxBatch), value, where);
  const { operations, refused } = checkIncomingBatch(request.operations, where, policy);
  return { from: request.from, operations, refused, cursor: request.cursor };
}

/** Parses a pull request. */
export function parsePullRequest(value: unknown, maxLimit: number): PullRequest {
  return parseWire(pullRequestOf(maxLimit), value, 'pull request');
}

/** Parses a push response from a remote (it is untrusted too). */
export function parsePushResponse(value: unknown): PushResponse {
  return parseWire(pushResponse, value, 'push response');
}

/** A pulled page once parsed: the ops that passed the checks, and those refused with why. */
export interface ParsedPullResponse extends PullResponse {
  readonly refused: readonly RefusedIncoming[];
}

/**
 * Parses a pull response from a remote (it is untrusted too). A malformed page is a `protocol`
 * error; each op is then checked on its own, so a bad op is refused (a dead letter) while the
 * rest of the page is kept and the cursor moves past both.
 */
export function parsePullResponse(value: unknown, policy: IncomingPolicy): ParsedPullResponse {
  const where = 'pull response';
  const page = parseWire(pullResponseBatch, value, where);
  const { operations, refused } = checkIncomingBatch(page.operations, where, policy);
  return {
    ...(page.from === undefined ? {} : { from: page.from }),
    operations,
    refused,
    cursor: page.cursor,
    hasMore: page.hasMore,
  };
}

/** Reads only the serving reactor's id from a pull answer (a probe). */
export function pulledFrom(value: unknown): string | undefined {
  return parseWire(pullAnswerFrom, value, 'pull response').from;
}
