/**
 * The clock port: physical time for the HLC and every timer. `systemClock` (src/platform/clock.ts)
 * is the real one; `SimClock` (src/sim/clock.ts) and XState's `SimulatedClock` are simulated ones.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(handle: unknown): void;
}
