/**
 * The clock port: physical time for the HLC and every timer. XState's `SimulatedClock` fits, and
 * so does the default below.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, timeout) => setTimeout(fn, timeout),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
