/**
 * The clock port: physical time for the HLC and every timer. XState's `SimulatedClock` fits, and
 * so does `systemClock` (src/platform/clock.ts).
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(handle: unknown): void;
}
