import type { Clock } from '../model/clock.js';

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to, and knows its own timers: when the next one is due, and in
 * which order they fire (by due time, then in the order they were set). Implements the `Clock`
 * port, so reactors, channels and the sim network can all run on one instance; XState's
 * `SimulatedClock` has the same `now` / `setTimeout` / `clearTimeout` / `set` / `increment`.
 *
 * Timeouts are whole milliseconds (rounded up; negative or NaN is 0), so due times compare exactly.
 * A timeout of 0 does not fire at once: it is due now and fires at the next `fireNext()` or `set()`.
 */
export class SimClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  /** @param start the time it shows at first (ms since the epoch, say) */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current time. */
  now(): number {
    return this.#now;
  }

  /** Schedules `fn` to run `timeout` ms from now; returns a handle for `clearTimeout`. */
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const ms = Number.isFinite(timeout) && timeout > 0 ? Math.ceil(timeout) : 0;
    const id = this.#nextId++;
    this.#timers.set(id, { id, due: this.#now + ms, fn: () => fn() });
    return id;
  }

  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** When the earliest pending timer is due, or `undefined` when none is. */
  nextDue(): number | undefined {
    return this.#earliest()?.due;
  }

  /**
   * Fires the earliest pending timer (the first set among those due at the same time), moving time
   * forward to its due time first. Returns false when no timer is pending.
   */
  fireNext(): boolean {
    const timer = this.#earliest();
    if (timer === undefined) return false;
    this.#timers.delete(timer.id);
    if (timer.due > this.#now) this.#now = timer.due;
    timer.fn();
    return true;
  }

  /**
   * Moves time forward to `time`, firing in order every timer due by then, including those that
   * the fired ones set. Each fires at its own due time (`now()` reads it). Never goes back.
   */
  set(time: number): void {
    if (time < this.#now) {
      throw new RangeError(`SimClock.set: ${time} is before the current time ${this.#now}; time never goes back`);
    }
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due > time) break;
      this.fireNext();
    }
    this.#now = time;
  }

  /** Moves time forward by `ms`, as {@link set} does. */
  increment(ms: number): void {
    this.set(this.#now + ms);
  }

  #earliest(): Timer | undefined {
    let first: Timer | undefined;
    // Map iteration is insertion order, and ids grow: the first of equal due times was set first.
    for (const timer of this.#timers.values()) {
      if (first === undefined || timer.due < first.due) first = timer;
    }
    return first;
  }
}
