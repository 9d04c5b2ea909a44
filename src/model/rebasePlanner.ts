import { sealState } from './data.js';
import type { DocumentIdentity } from './documentIdentity.js';
import { compareOrder, type OrderKey } from './order.js';
import type { KeyframeRow } from './rows.js';

/**
 * The projector's decisions, as pure functions of what it holds: which streams to re-fold and
 * from where, which keyframe a re-fold starts from, which stored keyframes it makes stale, and
 * when to write a keyframe. The projector does the reading, folding and writing.
 */

/** Where a stream's fold restarts: at an op's position (from the nearest keyframe before it), or `null` for the start. */
export type RebuildFrom = OrderKey | null;

/** Sorts before every op: "after LOWEST" means the whole stream. */
export const LOWEST: OrderKey = Object.freeze({ timestamp: '', id: '' });

function keyOf(op: OrderKey): OrderKey {
  return { timestamp: op.timestamp, id: op.id };
}

function sameKey(a: OrderKey | null, b: OrderKey | null): boolean {
  return a === b || (a !== null && b !== null && compareOrder(a, b) === 0);
}

function minKey(a: OrderKey | null, b: OrderKey | null): OrderKey | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareOrder(a, b) <= 0 ? a : b;
}

/**
 * The streams a change of identity re-folds, once the document is created (`after.created` is
 * set). Every stream from the start when the document was waiting for its CREATE (`unprojected`:
 * it has ops but was never folded) or when the deciding CREATE changed (its position or model);
 * when only the DELETE changed, the streams that have ops past the earlier of the two DELETE
 * positions, from there. Otherwise none.
 */
export function rebuildsForIdentity(
  before: DocumentIdentity,
  after: DocumentIdentity,
  unprojected: boolean,
  streams: Iterable<string>,
  lastOf: (stream: string) => OrderKey | null | undefined,
): Map<string, RebuildFrom> {
  const rebuilds = new Map<string, RebuildFrom>();
  const created = after.created;
  if (created === null) return rebuilds;
  const recreated =
    before.created === null
      ? unprojected
      : before.created.model !== created.model || !sameKey(before.created.key, created.key);
  if (recreated) {
    for (const stream of streams) rebuilds.set(stream, null);
  } else if (!sameKey(before.deleted, after.deleted)) {
    const from = minKey(before.deleted, after.deleted) as OrderKey;
    for (const stream of streams) {
      const last = lastOf(stream);
      if (last != null && compareOrder(last, from) > 0) rebuilds.set(stream, from);
    }
  }
  return rebuilds;
}

/**
 * Whether a batch of new ops (its first op in canonical order) extends a stream whose last
 * applied op is `last`, or lands among applied ops: then the stream rebases from that first op.
 * Returns where to rebuild from, or `undefined` to append.
 */
export function rebaseFrom(last: OrderKey | null, first: OrderKey): OrderKey | undefined {
  return last !== null && compareOrder(first, last) < 0 ? keyOf(first) : undefined;
}

/** How to rebuild one stream. */
export interface RebuildPlan {
  /** The keyframe to start from; `undefined`: the model's initial state, before the first op. */
  readonly base: KeyframeRow | undefined;
  /** The stream's keyframes from now on (the in-memory mirror), in canonical order. */
  readonly keyframes: KeyframeRow[];
  /** Stored keyframes after this position are stale and must be dropped; `undefined`: none are. */
  readonly dropAfter: OrderKey | undefined;
  /** Replay the stored ops after this position; `undefined`: all of them. */
  readonly replayAfter: OrderKey | undefined;
}

/**
 * Plans the rebuild of a stream whose keyframes are `keyframes` (canonical order). At boot
 * (`from` is ignored) the latest keyframe serves and none is stale. On a rebase from a position,
 * the latest keyframe before it serves and those after it are stale; from the start, none serves
 * and all are stale. A keyframe serves only if it still holds a state: its state is sealed
 * (checked and frozen, like every state) here, and a later one that fails gives way to an earlier.
 */
export function planRebuild(keyframes: readonly KeyframeRow[], from: RebuildFrom, booting: boolean): RebuildPlan {
  const kept = booting
    ? keyframes.slice()
    : from === null
      ? []
      : keyframes.filter((keyframe) => compareOrder(keyframe, from) < 0);
  while (kept.length > 0 && sealState((kept[kept.length - 1] as KeyframeRow).state) !== undefined) kept.pop();
  const base = kept[kept.length - 1];
  const position = base === undefined ? undefined : keyOf(base);
  return {
    base,
    keyframes: kept,
    dropAfter: booting ? undefined : (position ?? LOWEST),
    replayAfter: position,
  };
}

/** Whether a stream that has just reached `count` ops writes a keyframe: every `interval` ops. */
export function keyframeDue(count: number, interval: number): boolean {
  return count % interval === 0;
}
