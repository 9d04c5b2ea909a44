import { ReactorError } from '../model/errors.js';
import type { SyncMode } from '../model/sync.js';

/** How simulated reactors are wired. */
export const TOPOLOGIES = ['pair', 'hub', 'mesh'] as const;
/** One of {@link TOPOLOGIES}. */
export type Topology = (typeof TOPOLOGIES)[number];

/** A remote held by reactor `from`, pointing at reactor `to`'s endpoint. */
export interface Edge {
  readonly from: number;
  readonly to: number;
}

/**
 * The remotes of a topology. `pair`: two reactors. `hub`: reactor 0 serves the others, like a
 * switchboard. `mesh`: every pair is connected. In ping-pong one remote per link carries both
 * directions (held by the spoke, or the lower index); push and pull need one remote each way.
 */
export function edgesFor(topology: Topology, count: number, mode: SyncMode): Edge[] {
  if (topology === 'pair' && count !== 2) {
    throw new ReactorError('validation', `topology "pair" needs exactly 2 reactors, got ${count}`);
  }
  if (count < 2) throw new ReactorError('validation', `a simulation needs at least 2 reactors, got ${count}`);
  const links: [number, number][] = [];
  if (topology === 'hub') {
    for (let spoke = 1; spoke < count; spoke++) links.push([spoke, 0]);
  } else {
    for (let a = 0; a < count; a++) for (let b = a + 1; b < count; b++) links.push([a, b]);
  }
  return links.flatMap(([a, b]) =>
    mode === 'ping-pong'
      ? [{ from: a, to: b }]
      : [
          { from: a, to: b },
          { from: b, to: a },
        ],
  );
}
