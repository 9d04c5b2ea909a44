/**
 * A small seeded PRNG (mulberry32) as pure functions, so machines can draw jitter from context
 * without `Math.random()` and a seed replays the same decisions.
 */
export function nextRandom(seed: number): [value: number, nextSeed: number] {
  const next = (seed + 0x6d2b79f5) | 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  const value = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  return [value, next];
}

/** A stateful generator over {@link nextRandom}, for ports that need `() => number`. */
export function seededRandom(seed: number): () => number {
  let current = seed | 0;
  return () => {
    const [value, next] = nextRandom(current);
    current = next;
    return value;
  };
}

/**
 * Exponential backoff with full jitter: `base * 2^attempt`, capped, scaled by a draw in [0.5, 1].
 * Pure: the caller supplies the random draw.
 */
export function backoffDelay(attempt: number, draw: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(exp * (0.5 + draw / 2));
}
