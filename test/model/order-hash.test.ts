import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, hashState } from '../../src/model/hash.js';
import { compareOrder, parseStreamKey, sortCanonical, streamKey, streamOf } from '../../src/model/order.js';
import { SCOPES } from '../../src/model/types.js';

describe('canonical order', () => {
  it('orders by timestamp first', () => {
    expect(compareOrder({ timestamp: 't1', id: 'z' }, { timestamp: 't2', id: 'a' })).toBeLessThan(0);
    expect(compareOrder({ timestamp: 't2', id: 'a' }, { timestamp: 't1', id: 'z' })).toBeGreaterThan(0);
  });

  it('breaks timestamp ties by id', () => {
    expect(compareOrder({ timestamp: 't', id: 'a' }, { timestamp: 't', id: 'b' })).toBeLessThan(0);
    expect(compareOrder({ timestamp: 't', id: 'b' }, { timestamp: 't', id: 'a' })).toBeGreaterThan(0);
    expect(compareOrder({ timestamp: 't', id: 'a' }, { timestamp: 't', id: 'a' })).toBe(0);
  });

  it('compares by code unit, not by locale', () => {
    expect(compareOrder({ timestamp: 't', id: 'B' }, { timestamp: 't', id: 'a' })).toBeLessThan(0);
    expect(compareOrder({ timestamp: 'T', id: 'a' }, { timestamp: 't', id: 'a' })).toBeLessThan(0);
  });

  it('sorts a copy and leaves the input as it was', () => {
    const ops = [
      { timestamp: 't2', id: 'a' },
      { timestamp: 't1', id: 'b' },
      { timestamp: 't1', id: 'a' },
    ];
    const before = [...ops];
    expect(sortCanonical(ops)).toEqual([
      { timestamp: 't1', id: 'a' },
      { timestamp: 't1', id: 'b' },
      { timestamp: 't2', id: 'a' },
    ]);
    expect(ops).toEqual(before);
  });

  it('gives one order for every arrival order of the same ops', () => {
    const key = fc.record({ timestamp: fc.string({ maxLength: 3 }), id: fc.string({ maxLength: 3 }) });
    fc.assert(
      fc.property(
        fc
          .uniqueArray(key, { selector: (k) => k.id, maxLength: 20 })
          .chain((ops) =>
            fc.tuple(fc.constant(ops), fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length })),
          ),
        ([ops, shuffled]) => {
          expect(sortCanonical(shuffled)).toEqual(sortCanonical(ops));
        },
      ),
    );
  });
});

describe('stream keys', () => {
  const text = fc.string({ maxLength: 12, unit: 'binary' });
  const ref = fc.record({ documentId: text, scope: fc.constantFrom(...SCOPES), branch: text });

  it('round-trip through parseStreamKey for any document id and branch', () => {
    fc.assert(
      fc.property(ref, (r) => {
        expect(parseStreamKey(streamKey(r))).toEqual(r);
      }),
    );
  });

  it('round-trip ids made of separators, quotes and escapes', () => {
    const odd = ['a","global","b', '[', ']', '\\', '"', '', ',', '\n', '\u2028', '💥', 'a\u0000b'];
    for (const documentId of odd) {
      for (const branch of odd) {
        const r = { documentId, scope: 'global' as const, branch };
        expect(parseStreamKey(streamKey(r))).toEqual(r);
      }
    }
  });

  it('never gives two different streams the same key', () => {
    fc.assert(
      fc.property(ref, ref, (a, b) => {
        fc.pre(a.documentId !== b.documentId || a.scope !== b.scope || a.branch !== b.branch);
        expect(streamKey(a)).not.toBe(streamKey(b));
      }),
    );
    const tricky = { documentId: 'a","global","b', scope: 'global' as const, branch: 'main' };
    expect(streamKey(tricky)).not.toBe(streamKey({ documentId: 'a', scope: 'global', branch: 'b","global","main' }));
  });

  it('names the stream an op belongs to', () => {
    const op = { documentId: 'd', scope: 'local' as const, branch: 'main', id: 'x', type: 'T' };
    expect(streamOf(op)).toEqual({ documentId: 'd', scope: 'local', branch: 'main' });
  });
});

/** A deep copy of a JSON value with every object's keys inserted in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties, so a "__proto__" key stays a key.
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([key, member]) => [key, reverseKeys(member)]),
    );
  }
  return value;
}

describe('canonicalJson', () => {
  it('sorts object keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('drops undefined members, as JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(hashState({ a: 1, b: undefined })).toBe(hashState({ a: 1 }));
  });

  it('keeps array positions: undefined in an array is null', () => {
    expect(canonicalJson([1, undefined, 3])).toBe('[1,null,3]');
  });

  it('writes plain JSON values as JSON.stringify does, up to key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('writes a Map by its entries, whatever their insertion order', () => {
    const a = new Map<string, unknown>([
      ['b', 1],
      ['a', { y: 2, x: 1 }],
    ]);
    const b = new Map<string, unknown>([
      ['a', { x: 1, y: 2 }],
      ['b', 1],
    ]);
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(hashState(a)).toBe(hashState(b));
    expect(hashState(a)).not.toBe(hashState(new Map([['b', 1]])));
  });

  it('writes a Set by its members, whatever their insertion order', () => {
    expect(hashState(new Set([3, 1, 2]))).toBe(hashState(new Set([1, 2, 3])));
    expect(hashState(new Set([1, 2]))).not.toBe(hashState(new Set([1, 2, 3])));
  });

  it('tells Maps, Sets, arrays and objects with the same contents apart', () => {
    const hashes = [new Map([['a', 1]]), new Set(['a']), ['a'], { a: 1 }].map(hashState);
    expect(new Set(hashes).size).toBe(4);
  });

  it('writes a Date as its instant', () => {
    expect(canonicalJson(new Date(0))).toBe('{"#date":"1970-01-01T00:00:00.000Z"}');
    expect(hashState({ at: new Date(0) })).toBe(hashState({ at: new Date(0) }));
    expect(hashState({ at: new Date(0) })).not.toBe(hashState({ at: new Date(1) }));
  });

  it('hashes an invalid Date (a structured-cloneable value) without throwing', () => {
    expect(() => hashState({ due: new Date(Number.NaN) })).not.toThrow();
    expect(hashState({ due: new Date(Number.NaN) })).not.toBe(hashState({ due: new Date(0) }));
  });

  it('writes numbers JSON cannot hold without losing them', () => {
    const hashes = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, null].map(hashState);
    expect(new Set(hashes).size).toBe(5);
  });
});

describe('hashState', () => {
  it('is 16 hex digits', () => {
    expect(hashState({ count: 1 })).toMatch(/^[0-9a-f]{16}$/);
  });

  it('does not depend on the order keys were inserted in', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(hashState(reverseKeys(value))).toBe(hashState(value));
      }),
    );
  });

  it('gives different states different hashes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        fc.pre(canonicalJson(a) !== canonicalJson(b));
        expect(hashState(a)).not.toBe(hashState(b));
      }),
    );
    const pairs: [unknown, unknown][] = [
      [{ count: 1 }, { count: 2 }],
      [
        [1, 2],
        [2, 1],
      ],
      [{ a: 1 }, { a: '1' }],
      [{ a: [] }, { a: {} }],
      [{ items: ['a', 'b'] }, { items: ['ab'] }],
      ['', null],
    ];
    for (const [a, b] of pairs) expect(hashState(a)).not.toBe(hashState(b));
  });
});
