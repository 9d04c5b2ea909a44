import { describe, expect, it } from 'vitest';
import { runUntilSettled, SimClock, StalledError } from '../../src/sim/index.js';

describe('SimClock', () => {
  it('knows its pending timers and fires them by due time, then in the order they were set', () => {
    const clock = new SimClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    const cleared = clock.setTimeout(() => fired.push('never'), 15);
    clock.clearTimeout(cleared);
    clock.clearTimeout('not a handle');
    expect(clock.pending).toBe(3);
    expect(clock.nextDue()).toBe(1010);

    expect(clock.fireNext()).toBe(true);
    expect(fired).toEqual(['a@1010']);
    expect(clock.now()).toBe(1010);
    clock.set(1020);
    expect(fired).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(clock.pending).toBe(0);
    expect(clock.nextDue()).toBeUndefined();
    expect(clock.fireNext()).toBe(false);
  });

  it('fires timers that fired timers set when they fall due within the same set(), each at its own time', () => {
    const clock = new SimClock();
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now());
      if (fired.length < 5) clock.setTimeout(tick, 30);
    };
    clock.setTimeout(tick, 30);
    clock.increment(100);
    expect(fired).toEqual([30, 60, 90]);
    expect(clock.now()).toBe(100);
    expect(clock.nextDue()).toBe(120);
  });

  it('rounds timeouts up to whole milliseconds; 0, negative and NaN are due now but do not fire at once', () => {
    const clock = new SimClock(5);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('fraction'), 0.2);
    for (const ms of [0, -3, Number.NaN]) clock.setTimeout(() => fired.push(String(ms)), ms);
    expect(fired).toEqual([]);
    expect(clock.nextDue()).toBe(5);
    clock.set(5);
    expect(fired).toEqual(['0', '-3', 'NaN']);
    clock.set(6);
    expect(fired).toEqual(['0', '-3', 'NaN', 'fraction']);
  });

  it('never goes back in time', () => {
    const clock = new SimClock(50);
    expect(() => clock.set(49)).toThrow(/never goes back/);
    expect(clock.now()).toBe(50);
  });
});

describe('runUntilSettled', () => {
  it('fires timers until the promise settles and resolves with its value', async () => {
    const clock = new SimClock();
    const later = new Promise<string>((resolve) => clock.setTimeout(() => resolve(`at ${clock.now()}`), 250));
    await expect(runUntilSettled(clock, later)).resolves.toBe('at 250');
  });

  it('rejects as the promise does', async () => {
    const clock = new SimClock();
    const failing = new Promise((_, reject) => clock.setTimeout(() => reject(new Error('boom')), 5));
    await expect(runUntilSettled(clock, failing)).rejects.toThrow('boom');
  });

  it('fails loudly when nothing is left that could settle the promise, or when it would take too long', async () => {
    const clock = new SimClock();
    await expect(runUntilSettled(clock, new Promise(() => {}), { what: 'the answer' })).rejects.toThrow(
      /the answer is still pending, and no timer is left/,
    );
    const tick = () => clock.setTimeout(tick, 100);
    tick();
    const stalled = runUntilSettled(clock, new Promise(() => {}), { limitMs: 1000 });
    await expect(stalled).rejects.toBeInstanceOf(StalledError);
    await expect(stalled).rejects.toThrow(/within 1000 ms of simulated time/);
    expect(clock.now()).toBe(1000);
  });
});
