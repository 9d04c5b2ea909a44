import type { SimulatedClock } from 'xstate';

interface PendingTimeout {
  readonly start: number;
  readonly timeout: number;
}

/** The time of the earliest timer scheduled on a SimulatedClock, if any. */
export function nextDue(clock: SimulatedClock): number | undefined {
  const timeouts = (clock as unknown as { timeouts: Map<number, PendingTimeout> }).timeouts;
  let due: number | undefined;
  for (const entry of timeouts.values()) {
    const at = entry.start + entry.timeout;
    if (due === undefined || at < due) due = at;
  }
  return due;
}

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
 * Advances simulated time to `target`, firing timers in order and letting the work each one
 * starts finish before the next. `onStep` runs after every step (for progress and checks).
 */
export async function advanceTo(clock: SimulatedClock, target: number): Promise<void> {
  await runUntilBlocked();
  for (;;) {
    const due = nextDue(clock);
    if (due === undefined || due > target) break;
    clock.set(Math.max(clock.now(), Math.ceil(due)));
    await runUntilBlocked();
  }
  if (clock.now() < target) clock.set(target);
  await runUntilBlocked();
}
