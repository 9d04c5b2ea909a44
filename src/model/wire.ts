import * as v from 'valibot';
import { normaliseJsonData } from './data.js';
import { ERROR_KINDS } from './errors.js';
import { isHlcTimestamp } from './hlc.js';
import { fields, type Infer, integer, listOf, ownRecord, record, text } from './schema.js';
import { SCOPES, type Scope } from './types.js';

/**
 * The wire format, described once: every frame of the protocol and every body a channel carries
 * (push and pull requests and their answers, ops, filters, errors). The TypeScript types are
 * inferred from these schemas; `parseWire` (schema.ts) reads a value with one and formats what is
 * wrong with it. Every transport carries these values: the in-memory channel structured-clones
 * them, BroadcastChannel and WebSocket put them in frames.
 */

/** The protocol version this side speaks; a frame of another version closes the connection. */
export const PROTOCOL_VERSION = 2;

/** The longest id, document id, branch, type or origin an op may carry. */
export const MAX_FIELD_LENGTH = 1024;

const cursor = integer('must be a non-negative integer', 0);
const count = integer('must be a count', 0);
const isScope = (value: unknown): value is Scope => SCOPES.includes(value as Scope);
const isString = (value: unknown): value is string => typeof value === 'string';
/** A field a receiver reads when it is a string and otherwise ignores (who answered). */
const lenientFrom = v.fallback(v.optional(v.string()), undefined);

// ---------------------------------------------------------------------------------------------
// Operations

/** An op's input, if any: JSON data, kept in its normal form (keys sorted, frozen; see `toJsonData`). */
const input = v.optional(
  v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const result = normaliseJsonData(dataset.value);
      if (result.ok) return result.value;
      addIssue({ message: result.reason });
      return NEVER;
    }),
  ),
);

/**
 * An operation as it travels between reactors and into storage: every field present and of its
 * type (own members only), the input JSON data in normal form. Other members (`index`,
 * `ordinal`, …) are left out. Its id is checked against its content elsewhere (`checkIncoming`).
 * Fields are checked in the order below (the first problem is the one reported) and come out in
 * the order of the type.
 */
export const operation = v.pipe(
  ownRecord(
    {
      scope: v.picklist(SCOPES, `must be one of ${SCOPES.join(', ')}`),
      timestamp: v.custom<string>(
        (value) => isHlcTimestamp(value) && value.length <= MAX_FIELD_LENGTH,
        'must be an HLC timestamp "wall:logical:node"',
      ),
      input,
      id: text(MAX_FIELD_LENGTH),
      documentId: text(MAX_FIELD_LENGTH),
      branch: text(MAX_FIELD_LENGTH),
      type: text(MAX_FIELD_LENGTH),
      origin: text(MAX_FIELD_LENGTH),
    },
    'expected an operation object',
  ),
  // Always every member (`input` is `undefined` when there is none), in one order.
  v.transform((op) => ({
    id: op.id,
    documentId: op.documentId,
    scope: op.scope,
    branch: op.branch,
    type: op.type,
    input: op.input,
    timestamp: op.timestamp,
    origin: op.origin,
  })),
);

/** An operation as it travels between reactors and into storage: no reactor-local fields. */
export type OperationEnvelope = Infer<typeof operation>;

// ---------------------------------------------------------------------------------------------
// Bodies: what a channel's push and pull carry

/** Which ops a remote exchanges. Default: every document, scopes `document` and `global`, every branch. */
export const syncFilter = record({
  documentIds: v.optional(listOf(isString, 'must be an array of strings')),
  scopes: v.optional(listOf(isScope, `must be an array of ${SCOPES.join(', ')}`)),
  branch: v.optional(text()),
});

/** Which ops a remote exchanges. */
export type SyncFilter = Infer<typeof syncFilter>;

/**
 * The ops of a push or a pull page as a receiver reads them: an array of at most `max` items,
 * each then checked on its own (`checkIncomingBatch`), so one bad op is refused alone.
 */
const batch = (max: number) =>
  v.pipe(
    v.array(v.unknown(), 'must be an array'),
    v.rawCheck(({ dataset, addIssue }) => {
      if (dataset.typed && dataset.value.length > max) {
        addIssue({
          message: `batch of ${dataset.value.length} operations exceeds the limit of ${max}; send smaller batches`,
        });
      }
    }),
  );

const pushRequestFields = {
  from: v.custom<string>((value) => typeof value === 'string' && value.length > 0, 'must name the sending reactor'),
  operations: v.array(operation),
  cursor,
};

/** Ops sent to a remote's endpoint. `cursor` is the sender's ordinal of the last op scanned. */
export const pushRequest = record(pushRequestFields);

/** Ops sent to a remote's endpoint. `cursor` is the sender's ordinal of the last op scanned. */
export type PushRequest = Infer<typeof pushRequest>;

/** A push request as an endpoint reads it: at most `max` ops, each checked on its own afterwards. */
export const pushRequestBatch = (max: number) => record({ ...pushRequestFields, operations: batch(max) });

const errorDataFields = {
  kind: v.picklist(ERROR_KINDS, `must be one of ${ERROR_KINDS.join(', ')}`),
  message: v.string('must be a string'),
  retryable: v.boolean('must be a boolean'),
};

/** A failure as plain data: what an error frame and a refused op carry. */
export const errorData = record(errorDataFields);

/** Serialisable form of a `ReactorError`, as carried in machine context, events and frames. */
export type ReactorErrorData = Infer<typeof errorData>;

/** An op the receiver refused, and why. */
export const rejectedOperation = record({
  id: v.string('must be a string'),
  // Read leniently: a reason is retryable only when it says `retryable: true`.
  reason: record({ ...errorDataFields, retryable: v.optional(v.fallback(v.boolean(), false), false) }),
});

/** An op the receiver refused, and why. */
export type RejectedOperation = Infer<typeof rejectedOperation>;

/** The receiver's answer, sent once accepted ops are committed. */
export const pushResponse = record({
  /** The receiving reactor's id (lets the sender recognise ops that came from it). */
  from: lenientFrom,
  rejected: v.array(rejectedOperation, 'must be an array'),
  accepted: count,
  duplicates: count,
  cursor,
});

/** The receiver's answer, sent once accepted ops are committed. */
export type PushResponse = Infer<typeof pushResponse>;

const pullRequestFields = {
  limit: count,
  from: v.optional(v.string('must be a string')),
  filter: v.optional(syncFilter),
  cursor,
};

/** A request for the serving reactor's ops past `cursor` (one of its ordinals). */
export const pullRequest = record(pullRequestFields);

/** A request for the serving reactor's ops past `cursor` (one of its ordinals). */
export type PullRequest = Infer<typeof pullRequest>;

/** A pull request as an endpoint reads it: a page of at most `max` ops. */
export const pullRequestUpTo = (max: number) =>
  record({ ...pullRequestFields, limit: integer(`must be an integer from 0 to ${max}`, 0, max) });

const pullResponseFields = {
  /** The serving reactor's id. */
  from: lenientFrom,
  operations: v.array(operation),
  hasMore: v.boolean('must be a boolean'),
  cursor,
};

/** A page of ops, with the cursor to ask from next. */
export const pullResponse = record(pullResponseFields);

/** A page of ops, with the cursor to ask from next. */
export type PullResponse = Infer<typeof pullResponse>;

/** A pulled page as a puller reads it: the page first, then each op on its own. */
export const pullResponseBatch = record({ ...pullResponseFields, operations: batch(Number.POSITIVE_INFINITY) });

/** Only who answered a pull (a probe's answer). */
export const pullAnswerFrom = record({ from: lenientFrom });

const pokeFields = { cursor: integer('must be an integer') };

/** A hint that the serving side has new ops (up to its ordinal `cursor`). */
export const poke = record(pokeFields);

/** A hint that the serving side has new ops. */
export type Poke = Infer<typeof poke>;

// ---------------------------------------------------------------------------------------------
// Frames: how push, pull and their answers travel over a message transport (protocol.ts)

const version = v.literal(PROTOCOL_VERSION, `must be ${PROTOCOL_VERSION}`);
const requestId = integer('must be a non-negative integer', 0);

const helloFrame = fields({
  v: version,
  type: v.literal('hello'),
  /** The client's reactor id (for logs and echo prevention on the server side). */
  client: v.optional(text(200)),
  token: v.optional(text(4096, 0)),
});

const requestFrame = fields({
  v: version,
  type: v.picklist(['push', 'pull']),
  id: requestId,
  /** A push or pull request, read by the endpoint. */
  body: v.unknown(),
});

const welcomeFrame = fields({
  v: version,
  type: v.literal('welcome'),
  server: v.string('must be a string'),
  maxFrameBytes: integer('must be a positive integer', 1),
});

const resultFrame = fields({
  v: version,
  type: v.literal('result'),
  id: requestId,
  /** A push or pull response, read by the caller. */
  body: v.unknown(),
});

const errorFrame = fields({
  v: version,
  type: v.literal('error'),
  id: v.optional(requestId),
  error: errorData,
});

const pokeFrame = fields({ v: version, type: v.literal('poke'), ...pokeFields });

/** What a client sends: `hello`, then numbered `push` / `pull` requests. */
export const clientFrame = v.variant('type', [helloFrame, requestFrame], 'must be one of hello, push, pull');
/** What the serving side sends: `welcome`, a `result` or an `error` per request, and `poke`s. */
export const serverFrame = v.variant(
  'type',
  [welcomeFrame, resultFrame, errorFrame, pokeFrame],
  'must be one of welcome, result, error, poke',
);

/** What a client sends. */
export type ClientFrame = v.InferOutput<typeof clientFrame>;
/** What the serving side sends. */
export type ServerFrame = v.InferOutput<typeof serverFrame>;
/** A push or pull request frame. */
export type RequestFrame = v.InferOutput<typeof requestFrame>;
