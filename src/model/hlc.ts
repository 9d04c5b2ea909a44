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
const MAX_LOGICAL = 36 ** LOGICAL_WIDTH - 1;
// `s`: a node is any reactor id, and ids may contain line breaks.
const PATTERN = /^([0-9a-z]{11}):([0-9a-z]{5}):(.+)$/s;

/** The clock before anything happened. */
export const HLC_ZERO: HlcState = Object.freeze({ wall: 0, logical: 0 });

/** Encodes a timestamp so that string order is time order. */
export function encodeHlc(state: HlcState, node: string): string {
  return `${state.wall.toString(36).padStart(WALL_WIDTH, '0')}:${state.logical
    .toString(36)
    .padStart(LOGICAL_WIDTH, '0')}:${node}`;
}

/** Decodes a timestamp made by {@link encodeHlc}; throws a `protocol` error otherwise. */
export function decodeHlc(timestamp: string): HlcTimestamp {
  const match = PATTERN.exec(timestamp);
  if (match === null) {
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

/** True when `timestamp` is well formed. */
export function isHlcTimestamp(timestamp: unknown): timestamp is string {
  return typeof timestamp === 'string' && PATTERN.test(timestamp);
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

  /** A fresh timestamp, later than every one made or seen before. */
  next(): string {
    this.#state = tickHlc(this.#state, this.#now());
    return encodeHlc(this.#state, this.#node);
  }

  /** Moves the clock past a timestamp seen on a received op. */
  receive(timestamp: string): void {
    const remote = decodeHlc(timestamp);
    if (compareHlc(remote, this.#state) < 0) return;
    this.#state = receiveHlc(this.#state, remote, this.#now());
  }

  /** Current state, for persistence. */
  get state(): HlcState {
    return this.#state;
  }
}
