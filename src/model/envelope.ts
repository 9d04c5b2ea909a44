import { ReactorError } from './errors.js';
import { isHlcTimestamp } from './hlc.js';
import { type OperationEnvelope, SCOPES, type Scope } from './types.js';
import { describe } from './validate.js';

function field(record: Record<string, unknown>, name: string, where: string): string {
  const value = record[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw new ReactorError('protocol', `${where}: "${name}" must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/**
 * Parses an operation that came from outside (a channel, a file, `load`). Anything that is not a
 * well-formed envelope is a `protocol` error naming the field.
 */
export function parseOperationEnvelope(value: unknown, where: string): OperationEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ReactorError('protocol', `${where}: expected an operation object, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  const scope = record.scope;
  if (!SCOPES.includes(scope as Scope)) {
    throw new ReactorError('protocol', `${where}: "scope" must be one of ${SCOPES.join(', ')}, got ${describe(scope)}`);
  }
  const timestamp = record.timestamp;
  if (!isHlcTimestamp(timestamp)) {
    throw new ReactorError(
      'protocol',
      `${where}: "timestamp" must be an HLC timestamp "wall:logical:node", got ${describe(timestamp)}`,
    );
  }
  return {
    id: field(record, 'id', where),
    documentId: field(record, 'documentId', where),
    scope: scope as Scope,
    branch: field(record, 'branch', where),
    type: field(record, 'type', where),
    input: record.input,
    timestamp,
    origin: field(record, 'origin', where),
  };
}
