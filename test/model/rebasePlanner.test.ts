import { describe, expect, it } from 'vitest';
import { type DocumentIdentity, UNCREATED } from '../../src/model/documentIdentity.js';
import type { OrderKey } from '../../src/model/order.js';
import { keyframeDue, LOWEST, planRebuild, rebaseFrom, rebuildsForIdentity } from '../../src/model/rebasePlanner.js';
import type { KeyframeRow } from '../../src/model/rows.js';

/** The position of op `n` of a stream (timestamps sort like their numbers). */
const pos = (n: number): OrderKey => ({ timestamp: `t${String(n).padStart(4, '0')}`, id: `op${n}` });
/** The keyframe written after op `n`, which was the stream's `count`-th op. */
const keyframe = (n: number, count = n, state: unknown = { count }): KeyframeRow => ({
  stream: 's',
  ...pos(n),
  count,
  state,
});
const created = (n: number, model = 'counter'): DocumentIdentity => ({
  created: { key: pos(n), model },
  deleted: null,
});
const deleted = (identity: DocumentIdentity, n: number): DocumentIdentity => ({ ...identity, deleted: pos(n) });

describe('rebase planner: what an identity change re-folds', () => {
  const streams = ['global', 'local', 'empty'];
  /** `global` has applied ops up to 10, `local` up to 3, `empty` none. */
  const lastOf = (stream: string) => ({ global: pos(10), local: pos(3) })[stream] ?? null;
  const plan = (before: DocumentIdentity, after: DocumentIdentity, unprojected = false) =>
    Object.fromEntries(rebuildsForIdentity(before, after, unprojected, streams, lastOf));

  it('re-folds nothing while the identity stays as it was', () => {
    expect(plan(created(1), created(1))).toEqual({});
    expect(plan(deleted(created(1), 5), deleted(created(1), 5))).toEqual({});
  });

  it('re-folds nothing while the document is not created (its ops wait for the CREATE)', () => {
    expect(plan(UNCREATED, UNCREATED, true)).toEqual({});
  });

  it('folds every stream from the start when the CREATE arrives after ops that waited for it', () => {
    expect(plan(UNCREATED, created(1), true)).toEqual({ global: null, local: null, empty: null });
  });

  it('re-folds nothing when the CREATE comes first: the ops that follow are appended', () => {
    expect(plan(UNCREATED, created(1), false)).toEqual({});
  });

  it('re-folds every stream from the start when an earlier CREATE takes over, whatever model it names', () => {
    expect(plan(created(2), created(1, 'list'))).toEqual({ global: null, local: null, empty: null });
    expect(plan(created(2), created(1, 'counter'))).toEqual({ global: null, local: null, empty: null });
  });

  it('re-folds the streams with ops past a new DELETE, from the DELETE', () => {
    expect(plan(created(1), deleted(created(1), 5))).toEqual({ global: pos(5) });
    expect(plan(created(1), deleted(created(1), 2))).toEqual({ global: pos(2), local: pos(2) });
    expect(plan(created(1), deleted(created(1), 11))).toEqual({});
  });

  it('re-folds from the earlier DELETE when an earlier one takes over', () => {
    expect(plan(deleted(created(1), 8), deleted(created(1), 5))).toEqual({ global: pos(5) });
  });
});

describe('rebase planner: appending or rebasing new ops', () => {
  it('appends to an empty stream and after the last applied op', () => {
    expect(rebaseFrom(null, pos(1))).toBeUndefined();
    expect(rebaseFrom(pos(4), pos(5))).toBeUndefined();
  });

  it('rebases from the first new op when it sorts before the last applied one', () => {
    expect(rebaseFrom(pos(4), pos(3))).toEqual(pos(3));
  });

  it('compares by timestamp, then by id', () => {
    expect(rebaseFrom({ timestamp: 't', id: 'b' }, { timestamp: 't', id: 'a' })).toEqual({ timestamp: 't', id: 'a' });
    expect(rebaseFrom({ timestamp: 't', id: 'a' }, { timestamp: 't', id: 'b' })).toBeUndefined();
  });
});

describe('rebase planner: which keyframe a rebuild starts from', () => {
  /** Keyframes every 5 ops, up to op 20. */
  const keyframes = [keyframe(5), keyframe(10), keyframe(15), keyframe(20)];

  it('rebases from the latest keyframe before the late op, dropping the ones after it', () => {
    const plan = planRebuild(keyframes, pos(12), false);
    expect(plan.base).toBe(keyframes[1]);
    expect(plan.keyframes).toEqual([keyframe(5), keyframe(10)]);
    expect(plan.dropAfter).toEqual(pos(10));
    expect(plan.replayAfter).toEqual(pos(10));
  });

  it('does not start from a keyframe at the late op itself (it sorts before the op it follows)', () => {
    const plan = planRebuild(keyframes, pos(10), false);
    expect(plan.base).toBe(keyframes[0]);
    expect(plan.dropAfter).toEqual(pos(5));
  });

  it('rebases from the initial state, dropping every keyframe, when the late op sorts before the first keyframe', () => {
    const plan = planRebuild(keyframes, pos(3), false);
    expect(plan.base).toBeUndefined();
    expect(plan.keyframes).toEqual([]);
    expect(plan.dropAfter).toBe(LOWEST);
    expect(plan.replayAfter).toBeUndefined();
  });

  it('re-folds from the initial state, dropping every keyframe, when asked to start over', () => {
    const plan = planRebuild(keyframes, null, false);
    expect(plan.base).toBeUndefined();
    expect(plan.keyframes).toEqual([]);
    expect(plan.dropAfter).toBe(LOWEST);
  });

  it('at boot starts from the latest keyframe and drops none', () => {
    const plan = planRebuild(keyframes, null, true);
    expect(plan.base).toBe(keyframes[3]);
    expect(plan.keyframes).toEqual(keyframes);
    expect(plan.dropAfter).toBeUndefined();
    expect(plan.replayAfter).toEqual(pos(20));
    expect(planRebuild([], null, true)).toEqual({
      base: undefined,
      keyframes: [],
      dropAfter: undefined,
      replayAfter: undefined,
    });
  });

  it('passes over a stored keyframe that holds no state for the one before it', () => {
    const broken = [keyframe(5), keyframe(10), { ...keyframe(15), state: undefined }, keyframe(20, 20, new Date(0))];
    const boot = planRebuild(broken, null, true);
    expect(boot.base).toBe(broken[1]);
    expect(boot.keyframes).toEqual([keyframe(5), keyframe(10)]);
    const rebase = planRebuild(broken, pos(18), false);
    expect(rebase.base).toBe(broken[1]);
    expect(rebase.dropAfter).toEqual(pos(10));
  });

  it('seals the state it starts from (stored states come back unfrozen)', () => {
    const stored = [keyframe(5, 5, { count: 5, items: [{ a: 1 }] })];
    const plan = planRebuild(stored, null, true);
    const state = plan.base?.state as { items: object[] };
    expect(Object.isFrozen(state)).toBe(true);
    expect(Object.isFrozen(state.items[0])).toBe(true);
  });

  it('leaves the keyframes it was given as they were', () => {
    const given = [keyframe(5), { ...keyframe(10), state: undefined }];
    planRebuild(given, null, true);
    planRebuild(given, pos(7), false);
    expect(given).toEqual([keyframe(5), { ...keyframe(10), state: undefined }]);
  });
});

describe('rebase planner: when to write a keyframe', () => {
  it('writes one every `interval` ops of a stream', () => {
    const counts = Array.from({ length: 12 }, (_, i) => i + 1);
    expect(counts.filter((count) => keyframeDue(count, 5))).toEqual([5, 10]);
    expect(counts.filter((count) => keyframeDue(count, 1))).toEqual(counts);
    expect(counts.filter((count) => keyframeDue(count, 500))).toEqual([]);
  });
});
