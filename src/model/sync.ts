import type { ChannelLink } from './connection.js';
import { checkIncomingBatch, type IncomingPolicy, type RefusedIncoming } from './envelope.js';
import { ERROR_KINDS, type ErrorKind, ReactorError, type ReactorErrorData } from './errors.js';
import type { SyncFilter } from './syncFilter.js';
import { type OperationEnvelope, SCOPES, type Scope } from './types.js';
import { describe } from './validate.js';

export { DEFAULT_SYNC_SCOPES, includesLocal, matchesFilter, type SyncFilter } from './syncFilter.js';

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

/** Ops sent to a remote's endpoint. `cursor` is the sender's ordinal of the last op scanned. */
export interface PushRequest {
  readonly from: string;
  readonly operations: readonly OperationEnvelope[];
  readonly cursor: number;
}

/** An op the receiver refused, and why. */
export interface RejectedOperation {
  readonly id: string;
  readonly reason: ReactorErrorData;
}

/** The receiver's answer, sent once accepted ops are committed. */
export interface PushResponse {
  /** The receiving reactor's id (lets the sender recognise ops that came from it). */
  readonly from?: string;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: readonly RejectedOperation[];
  readonly cursor: number;
}

/** A request for the serving reactor's ops past `cursor` (one of its ordinals). */
export interface PullRequest {
  readonly from?: string;
  readonly cursor: number;
  readonly filter?: SyncFilter;
  readonly limit: number;
}

/** A page of ops, with the cursor to ask from next. */
export interface PullResponse {
  /** The serving reactor's id. */
  readonly from?: string;
  readonly operations: readonly OperationEnvelope[];
  readonly cursor: number;
  readonly hasMore: boolean;
}

/** A hint that the serving side has new ops. */
export interface Poke {
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

function fail(where: string, what: string): never {
  throw new ReactorError('protocol', `${where}: ${what}`);
}

function objectOf(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(where, `expected an object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function cursorOf(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    fail(where, `"cursor" must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** Parses a filter from outside. */
export function parseSyncFilter(value: unknown, where: string): SyncFilter | undefined {
  if (value === undefined) return undefined;
  const record = objectOf(value, `${where} filter`);
  const filter: { documentIds?: string[]; scopes?: Scope[]; branch?: string } = {};
  if (record.documentIds !== undefined) {
    if (!Array.isArray(record.documentIds) || record.documentIds.some((id) => typeof id !== 'string')) {
      fail(where, `"filter.documentIds" must be an array of strings, got ${describe(record.documentIds)}`);
    }
    filter.documentIds = record.documentIds as string[];
  }
  if (record.scopes !== undefined) {
    if (!Array.isArray(record.scopes) || record.scopes.some((s) => !SCOPES.includes(s as Scope))) {
      fail(where, `"filter.scopes" must be an array of ${SCOPES.join(', ')}, got ${describe(record.scopes)}`);
    }
    filter.scopes = record.scopes as Scope[];
  }
  if (record.branch !== undefined) {
    if (typeof record.branch !== 'string' || record.branch.length === 0) {
      fail(where, `"filter.branch" must be a non-empty string, got ${describe(record.branch)}`);
    }
    filter.branch = record.branch;
  }
  return filter;
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
  const record = objectOf(value, where);
  if (typeof record.from !== 'string' || record.from.length === 0) {
    fail(where, `"from" must name the sending reactor, got ${describe(record.from)}`);
  }
  if (!Array.isArray(record.operations))
    fail(where, `"operations" must be an array, got ${describe(record.operations)}`);
  if (record.operations.length > maxBatch) {
    fail(
      where,
      `batch of ${record.operations.length} operations exceeds the limit of ${maxBatch}; send smaller batches`,
    );
  }
  const cursor = cursorOf(record.cursor, where);
  const { operations, refused } = checkIncomingBatch(record.operations, where, policy);
  return { from: record.from, operations, refused, cursor };
}

/** Parses a pull request. */
export function parsePullRequest(value: unknown, maxLimit: number): PullRequest {
  const where = 'pull request';
  const record = objectOf(value, where);
  const limit = record.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > maxLimit) {
    fail(where, `"limit" must be an integer from 0 to ${maxLimit}, got ${describe(limit)}`);
  }
  if (record.from !== undefined && typeof record.from !== 'string')
    fail(where, `"from" must be a string, got ${describe(record.from)}`);
  const filter = parseSyncFilter(record.filter, where);
  return {
    ...(typeof record.from === 'string' ? { from: record.from } : {}),
    cursor: cursorOf(record.cursor, where),
    ...(filter === undefined ? {} : { filter }),
    limit,
  };
}

function errorDataOf(value: unknown, where: string): ReactorErrorData {
  const record = objectOf(value, where);
  if (!ERROR_KINDS.includes(record.kind as ErrorKind) || typeof record.message !== 'string') {
    fail(where, `expected { kind, message, retryable }, got ${describe(value)}`);
  }
  return { kind: record.kind as ErrorKind, message: record.message, retryable: record.retryable === true };
}

/** Parses a push response from a remote (it is untrusted too). */
export function parsePushResponse(value: unknown): PushResponse {
  const where = 'push response';
  const record = objectOf(value, where);
  const count = (name: string) => {
    const n = record[name];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      fail(where, `"${name}" must be a count, got ${describe(n)}`);
    return n;
  };
  if (!Array.isArray(record.rejected)) fail(where, `"rejected" must be an array, got ${describe(record.rejected)}`);
  const rejected = record.rejected.map((item, i) => {
    const entry = objectOf(item, `${where} rejected[${i}]`);
    if (typeof entry.id !== 'string') fail(where, `rejected[${i}].id must be a string`);
    return { id: entry.id, reason: errorDataOf(entry.reason, `${where} rejected[${i}].reason`) };
  });
  return {
    ...(typeof record.from === 'string' ? { from: record.from } : {}),
    accepted: count('accepted'),
    duplicates: count('duplicates'),
    rejected,
    cursor: cursorOf(record.cursor, where),
  };
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
  const record = objectOf(value, where);
  if (!Array.isArray(record.operations))
    fail(where, `"operations" must be an array, got ${describe(record.operations)}`);
  if (typeof record.hasMore !== 'boolean') fail(where, `"hasMore" must be a boolean, got ${describe(record.hasMore)}`);
  const cursor = cursorOf(record.cursor, where);
  const { operations, refused } = checkIncomingBatch(record.operations, where, policy);
  return {
    ...(typeof record.from === 'string' ? { from: record.from } : {}),
    operations,
    refused,
    cursor,
    hasMore: record.hasMore,
  };
}

/** Reads only the serving reactor's id from a pull answer (a probe). */
export function pulledFrom(value: unknown): string | undefined {
  const record = objectOf(value, 'pull response');
  return typeof record.from === 'string' ? record.from : undefined;
}
