/**
 * The hand-written parsers of a push request that `src/model/wire.ts` replaced, kept only so that
 * `bench/wire.ts` can time the old path beside the new one in the same run. Same checks, same
 * messages, same order as before; the frame envelope around the body was checked by zod then and
 * is checked here by hand (one object of four fields: noise beside 2,048 ops).
 */
import { toJsonData } from '../src/model/data.js';
import { classifyError, ReactorError, type ReactorErrorData } from '../src/model/errors.js';
import { isHlcTimestamp } from '../src/model/hlc.js';
import { operationId } from '../src/model/operationId.js';
import { type OperationEnvelope, SCOPES, type Scope } from '../src/model/types.js';
import { describe } from '../src/model/validate.js';

const MAX_FIELD_LENGTH = 1024;

function field(record: Record<string, unknown>, name: string, where: string): string {
  const value = Object.hasOwn(record, name) ? record[name] : undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD_LENGTH) {
    throw new ReactorError(
      'protocol',
      `${where}: "${name}" must be a non-empty string of at most ${MAX_FIELD_LENGTH} characters, got ${describe(value)}`,
    );
  }
  return value;
}

/** The old `parseOperationEnvelope`. */
export function legacyParseOperationEnvelope(value: unknown, where: string): OperationEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ReactorError('protocol', `${where}: expected an operation object, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  const scope = Object.hasOwn(record, 'scope') ? record.scope : undefined;
  if (!SCOPES.includes(scope as Scope)) {
    throw new ReactorError('protocol', `${where}: "scope" must be one of ${SCOPES.join(', ')}, got ${describe(scope)}`);
  }
  const timestamp = Object.hasOwn(record, 'timestamp') ? record.timestamp : undefined;
  if (!isHlcTimestamp(timestamp) || timestamp.length > MAX_FIELD_LENGTH) {
    throw new ReactorError(
      'protocol',
      `${where}: "timestamp" must be an HLC timestamp "wall:logical:node", got ${describe(timestamp)}`,
    );
  }
  let input: unknown;
  try {
    input = toJsonData(Object.hasOwn(record, 'input') ? record.input : undefined, where);
  } catch (error) {
    throw new ReactorError('protocol', (error as Error).message, { cause: error });
  }
  return {
    id: field(record, 'id', where),
    documentId: field(record, 'documentId', where),
    scope: scope as Scope,
    branch: field(record, 'branch', where),
    type: field(record, 'type', where),
    input,
    timestamp,
    origin: field(record, 'origin', where),
  };
}

/** The old `checkIncoming` with the policy of an endpoint that does not take `local` ops. */
function legacyCheckIncoming(value: unknown, where: string): OperationEnvelope {
  const op = legacyParseOperationEnvelope(value, where);
  const { id, ...content } = op;
  const expected = operationId(content);
  if (id !== expected) throw new ReactorError('protocol', `${where}: id ${JSON.stringify(id)} does not match`);
  if (op.scope === 'local') throw new ReactorError('auth', `${where}: local`, { retryable: false });
  return op;
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

/** The request-level checks of the old `parsePushRequest`: the ops array comes back unchecked. */
export function legacyPushRequestShape(value: unknown, maxBatch: number) {
  const where = 'push request';
  const record = objectOf(value, where);
  if (typeof record.from !== 'string' || record.from.length === 0) {
    fail(where, `"from" must name the sending reactor, got ${describe(record.from)}`);
  }
  if (!Array.isArray(record.operations))
    fail(where, `"operations" must be an array, got ${describe(record.operations)}`);
  if (record.operations.length > maxBatch) {
    fail(where, `batch of ${record.operations.length} operations exceeds the limit of ${maxBatch}`);
  }
  return {
    from: record.from,
    operations: record.operations as readonly unknown[],
    cursor: cursorOf(record.cursor, where),
  };
}

/** The old `parsePushRequest`: the request, then each op checked on its own (shape, id, policy). */
export function legacyParsePushRequest(value: unknown, maxBatch: number) {
  const request = legacyPushRequestShape(value, maxBatch);
  const operations: OperationEnvelope[] = [];
  const refused: { index: number; reason: ReactorErrorData }[] = [];
  request.operations.forEach((op, i) => {
    try {
      operations.push(legacyCheckIncoming(op, `push request: operation ${i}`));
    } catch (error) {
      refused.push({ index: i, reason: classifyError(error).toData() });
    }
  });
  return { from: request.from, operations, refused, cursor: request.cursor };
}

/** A request frame checked by hand, as zod checked it before (`v`, `type`, `id`, `body`). */
export function legacyReadRequestFrame(text: string): { readonly id: number; readonly body: unknown } {
  const frame = JSON.parse(text) as unknown;
  const record = objectOf(frame, 'client frame');
  if (record.v !== 2 || (record.type !== 'push' && record.type !== 'pull') || !('body' in record)) {
    fail('client frame', 'malformed');
  }
  const id = record.id;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) fail('client frame', '"id" must be a request id');
  return { id, body: record.body };
}
