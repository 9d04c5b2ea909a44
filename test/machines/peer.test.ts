import { describe, expect, it } from 'vitest';
import { createActor, type EventObject, fromCallback, SimulatedClock } from 'xstate';
import { type PeerEvent, peerMachine } from '../../src/machines/peer.js';
import type { PeerConnectionInput, PeerReport, PeerState } from '../../src/model/connection.js';

const heartbeatMs = 1000;

/** The peer statechart on a SimulatedClock; the fake `link` records what it reports to the transport. */
function harness(input: Partial<PeerConnectionInput> = {}) {
  const clock = new SimulatedClock();
  const reports: PeerReport[] = [];
  const machine = peerMachine.provide({
    actors: {
      link: fromCallback<EventObject, { remote?: string }>(({ receive }) => {
        receive((event) => reports.push(event as PeerReport));
        return () => {};
      }),
    },
  });
  const actor = createActor(machine, { input: { peerId: 'tab-b', heartbeatMs, ...input }, clock });
  actor.start();
  const state = (): string => {
    const value = actor.getSnapshot().value;
    return typeof value === 'string' ? value : (Object.keys(value)[0] ?? '?');
  };
  return {
    actor,
    clock,
    state,
    reported: (): PeerState[] => reports.map((r) => r.state),
    tell: (event: PeerEvent) => actor.send(event),
  };
}

describe('peer statechart', () => {
  it('a tab not heard from yet is unheard; any word from it makes it present', () => {
    const h = harness();
    expect(h.state()).toBe('unheard');
    h.tell({ type: 'peer.heard' });
    expect(h.state()).toBe('present');
    expect(h.reported()).toEqual(['unheard', 'present']);
  });

  it('quiet for two heartbeats it is silent, for one more it is gone; each word restarts the count', () => {
    const h = harness({ resume: 'present' });
    h.clock.increment(1.5 * heartbeatMs);
    h.tell({ type: 'peer.heard' });
    h.clock.increment(1.5 * heartbeatMs);
    expect(h.state()).toBe('present');
    h.clock.increment(0.5 * heartbeatMs);
    expect(h.state()).toBe('silent');
    h.tell({ type: 'peer.heard' });
    expect(h.state()).toBe('present');
    h.clock.increment(2 * heartbeatMs);
    expect(h.state()).toBe('silent');
    h.clock.increment(heartbeatMs - 1);
    expect(h.state()).toBe('silent');
    h.clock.increment(1);
    expect(h.state()).toBe('gone');
    // Words while present restart the timer without a report each.
    expect(h.reported()).toEqual(['present', 'silent', 'present', 'silent', 'gone']);
  });

  it('a gone tab that speaks again is present again', () => {
    const h = harness({ resume: 'gone' });
    expect(h.state()).toBe('gone');
    h.tell({ type: 'peer.heard' });
    expect(h.state()).toBe('present');
  });

  it.each(['present', 'silent'] as const)('a bye while %s: gone at once', (resume) => {
    const h = harness({ resume });
    h.tell({ type: 'peer.left' });
    expect(h.state()).toBe('gone');
    expect(h.reported()).toEqual([resume, 'gone']);
  });

  it('without heartbeats only a bye makes a tab go', () => {
    const h = harness({ heartbeatMs: 0, resume: 'present' });
    h.clock.increment(24 * 60 * 60 * 1000);
    expect(h.state()).toBe('present');
    h.tell({ type: 'peer.left' });
    expect(h.state()).toBe('gone');
  });

  it.each(['unheard', 'present', 'silent', 'gone'] as const)('closes from %s', (resume) => {
    const h = harness({ resume });
    h.tell({ type: 'connection.close' });
    expect(h.state()).toBe('closed');
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.reported().at(-1)).toBe('closed');
  });

  it('released (a remote follows the tab now), it ends without a report', () => {
    const h = harness({ resume: 'present' });
    h.tell({ type: 'connection.release' });
    expect(h.state()).toBe('detached');
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.reported()).toEqual(['present']);
  });
});
