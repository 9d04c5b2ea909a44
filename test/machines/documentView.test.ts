import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createActor, type EventObject, fromEventObservable } from 'xstate';
import { type DocumentViewEvent, documentViewMachine } from '../../src/machines/documentView.js';
import type { StoredOperation } from '../../src/model/types.js';

const op = (ordinal: number, documentId = 'doc-a'): StoredOperation => ({
  id: `op-${ordinal}`,
  documentId,
  scope: 'global',
  branch: 'main',
  type: 'SET',
  input: { value: ordinal },
  timestamp: `2024-01-01T00:00:0${ordinal % 10}.000Z`,
  origin: 'r1',
  ordinal,
});

const written = (operations: readonly StoredOperation[]): DocumentViewEvent => ({
  type: 'operations.written',
  operations,
});

/** The view with its bus subscription on a Subject the test drives and a recording projector. */
function harness() {
  const bus = new Subject<EventObject>();
  const projected: (readonly StoredOperation[])[] = [];
  const actor = createActor(
    documentViewMachine.provide({
      actors: { writtenOperations: fromEventObservable(() => bus) },
      actions: { project: (_, params) => projected.push(params.operations) },
    }),
  ).start();
  return { actor, bus, projected };
}

describe('document view', () => {
  it('starts live with nothing applied and subscribes to the bus', () => {
    const { actor, bus } = harness();
    expect(actor.getSnapshot().value).toBe('live');
    expect(actor.getSnapshot().context).toEqual({ applied: 0, rebases: 0, lastReplayed: 0 });
    expect(bus.observed).toBe(true);
    actor.stop();
  });

  it('hands every operations.written group to the projector, in order, and counts the operations', () => {
    const { actor, bus, projected } = harness();
    const first = [op(1), op(2)];
    const second = [op(3, 'doc-b')];
    const empty: StoredOperation[] = [];
    bus.next(written(first));
    bus.next(written(second));
    bus.next(written(empty));
    expect(projected).toEqual([first, second, empty]);
    expect(actor.getSnapshot().context.applied).toBe(3);
    actor.stop();
  });

  it('ignores other bus events', () => {
    const { actor, bus, projected } = harness();
    bus.next({ type: 'jobs.settled' });
    expect(projected).toEqual([]);
    expect(actor.getSnapshot().context.applied).toBe(0);
    actor.stop();
  });

  it('counts rebases reported by the projector and keeps the last replay size', () => {
    const { actor, projected } = harness();
    actor.send({ type: 'view.rebased', stream: 'doc-a/global/main', replayed: 12 });
    actor.send({ type: 'view.rebased', stream: 'doc-b/global/main', replayed: 4 });
    expect(actor.getSnapshot().context).toEqual({ applied: 0, rebases: 2, lastReplayed: 4 });
    expect(actor.getSnapshot().value).toBe('live');
    expect(projected).toEqual([]);
    actor.stop();
  });

  it('unsubscribes from the bus when stopped, so later writes project nothing', () => {
    const { actor, bus, projected } = harness();
    actor.stop();
    expect(bus.observed).toBe(false);
    bus.next(written([op(1)]));
    expect(projected).toEqual([]);
  });
});
