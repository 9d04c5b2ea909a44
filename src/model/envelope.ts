import { normaliseJsonData } from './data.js';
import { classifyError, ReactorError, type ReactorErrorData } from './errors.js';
import { operationId } from './operationId.js';
import { parseWire } from './schema.js';
import { matchesFilter, type SyncFilter } from './syncFilter.js';
import { type OperationEnvelope, SCOPES, type Scope } from './types.js';
import { MAX_FIELD_LENGTH, operation } from './wire.js';

export { MAX_FIELD_LENGTH } from './wire.js';

/**
 * Parses the shape of an operation that came from outside (a channel, a file, `load`): every
 * field present and of its type, the input as JSON data in normal form (see `toJsonData`).
 * Anything else is a `protocol` error naming the field. This does not check the id: see
 * {@link checkIncoming}.
 */
export function parseOperationEnvelope(value: unknown, where: string): OperationEnvelope {
  return parseWire(operation, value, where);
}

/** What a receiver accepts besides well-formed ops with matching ids. */
export interface IncomingPolicy {
  /** Accept `local`-scope ops (they never enter from outside unless the receiver opted in). */
  readonly acceptLocal: boolean;
  /** Ops must match this filter (a pull: the server may only answer what was asked for). */
  readonly filter?: SyncFilter;
}

/**
 * Parses an op from outside and checks what holds for every reactor alike: its shape, that its
 * id is the one its content derives (so an id names one content only), and the receiver's
 * policy. Throws a `protocol` (malformed, wrong id, outside the filter) or `auth` (local scope)
 * error.
 */
export function checkIncoming(value: unknown, where: string, policy: IncomingPolicy): OperationEnvelope {
  const op = parseOperationEnvelope(value, where);
  const { id, ...content } = op;
  // The canonical writer, not JSON.stringify: integer-like keys come first in any object.
  const expected = operationId(content);
  if (id !== expected) {
    throw new ReactorError(
      'protocol',
      `${where}: id ${JSON.stringify(id)} does not match the operation's contents (expected ${JSON.stringify(expected)}); an op id is derived from what the op holds, so this op was altered or forged`,
    );
  }
  if (op.scope === 'local' && !policy.acceptLocal) {
    throw new ReactorError(
      'auth',
      `${where}: operation ${JSON.stringify(id)} is in the "local" scope, which this reactor does not accept from elsewhere`,
      { retryable: false },
    );
  }
  if (policy.filter !== undefined && !matchesFilter(op, policy.filter)) {
    throw new ReactorError(
      'protocol',
      `${where}: operation ${JSON.stringify(id)} (document ${JSON.stringify(op.documentId)}, scope ${op.scope}, branch ${JSON.stringify(op.branch)}) is outside the filter that was asked for`,
    );
  }
  return op;
}

/** An op that was refused before it could become a job, kept as a dead letter or reported back. */
export interface RefusedIncoming {
  readonly operation: OperationEnvelope;
  readonly reason: ReactorErrorData;
}

function text(record: Record<string, unknown>, name: string, fallback: string): string {
  const value = Object.hasOwn(record, name) ? record[name] : undefined;
  return typeof value === 'string' && value.length > 0 ? value.slice(0, MAX_FIELD_LENGTH) : fallback;
}

/**
 * What can be read of an op that failed {@link checkIncoming}, as an envelope a dead letter can
 * hold: string fields as they came (cut to length), the rest left empty.
 */
export function describeRefused(value: unknown, index: number): OperationEnvelope {
  const record =
    typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const normal = normaliseJsonData(Object.hasOwn(record, 'input') ? record.input : undefined);
  const input = normal.ok ? normal.value : undefined;
  const scope = Object.hasOwn(record, 'scope') ? record.scope : undefined;
  return {
    id: text(record, 'id', `#${index}`),
    documentId: text(record, 'documentId', ''),
    scope: SCOPES.includes(scope as Scope) ? (scope as Scope) : 'global',
    branch: text(record, 'branch', ''),
    type: text(record, 'type', ''),
    input,
    timestamp: text(record, 'timestamp', ''),
    origin: text(record, 'origin', ''),
  };
}

/**
 * Checks a batch of ops from outside one by one: those that pass, and those refused with why, so
 * one bad op never stops the others.
 */
export function checkIncomingBatch(
  values: readonly unknown[],
  where: string,
  policy: IncomingPolicy,
): { readonly operations: OperationEnvelope[]; readonly refused: RefusedIncoming[] } {
  const operations: OperationEnvelope[] = [];
  const refused: RefusedIncoming[] = [];
  values.forEach((value, i) => {
    try {
      operations.push(checkIncoming(value, `${where}: operation ${i}`, policy));
    } catch (error) {
      refused.push({ operation: describeRefused(value, i), reason: classifyError(error).toData() });
    }
  });
  return { operations, refused };
}
