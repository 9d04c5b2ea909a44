import type { Clock } from '../model/clock.js';

export type { Clock } from '../model/clock.js';

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, timeout) => setTimeout(fn, timeout),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
