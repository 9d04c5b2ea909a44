import { ReactorError } from './errors.js';

/**
 * Hybrid logical clock. A timestamp is `wall:logical:node`, with `wall` (ms) and `logical` in
 * fixed-width base 36, so plain string comparison is time order. `tick` never goes backwards even
 * when the wall clock does, and `receive` moves the clock past a seen timestamp, so anything
 * written afterwards sorts after it.
 */
export interface HlcState {
  readonly wall: number;
  readonly logical: number;
}

/** A decoded timestamp. */
export interface HlcTimestamp extends HlcState {
  readonly node: string;
}

const WALL_WIDTH = 11;
const LOGICAL_WIDTH = 5;
/**
 * The largest wall time (ms since 1970) a timestamp holds: the largest exact integer, some 285,000
 * years from now. (Eleven base-36 digits could hold more, but not as exact numbers.)
 */
export const MAX_WALL = Number.MAX_SAFE_INTEGER;
const MAX_LOGICAL = 36 ** LOGICAL_WIDTH - 1;
// `s`: a node is any reactor id, and ids may contain line breaks.
const PATTERN = /^([0-9a-z]{11}):([0-9a-z]{5}):(.+)$/s;

/** The clock before anything happened. */
export const HLC_ZERO: HlcState = Object.freeze({ wall: 0, logical: 0 });

function encodable(state: HlcState): boolean {
  return (
    Number.isInteger(state.wall) &&
    Number.isInteger(state.logical) &&
    state.wall >= 0 &&
    state.wall <= MAX_WALL &&
    state.logical >= 0 &&
    state.logical <= MAX_LOGICAL
  );
}

/**
 * Encodes a timestamp so that string order is time order. A state the fixed-width form cannot
 * hold (past {@link MAX_WALL}) is refused: it would not sort, nor parse, as a timestamp.
 */
export function encodeHlc(state: HlcState, node: string): string {
  if (!encodable(state)) {
    throw new ReactorError(
      'internal',
      `the hybrid logical clock reached ${state.wall}:${state.logical}, which no timestamp can hold (the largest wall time is ${MAX_WALL} ms); this reactor cannot stamp new operations`,
    );
  }
  return `${state.wall.toString(36).padStart(WALL_WIDTH, '0')}:${state.logical
    .toString(36)
    .padStart(LOGICAL_WIDTH, '0')}:${node}`;
}

/** Decodes a timestamp made by {@link encodeHlc}; throws a `protocol` error otherwise. */
export function decodeHlc(timestamp: string): HlcTimestamp {
  const match = PATTERN.exec(timestamp);
  if (match === null || Number.parseInt(match[1] as string, 36) > MAX_WALL) {
    throw new ReactorError(
      'protocol',
      `malformed timestamp ${JSON.stringify(timestamp)}: expected "wall:logical:node" as made by the reactor's HLC`,
    );
  }
  return {
    wall: Number.parseInt(match[1] as string, 36),
    logical: Number.parseInt(match[2] as string, 36),
    node: match[3] as string,
  };
}

/** True when `timestamp` is well formed (and its wall time an exact number). */
export function isHlcTimestamp(timestamp: unknown): timestamp is string {
  if (typeof timestamp !== 'string') return false;
  const match = PATTERN.exec(timestamp);
  return match !== null && Number.parseInt(match[1] as string, 36) <= MAX_WALL;
}

function normalise(wall: number, logical: number): HlcState {
  return logical > MAX_LOGICAL ? { wall: wall + 1, logical: 0 } : { wall, logical };
}

/** Advances the clock for a local event at physical time `now`. */
export function tickHlc(state: HlcState, now: number): HlcState {
  const wall = Math.max(state.wall, Math.floor(now));
  return normalise(wall, wall === state.wall ? state.logical + 1 : 0);
}

/** Advances the clock past a received timestamp. */
export function receiveHlc(state: HlcState, remote: HlcState, now: number): HlcState {
  const wall = Math.max(state.wall, remote.wall, Math.floor(now));
  let logical = 0;
  if (wall === state.wall && wall === remote.wall) logical = Math.max(state.logical, remote.logical) + 1;
  else if (wall === state.wall) logical = state.logical + 1;
  else if (wall === remote.wall) logical = remote.logical + 1;
  return normalise(wall, logical);
}

/** Orders two clock states. */
export function compareHlc(a: HlcState, b: HlcState): number {
  return a.wall - b.wall || a.logical - b.logical;
}

/**
 * A mutable clock for one reactor: the IO layer owns it (it reads physical time); machines only
 * see the strings it makes.
 */
export class HybridLogicalClock {
  #state: HlcState;
  readonly #node: string;
  readonly #now: () => number;

  constructor(node: string, now: () => number, state: HlcState = HLC_ZERO) {
    this.#node = node;
    this.#now = now;
    this.#state = state;
  }

  /** A fresh timestamp, later than every one made or seen before. Throws when the clock is spent. */
  next(): string {
    const next = tickHlc(this.#state, this.#now());
    const timestamp = encodeHlc(next, this.#node);
    this.#state = next;
    return timestamp;
  }

  /**
   * Moves the clock past a timestamp seen on a received op. The caller has checked that the op is
   * not too far ahead (see `maxClockDrift`); one the clock could never move past is refused.
   */
  receive(timestamp: string): void {
    const remote = decodeHlc(timestamp);
    if (compareHlc(remote, this.#state) < 0) return;
    const next = receiveHlc(this.#state, remote, this.#now());
    if (!encodable(next)) {
      throw new ReactorError(
        'clock-drift',
        `timestamp ${JSON.stringify(timestamp)} is at the end of the clock's range`,
        {
          retryable: false,
        },
      );
    }
    this.#state = next;
  }

  /** Current state, for persistence. */
  get state(): HlcState {
    return this.#state;
  }
}
