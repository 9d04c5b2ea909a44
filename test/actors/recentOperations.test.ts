import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/actors/eventBus.js';
import { RecentOperations } from '../../src/actors/recentOperations.js';
import type { StoredOperation } from '../../src/model/types.js';

const op = (ordinal: number, documentId = 'd', scope: StoredOperation['scope'] = 'global'): StoredOperation => ({
  id: `op${ordinal}`,
  documentId,
  scope,
  branch: 'main',
  type: 'T',
  input: ordinal,
  timestamp: `t${ordinal}`,
  origin: 'o',
  ordinal,
});

async function written(
  bus: ReturnType<typeof createEventBus>,
  ops: StoredOperation[],
  sources: Record<string, string> = {},
) {
  bus.emit({ type: 'operations.written', operations: ops, sources });
  await bus.idle();
}

const none = { sources: [] };

describe('recent operations', () => {
  it('serves scans from memory past where it started, and says when it cannot', async () => {
    const bus = createEventBus();
    const recent = new RecentOperations(bus, 10);
    await written(bus, [op(11), op(12), op(13)]);
    expect(recent.scan(9, 10, undefined, none)).toBeUndefined();
    expect(recent.scan(10, 10, undefined, none)?.operations.map((o) => o.id)).toEqual(['op11', 'op12', 'op13']);
    expect(recent.scan(11, 1, undefined, none)).toEqual({
      operations: [expect.objectContaining({ id: 'op12' })],
      cursor: 12,
    });
    expect(recent.scan(13, 10, undefined, none)).toEqual({ operations: [], cursor: 13 });
    recent.close();
  });

  it('skips ops from an excluded source and ops outside the filter, but moves the cursor past them', async () => {
    const bus = createEventBus();
    const recent = new RecentOperations(bus, 0);
    await written(bus, [op(1), op(2, 'other'), op(3, 'd', 'local'), op(4)], { op1: 'peer' });
    const page = recent.scan(0, 10, { documentIds: ['d'] }, { sources: ['peer'] });
    expect(page?.operations.map((o) => o.id)).toEqual(['op4']);
    expect(page?.cursor).toBe(4);
    expect(page?.operations[0]).not.toHaveProperty('ordinal');
    recent.close();
  });

  it('forgets the oldest ops beyond its capacity and then sends scans there to the database', async () => {
    const bus = createEventBus();
    const recent = new RecentOperations(bus, 0, 4);
    await written(
      bus,
      [1, 2, 3, 4, 5, 6, 7].map((n) => op(n)),
    );
    expect(recent.scan(0, 10, undefined, none)).toBeUndefined();
    expect(recent.scan(3, 10, undefined, none)?.operations.map((o) => o.id)).toEqual(['op4', 'op5', 'op6', 'op7']);
    recent.close();
  });

  it('with an origin, skips only ops that came from the source and were made by it too', async () => {
    const bus = createEventBus();
    const recent = new RecentOperations(bus, 0);
    await written(bus, [op(1), op(2)], { op1: 'peer', op2: 'peer' });
    expect(recent.scan(0, 10, undefined, { sources: ['peer'], origin: 'o' })?.operations).toEqual([]);
    expect(recent.scan(0, 10, undefined, { sources: ['peer'], origin: 'someone else' })?.operations).toHaveLength(2);
    recent.close();
  });
});
