import type { SimClock } from './clock.js';

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Lets everything that is ready at the current simulated instant run: promises, and IndexedDB
 * work (fake-indexeddb schedules with `setImmediate`). Returns when no immediate is pending, or
 * after `maxTurns` turns of the event loop.
 */
export async function runUntilBlocked(maxTurns = 100_000): Promise<void> {
  for (let turn = 0; turn < maxTurns; turn++) {
    await immediate();
    if (!process.getActiveResourcesInfo().includes('Immediate')) {
      // One more turn catches work queued by the last microtasks.
      await immediate();
      if (!process.getActiveResourcesInfo().includes('Immediate')) return;
    }
  }
}

/**
 * Advances simulated time to `target`, firing timers one at a time in order and letting the work
 * each one starts finish before the next.
 */
export async function advanceTo(clock: SimClock, target: number): Promise<void> {
  await runUntilBlocked();
  for (;;) {
    const due = clock.nextDue();
    if (due === undefined || due > target) break;
    clock.fireNext();
    await runUntilBlocked();
  }
  if (clock.now() < target) clock.set(target);
  await runUntilBlocked();
}

/** Options of {@link runUntilSettled}. */
export interface RunOptions {
  /** How much simulated time it may take before it fails (default 10 minutes). */
  readonly limitMs?: number;
  /** Names what is awaited in the error message. */
  readonly what?: string;
}

/** Thrown when simulated time cannot bring a promise to settle. */
export class StalledError extends Error {
  override readonly name = 'StalledError';
}

/**
 * Runs the simulation until `promise` settles, and resolves or rejects as it does: lets the ready
 * work finish, then fires the next timer, and again. Rejects with a {@link StalledError} when no
 * timer is left and the promise is still pending (nothing could ever settle it), or when it would
 * take more than `limitMs` of simulated time.
 */
export async function runUntilSettled<T>(clock: SimClock, promise: Promise<T>, options: RunOptions = {}): Promise<T> {
  let settled = false;
  const watched = promise.then(
    (value) => {
      settled = true;
      return value;
    },
    (error: unknown) => {
      settled = true;
      throw error;
    },
  );
  // Rejections are handed back below, once the loop sees them.
  watched.catch(() => {});
  const limitMs = options.limitMs ?? 600_000;
  const deadline = clock.now() + limitMs;
  const what = options.what ?? 'the promise';
  for (;;) {
    await runUntilBlocked();
    if (settled) return watched;
    const due = clock.nextDue();
    if (due === undefined) {
      throw new StalledError(`${what} is still pending, and no timer is left to settle it (at ${clock.now()})`);
    }
    if (due > deadline) {
      throw new StalledError(`${what} did not settle within ${limitMs} ms of simulated time`);
    }
    clock.fireNext();
  }
}
