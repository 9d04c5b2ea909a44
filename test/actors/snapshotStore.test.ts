import { describe, expect, it } from 'vitest';
import { createSnapshotStore } from '../../src/actors/snapshotStore.js';
import type { DocumentSnapshot } from '../../src/model/types.js';

const snapshot = (id: string, revision: number, branch = 'main'): DocumentSnapshot => ({
  id,
  type: 'counter',
  branch,
  state: { count: revision },
  localState: null,
  revision,
  hash: `h${revision}`,
  deleted: false,
});

describe('snapshot store', () => {
  it('answers get and list with the snapshots it was given, by document and branch', () => {
    const store = createSnapshotStore();
    expect(store.get('a', 'main')).toBeUndefined();
    const a = snapshot('a', 1);
    const aDraft = snapshot('a', 1, 'draft');
    const b = snapshot('b', 1);
    store.upsert([a, aDraft]);
    store.upsert([b]);
    expect(store.get('a', 'main')).toBe(a);
    expect(store.get('a', 'draft')).toBe(aDraft);
    expect(store.get('b', 'draft')).toBeUndefined();
    expect(store.list()).toEqual([a, aDraft, b]);
  });

  it('hands out frozen snapshots', () => {
    const store = createSnapshotStore();
    store.upsert([snapshot('a', 1)]);
    const got = store.get('a', 'main') as DocumentSnapshot;
    expect(Object.isFrozen(got)).toBe(true);
    expect(() => {
      (got as { revision: number }).revision = 9;
    }).toThrow(TypeError);
  });

  it('replaces a snapshot in place: list keeps the order documents first appeared in', () => {
    const store = createSnapshotStore();
    store.upsert([snapshot('a', 1), snapshot('b', 1)]);
    const next = snapshot('a', 2);
    store.upsert([next]);
    expect(store.get('a', 'main')).toBe(next);
    expect(store.list().map((s) => [s.id, s.revision])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('keeps ids that Object.prototype answers for, and ids that look like a key of two parts, apart', () => {
    const store = createSnapshotStore();
    const proto = snapshot('__proto__', 1);
    const tricky = snapshot('a","main', 1, 'x');
    store.upsert([proto, tricky]);
    expect(store.get('__proto__', 'main')).toBe(proto);
    expect(store.get('constructor', 'main')).toBeUndefined();
    expect(store.get('toString', 'main')).toBeUndefined();
    expect(store.get('a', 'main","x')).toBeUndefined();
    expect(store.get('a","main', 'x')).toBe(tricky);
  });

  it('observe emits the current snapshot, then each replacement of it, and nothing for others', () => {
    const store = createSnapshotStore();
    const first = snapshot('a', 1);
    store.upsert([first]);
    const seen: DocumentSnapshot[] = [];
    const subscription = store.observe('a', 'main').subscribe((s) => seen.push(s));
    store.upsert([snapshot('b', 1), snapshot('a', 1, 'draft')]);
    const second = snapshot('a', 2);
    store.upsert([second]);
    subscription.unsubscribe();
    store.upsert([snapshot('a', 3)]);
    expect(seen).toEqual([first, second]);
    expect(seen[0]).toBe(first);
    expect(seen[1]).toBe(second);
  });

  it('observe of a document not there yet waits for its first snapshot', () => {
    const store = createSnapshotStore();
    const seen: number[] = [];
    const subscription = store.observe('later', 'main').subscribe((s) => seen.push(s.revision));
    expect(seen).toEqual([]);
    store.upsert([snapshot('later', 1)]);
    store.upsert([]);
    expect(seen).toEqual([1]);
    subscription.unsubscribe();
  });
});
