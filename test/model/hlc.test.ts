import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReactorError } from '../../src/model/errors.js';
import {
  compareHlc,
  decodeHlc,
  encodeHlc,
  HLC_ZERO,
  type HlcState,
  HybridLogicalClock,
  isHlcTimestamp,
  receiveHlc,
  tickHlc,
} from '../../src/model/hlc.js';

/** 36^5 - 1: the largest logical counter that fits the encoding. */
const MAX_LOGICAL = 36 ** 5 - 1;

/** Walls up to the year ~10 000 in ms, which fit the 11 base-36 digits with room to spare. */
const wall = fc.integer({ min: 0, max: 2 ** 48 });
const logical = fc.integer({ min: 0, max: MAX_LOGICAL });
const state = fc.record({ wall, logical });
/** Reactor ids are any non-empty string (see `assertId`). */
const node = fc.string({ minLength: 1, maxLength: 24, unit: 'binary' });

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

describe('HLC encoding', () => {
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(state, node, (s, n) => {
        expect(decodeHlc(encodeHlc(s, n))).toEqual({ wall: s.wall, logical: s.logical, node: n });
      }),
    );
  });

  it('recognises every encoded timestamp as well formed', () => {
    fc.assert(
      fc.property(state, node, (s, n) => {
        expect(isHlcTimestamp(encodeHlc(s, n))).toBe(true);
      }),
    );
  });

  it('makes string order equal time order, whatever the nodes', () => {
    fc.assert(
      fc.property(state, node, state, node, (a, nodeA, b, nodeB) => {
        const byTime = sign(compareHlc(a, b));
        const byString = sign(compareStrings(encodeHlc(a, nodeA), encodeHlc(b, nodeB)));
        if (byTime !== 0) expect(byString).toBe(byTime);
        else expect(byString).toBe(sign(compareStrings(nodeA, nodeB)));
      }),
    );
  });

  it('encodes the zero clock with fixed-width fields', () => {
    expect(encodeHlc(HLC_ZERO, 'a')).toBe('00000000000:00000:a');
  });

  it.each([
    ['an empty string', ''],
    ['free text', 'yesterday at noon'],
    ['fields of the wrong width', '1:2:node'],
    ['upper-case digits', '0000000000A:00000:node'],
    ['a missing node', '00000000001:00001:'],
    ['a missing logical part', '00000000001:node'],
  ])('refuses %s with a protocol error', (_label, garbage) => {
    expect(isHlcTimestamp(garbage)).toBe(false);
    let thrown: unknown;
    try {
      decodeHlc(garbage);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ReactorError);
    expect(thrown).toMatchObject({ kind: 'protocol', retryable: false });
    expect((thrown as ReactorError).message).toContain(JSON.stringify(garbage));
  });

  it('does not take non-strings for timestamps', () => {
    for (const value of [undefined, null, 42, { wall: 1, logical: 0 }]) expect(isHlcTimestamp(value)).toBe(false);
  });
});

describe('tickHlc', () => {
  it('is strictly monotonic even when the physical clock jumps backwards', () => {
    fc.assert(
      fc.property(
        state,
        fc.array(fc.integer({ min: -1000, max: 2 ** 48 }), { minLength: 1, maxLength: 50 }),
        (start, nows) => {
          let current: HlcState = start;
          let previous = encodeHlc(current, 'n');
          for (const now of nows) {
            current = tickHlc(current, now);
            const next = encodeHlc(current, 'n');
            expect(next > previous).toBe(true);
            previous = next;
          }
        },
      ),
    );
  });

  it('follows the physical clock when it moves forwards', () => {
    expect(tickHlc({ wall: 100, logical: 7 }, 250)).toEqual({ wall: 250, logical: 0 });
  });

  it('counts logically while the physical clock stands still or goes back', () => {
    expect(tickHlc({ wall: 100, logical: 7 }, 100)).toEqual({ wall: 100, logical: 8 });
    expect(tickHlc({ wall: 100, logical: 7 }, 40)).toEqual({ wall: 100, logical: 8 });
  });

  it('moves to the next millisecond when the logical counter would overflow its encoding', () => {
    const next = tickHlc({ wall: 100, logical: MAX_LOGICAL }, 100);
    expect(next).toEqual({ wall: 101, logical: 0 });
    expect(encodeHlc(next, 'n') > encodeHlc({ wall: 100, logical: MAX_LOGICAL }, 'n')).toBe(true);
    expect(decodeHlc(encodeHlc(next, 'n'))).toEqual({ wall: 101, logical: 0, node: 'n' });
  });
});

describe('receiveHlc', () => {
  it('moves past both the local clock and the remote timestamp, so the next tick sorts after the remote', () => {
    fc.assert(
      fc.property(state, state, wall, wall, node, node, (local, remote, now, later, localNode, remoteNode) => {
        const received = receiveHlc(local, remote, now);
        expect(compareHlc(received, remote)).toBeGreaterThan(0);
        expect(compareHlc(received, local)).toBeGreaterThan(0);
        const written = encodeHlc(tickHlc(received, later), localNode);
        expect(written > encodeHlc(remote, remoteNode)).toBe(true);
      }),
    );
  });

  it('takes the physical clock when it is ahead of both', () => {
    expect(receiveHlc({ wall: 10, logical: 3 }, { wall: 20, logical: 9 }, 30)).toEqual({ wall: 30, logical: 0 });
  });

  it('continues from the remote logical counter when the remote is ahead', () => {
    expect(receiveHlc({ wall: 10, logical: 3 }, { wall: 20, logical: 9 }, 5)).toEqual({ wall: 20, logical: 10 });
  });

  it('moves to the next millisecond when the received logical counter is at its maximum', () => {
    const received = receiveHlc({ wall: 10, logical: 0 }, { wall: 20, logical: MAX_LOGICAL }, 5);
    expect(received).toEqual({ wall: 21, logical: 0 });
  });
});

describe('HybridLogicalClock', () => {
  it('hands out strictly increasing timestamps of its node while physical time stands still or goes back', () => {
    const times = [1000, 1000, 999, 500, 1000, 1001];
    let i = 0;
    const clock = new HybridLogicalClock('alice', () => times[Math.min(i++, times.length - 1)] as number);
    const stamps = times.map(() => clock.next());
    expect([...stamps].sort()).toEqual(stamps);
    expect(new Set(stamps).size).toBe(stamps.length);
    for (const stamp of stamps) expect(decodeHlc(stamp).node).toBe('alice');
  });

  it('sorts anything written after receiving a timestamp after that timestamp', () => {
    const clock = new HybridLogicalClock('a', () => 1000);
    const remote = encodeHlc({ wall: 5000, logical: 42 }, 'zzz');
    clock.receive(remote);
    const next = clock.next();
    expect(next > remote).toBe(true);
    expect(clock.state.wall).toBe(5000);
  });

  it('never goes back when it receives an older timestamp', () => {
    const clock = new HybridLogicalClock('a', () => 1000, { wall: 9000, logical: 4 });
    const before = clock.state;
    clock.receive(encodeHlc({ wall: 10, logical: 0 }, 'b'));
    expect(compareHlc(clock.state, before)).toBeGreaterThanOrEqual(0);
    expect(clock.next() > encodeHlc(before, 'a')).toBe(true);
  });

  it('resumes from a persisted state', () => {
    const clock = new HybridLogicalClock('a', () => 0, { wall: 77, logical: 3 });
    expect(decodeHlc(clock.next())).toEqual({ wall: 77, logical: 4, node: 'a' });
  });

  it('refuses to receive a malformed timestamp and keeps its state', () => {
    const clock = new HybridLogicalClock('a', () => 10);
    clock.next();
    const before = clock.state;
    expect(() => clock.receive('not a timestamp')).toThrow(ReactorError);
    expect(clock.state).toEqual(before);
  });
});

describe('the end of the clock', () => {
  const last = { wall: Number.MAX_SAFE_INTEGER, logical: MAX_LOGICAL };

  it('encodes the largest exact wall time and refuses anything past it', () => {
    expect(decodeHlc(encodeHlc(last, 'n'))).toEqual({ ...last, node: 'n' });
    expect(() => encodeHlc({ wall: Number.MAX_SAFE_INTEGER + 2, logical: 0 }, 'n')).toThrow(
      /no timestamp can hold .* this reactor cannot stamp new operations/,
    );
    expect(() => encodeHlc({ wall: 1.5, logical: 0 }, 'n')).toThrow(ReactorError);
    expect(isHlcTimestamp('zzzzzzzzzzz:00000:n')).toBe(false);
    expect(() => decodeHlc('zzzzzzzzzzz:00000:n')).toThrow(/malformed timestamp/);
  });

  it('refuses a tick past the end with a clear error and keeps its state, instead of a malformed timestamp', () => {
    const clock = new HybridLogicalClock('a', () => 0, last);
    expect(() => clock.next()).toThrow(/cannot stamp new operations/);
    expect(clock.state).toEqual(last);
  });

  it('refuses to receive a timestamp it could not move past', () => {
    const clock = new HybridLogicalClock('a', () => 0);
    expect(() => clock.receive(encodeHlc(last, 'b'))).toThrow(expect.objectContaining({ kind: 'clock-drift' }));
    expect(clock.state).toEqual(HLC_ZERO);
  });
});
