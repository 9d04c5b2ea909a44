import { describe, expect, it } from 'vitest';
import { ReactorError } from '../../src/model/errors.js';
import { encodeHlc } from '../../src/model/hlc.js';
import { operationId } from '../../src/model/operationId.js';
import { parseWire } from '../../src/model/schema.js';
import { parsePullResponse, parsePushResponse, parseSyncFilter, pulledFrom } from '../../src/model/sync.js';
import { operation, pullRequestUpTo, pushRequestBatch } from '../../src/model/wire.js';

function messageOf(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ReactorError);
    expect((error as ReactorError).kind).toBe('protocol');
    return (error as Error).message;
  }
  throw new Error('expected a protocol error');
}

const content = {
  documentId: 'd',
  scope: 'global' as const,
  branch: 'main',
  type: 'SET',
  input: { b: 2, a: 1 },
  timestamp: encodeHlc({ wall: 1_700_000_000_000, logical: 0 }, 'n'),
  origin: 'n',
};
const op = { id: operationId(content), ...content };

describe('the wire schema', () => {
  it('reads an op: envelope fields only, in the order of the type, the input in normal form', () => {
    const parsed = parseWire(operation, { ordinal: 3, ...op, index: 9 }, 'load');
    expect(Object.keys(parsed)).toEqual([
      'id',
      'documentId',
      'scope',
      'branch',
      'type',
      'input',
      'timestamp',
      'origin',
    ]);
    expect(Object.keys(parsed.input as object)).toEqual(['a', 'b']);
    expect(Object.isFrozen(parsed.input)).toBe(true);
    const { input: _input, ...withoutInput } = op;
    const bare = parseWire(operation, withoutInput, 'load');
    expect('input' in bare && bare.input === undefined).toBe(true);
  });

  it("reads only an op's own members", () => {
    const inherited = Object.assign(Object.create({ origin: 'n' }) as object, { ...op, origin: undefined });
    delete (inherited as { origin?: unknown }).origin;
    expect(messageOf(() => parseWire(operation, inherited, 'load'))).toBe(
      'load: "origin" must be a non-empty string of at most 1024 characters, got undefined',
    );
    const prototypeless = Object.assign(Object.create(null) as object, op);
    expect(parseWire(operation, prototypeless, 'load')).toEqual(op);
  });

  it('names the field, what it must be and what came, after where it was', () => {
    const push = pushRequestBatch(2);
    expect(messageOf(() => parseWire(push, [], 'push request'))).toBe(
      'push request: expected an object, got an array of 0',
    );
    expect(messageOf(() => parseWire(push, { from: 'a', operations: [], cursor: -1 }, 'push request'))).toBe(
      'push request: "cursor" must be a non-negative integer, got -1',
    );
    expect(messageOf(() => parseWire(push, { from: 'a', cursor: 0 }, 'push request'))).toBe(
      'push request: "operations" must be an array, got undefined',
    );
    expect(messageOf(() => parseWire(push, { from: 'a', operations: [1, 2, 3], cursor: 0 }, 'push request'))).toBe(
      'push request: batch of 3 operations exceeds the limit of 2; send smaller batches',
    );
    expect(messageOf(() => parseWire(pullRequestUpTo(10), { cursor: 0, limit: 11 }, 'pull request'))).toBe(
      'pull request: "limit" must be an integer from 0 to 10, got 11',
    );
    expect(
      messageOf(() => parseWire(operation, { ...op, input: { when: new Date(0) } }, 'pull response: operation 4')),
    ).toMatch(/^pull response: operation 4: input\.when is a Date; inputs must be JSON data/);
  });

  it('paths nested values, and says of a nested value that is not an object what was expected', () => {
    expect(messageOf(() => parseSyncFilter('all', 'sync.add("b")'))).toBe(
      'sync.add("b") filter: expected an object, got "all"',
    );
    expect(messageOf(() => parseSyncFilter({ scopes: ['shared'] }, 'pull request'))).toBe(
      'pull request: "filter.scopes" must be an array of document, global, local, got an array of 1',
    );
    const rejected = (reason: unknown) => ({ rejected: [{ id: 'x', reason }], accepted: 0, duplicates: 0, cursor: 0 });
    expect(messageOf(() => parsePushResponse(rejected(null)))).toBe(
      'push response rejected[0].reason: expected an object, got null',
    );
    expect(messageOf(() => parsePushResponse(rejected({ kind: 'nope', message: '' })))).toMatch(
      /^push response: "rejected\[0\]\.reason\.kind" must be one of validation, .*, got "nope"$/,
    );
  });

  it('reads what a peer says of itself leniently: a bad `from` is ignored, a reason is retryable only when it says so', () => {
    const response = parsePushResponse({
      from: 7,
      rejected: [{ id: 'x', reason: { kind: 'network', message: 'm', retryable: 'yes' } }],
      accepted: 0,
      duplicates: 0,
      cursor: 0,
    });
    expect(response.from).toBeUndefined();
    expect(response.rejected[0]?.reason.retryable).toBe(false);
    expect(pulledFrom({ from: 'srv' })).toBe('srv');
    expect(pulledFrom({ from: 1 })).toBeUndefined();
    expect(messageOf(() => pulledFrom('srv'))).toBe('pull response: expected an object, got "srv"');
  });

  it('checks a pulled page as a whole, then each op on its own', () => {
    const page = parsePullResponse(
      { from: 'srv', operations: [op, { ...op, scope: 'shared' }], cursor: 2, hasMore: false },
      { acceptLocal: false },
    );
    expect(page.operations).toEqual([op]);
    expect(page.refused.map((refusal) => refusal.reason.message)).toEqual([
      'pull response: operation 1: "scope" must be one of document, global, local, got "shared"',
    ]);
    expect(messageOf(() => parsePullResponse({ operations: [], cursor: 0 }, { acceptLocal: false }))).toBe(
      'pull response: "hasMore" must be a boolean, got undefined',
    );
  });
});
