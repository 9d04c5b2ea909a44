import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { type InspectionRecord, toInspectionRecord } from '../../src/index.js';
import { openReactor } from '../support.js';

describe('inspection', () => {
  it('shows the root and every named actor with its systemId, and per-job runs as children', async () => {
    const recorded: InspectionEvent[] = [];
    const reactor = await openReactor({ inspect: (event) => recorded.push(event) });
    await reactor.createDocument('counter', { id: 'c' });
    await reactor.mutate('c', [{ type: 'INCREMENT', input: { by: 1 } }]);
    await reactor.stop();

    const actors = recorded.filter((event) => event.type === '@xstate.actor').map((event) => event.actorRef);
    const systemIds = actors.map((actor) => (actor as { systemId?: string }).systemId).filter(Boolean);
    expect(systemIds).toEqual(
      expect.arrayContaining(['reactor', 'operationsStore', 'documentView', 'jobExecutor', 'queue']),
    );
    const root = actors.find((actor) => (actor as { systemId?: string }).systemId === 'reactor');
    expect(recorded.every((event) => event.rootId === root?.sessionId)).toBe(true);
    expect(actors.some((actor) => (actor as unknown as { id: string }).id.startsWith('run-'))).toBe(true);

    // Transitions of the store and a job run are visible as snapshots with their state names.
    const values = recorded
      .filter((event) => event.type === '@xstate.snapshot')
      .map((event) => (event.snapshot as { value?: unknown }).value);
    expect(values).toEqual(expect.arrayContaining(['committing', 'idle', 'preparing', 'done']));
  });

  it('records only serialisable data: every event becomes a JSON line and parses back', async () => {
    const lines: string[] = [];
    const reactor = await openReactor({ inspect: (event) => lines.push(JSON.stringify(toInspectionRecord(event))) });
    await reactor.createDocument('counter', { id: 'c' });
    await Promise.all([1, 2, 3].map((by) => reactor.mutate('c', [{ type: 'INCREMENT', input: { by } }])));
    await reactor.stop();
    expect(lines.length).toBeGreaterThan(20);
    const records = lines.map((line) => JSON.parse(line) as InspectionRecord);
    const writes = records.filter(
      (r) => r.type === '@xstate.event' && (r.event as { type?: string }).type === 'store.write',
    );
    expect(writes.length).toBeGreaterThan(0);
    expect(records.some((r) => r.systemId === 'queue' && r.type === '@xstate.snapshot')).toBe(true);
    const store = records.filter((r) => r.systemId === 'operationsStore' && r.type === '@xstate.snapshot');
    expect(store.map((r) => (r.snapshot as { value: string }).value)).toContain('committing');
  });
});
