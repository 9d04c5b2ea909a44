import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toJsonData } from '../../src/model/data.js';
import { canonicalJson } from '../../src/model/hash.js';
import { encodeHlc } from '../../src/model/hlc.js';
import { digests, type OperationContent, operationId } from '../../src/model/operationId.js';

const content = (input: unknown): OperationContent => ({
  documentId: 'doc',
  scope: 'global',
  branch: 'main',
  type: 'SET',
  input,
  timestamp: encodeHlc({ wall: 1_700_000_000_000, logical: 1 }, 'a'),
  origin: 'a',
});

/** JSON data as a peer may send it: any key order, undefined members, -0. */
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.nat({ max: 999 }).map(String)),
      fc.oneof(tie('value'), fc.constant(undefined)),
      { maxKeys: 4 },
    ),
  ),
})).value;

describe('content-derived op ids', () => {
  it('are the same for an input in normal form and for any equal input as sent (key order, undefined, -0)', () => {
    fc.assert(
      fc.property(json, (input) => {
        const normal = toJsonData(input, 'test');
        expect(operationId(content(normal))).toBe(operationId(content(input)));
      }),
    );
  });

  it('change with every field of the content', () => {
    const base = content({ a: 1 });
    const ids = new Set(
      [
        base,
        { ...base, documentId: 'doc2' },
        { ...base, scope: 'local' as const },
        { ...base, branch: 'draft' },
        { ...base, type: 'SET2' },
        { ...base, input: { a: 2 } },
        { ...base, input: undefined },
        { ...base, timestamp: encodeHlc({ wall: 1_700_000_000_000, logical: 2 }, 'a') },
        { ...base, origin: 'b' },
      ].map(operationId),
    );
    expect(ids.size).toBe(9);
    expect(operationId(base)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('hash the same with Node’s SHA-256 and the portable one browsers use', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), json, (text, input) => {
        const full = text + canonicalJson(input);
        expect(digests.native?.(full)).toBe(digests.portable(full));
      }),
    );
  });
});
