import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identityOf, insertCanonical, isAfterDelete, UNCREATED } from '../../src/model/documentIdentity.js';
import { sortCanonical } from '../../src/model/order.js';
import { CREATE_DOCUMENT, DELETE_DOCUMENT, type OperationEnvelope } from '../../src/model/types.js';

/** A `document`-scope op at timestamp `t`. */
const docOp = (t: string, type: string, input?: unknown): OperationEnvelope => ({
  id: `${type}@${t}`,
  documentId: 'd',
  scope: 'document',
  branch: 'main',
  type,
  input,
  timestamp: t,
  origin: 'o',
});
const create = (t: string, model = 'counter') => docOp(t, CREATE_DOCUMENT, { model });
const remove = (t: string) => docOp(t, DELETE_DOCUMENT);
const at = (t: string, type: string) => ({ timestamp: t, id: `${type}@${t}` });

describe('document identity', () => {
  it('is uncreated until a CREATE arrives', () => {
    expect(identityOf([])).toBe(UNCREATED);
    expect(identityOf([remove('t1')])).toBe(UNCREATED);
  });

  it('takes its model from the first CREATE in canonical order', () => {
    expect(identityOf([create('t1', 'counter'), create('t2', 'list')])).toEqual({
      created: { key: at('t1', CREATE_DOCUMENT), model: 'counter' },
      deleted: null,
    });
  });

  it('skips a CREATE that names no model, and the next CREATE decides', () => {
    const ops = [docOp('t1', CREATE_DOCUMENT, {}), docOp('t2', CREATE_DOCUMENT, { model: 7 }), create('t3', 'list')];
    expect(identityOf(ops).created).toEqual({ key: at('t3', CREATE_DOCUMENT), model: 'list' });
    expect(identityOf([docOp('t1', CREATE_DOCUMENT)])).toBe(UNCREATED);
  });

  it('is deleted by the first DELETE after the CREATE; a DELETE before it counts for nothing', () => {
    expect(identityOf([remove('t1'), create('t2')]).deleted).toBeNull();
    expect(identityOf([remove('t1'), create('t2'), remove('t3'), remove('t4')]).deleted).toEqual(
      at('t3', DELETE_DOCUMENT),
    );
  });

  it('ignores ops of other types in the document scope', () => {
    expect(identityOf([docOp('t0', 'RENAME'), create('t1'), docOp('t2', 'RENAME')])).toEqual(
      identityOf([create('t1')]),
    );
  });

  it('is the same for every arrival order of the same ops', () => {
    const ops = [remove('t1'), create('t2', 'a'), create('t3', 'b'), remove('t4'), remove('t5')];
    fc.assert(
      fc.property(fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }), (arrival) => {
        const log: OperationEnvelope[] = [];
        for (const op of arrival) insertCanonical(log, op);
        expect(log).toEqual(sortCanonical(ops));
        expect(identityOf(log)).toEqual({
          created: { key: at('t2', CREATE_DOCUMENT), model: 'a' },
          deleted: at('t4', DELETE_DOCUMENT),
        });
      }),
    );
  });

  it('makes the ops that sort after the DELETE change nothing, and only those', () => {
    const identity = identityOf([create('t1'), remove('t5')]);
    expect(isAfterDelete(identity, { timestamp: 't4', id: 'x' })).toBe(false);
    expect(isAfterDelete(identity, at('t5', DELETE_DOCUMENT))).toBe(false);
    expect(isAfterDelete(identity, { timestamp: 't6', id: 'x' })).toBe(true);
    expect(isAfterDelete(identityOf([create('t1')]), { timestamp: 't9', id: 'x' })).toBe(false);
  });
});
