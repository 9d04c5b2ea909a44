import { describe, expect, it } from 'vitest';
import type { DeadLetterRow, KeyframeRow, RemoteRow, WriteRow } from '../../src/model/rows.js';
import type { StoreWrite } from '../../src/model/storeWrite.js';
import { planSideChanges } from '../../src/storage/writePlan.js';

/**
 * A group commit applies its writes in arrival order; the batch it hands a backend says "deletes
 * before puts". The plan must turn one into the other without changing the outcome.
 */
const frame = (timestamp: string, stream = 's'): KeyframeRow => ({ stream, timestamp, id: 'x', count: 1, state: {} });
const remote = (name: string): RemoteRow => ({
  name,
  mode: 'push',
  pullIntervalMs: 1000,
  debounceMs: 0,
  batchSize: 10,
});
const letter = (id: string, at = 0): DeadLetterRow => ({
  id,
  remote: 'hub',
  direction: 'push',
  operation: {
    id,
    documentId: 'd',
    scope: 'global',
    branch: 'main',
    type: 'T',
    input: {},
    timestamp: '1',
    origin: 'o',
  },
  reason: { kind: 'protocol', message: 'no', retryable: false },
  at,
});
const recorded = (id: string, at: number): WriteRow => ({ id, at, operations: [] });
const write = (fields: Omit<StoreWrite, 'writeId'>, writeId = 'w'): StoreWrite => ({ writeId, ...fields });

describe('planSideChanges', () => {
  it('lets a later drop remove keyframes an earlier write of the group put, but not later ones', () => {
    const plan = planSideChanges([
      write({ keyframes: [frame('1'), frame('5'), frame('6', 'other')] }),
      write({ dropKeyframesAfter: [{ stream: 's', after: { timestamp: '3', id: 'x' } }] }),
      write({ keyframes: [frame('4')] }),
    ]);
    expect(plan.keyframes).toEqual({
      drop: [{ stream: 's', after: { timestamp: '3', id: 'x' } }],
      put: [frame('1'), frame('6', 'other'), frame('4')],
    });
  });

  it('keeps the last change of a remote or dead letter, and drops a removed remote’s cursors', () => {
    const plan = planSideChanges([
      write({ remotes: [remote('gone'), remote('back')], deadLetters: [letter('x')] }),
      write({ dropRemotes: ['gone', 'back'], dropDeadLetters: ['x', 'y'] }),
      write({ remotes: [remote('back')], deadLetters: [letter('y', 9)] }),
      write({ cursors: [{ remote: 'back', direction: 'pull', cursor: 3 }] }),
    ]);
    expect(plan.remotes).toEqual({ put: [remote('back')], delete: ['gone'] });
    expect(plan.deadLetters).toEqual({ put: [letter('y', 9)], delete: ['x'] });
    expect(plan.cursors?.delete).toEqual([
      { remote: 'gone', direction: 'push' },
      { remote: 'gone', direction: 'pull' },
      { remote: 'back', direction: 'push' },
      { remote: 'back', direction: 'pull' },
    ]);
    expect(plan.cursors?.put).toEqual([{ remote: 'back', direction: 'pull', cursor: 3 }]);
  });

  it('records the group’s writes (the last of an id wins) and prunes as the writes would one by one', () => {
    const plan = planSideChanges([
      write({ recordWrites: [recorded('a', 5), recorded('b', 30)] }),
      // Forgets `a`, recorded by an earlier write of the group; its own `c` stays, older or not.
      write({ pruneWritesBefore: 10, recordWrites: [recorded('c', 9)] }),
      write({ recordWrites: [recorded('b', 40)] }),
      // A lower prune later in the group neither undoes the higher one nor reaches `c`.
      write({ pruneWritesBefore: 8 }),
    ]);
    expect(plan.writes).toEqual({ deleteBefore: 10, put: [recorded('b', 40), recorded('c', 9)] });
    expect(planSideChanges([write({ recordWrites: [recorded('a', 5)] })]).writes).toEqual({ put: [recorded('a', 5)] });
  });
});
