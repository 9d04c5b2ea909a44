import type { Reactor } from '../../src/index.js';
import { hashString } from '../../src/model/hash.js';
import { seededRandom } from '../../src/model/random.js';
import { runUntilSettled, SimClock } from '../../src/sim/index.js';

/** Where simulated time starts in the seeded sync tests. */
export const EPOCH = Date.UTC(2026, 0, 1);

/**
 * One simulated clock for a test's reactors and network, and `run`, which waits for a promise by
 * letting simulated time pass (each timer fires in order once the work before it is done). A
 * seed then replays the faults and the interleaving. `run` fails loudly when the promise could
 * never settle, or not within `limitMs` of simulated time.
 */
export function simulatedTime(limitMs = 600_000) {
  const clock = new SimClock(EPOCH);
  const run = <T>(promise: Promise<T>, what?: string): Promise<T> =>
    runUntilSettled(clock, promise, { limitMs, ...(what === undefined ? {} : { what }) });
  return { clock, run };
}

/** A seeded random source for one incarnation of one reactor (its job ids and backoff jitter). */
export function reactorRandom(seed: number, name: string, incarnation: number): () => number {
  return seededRandom(Number.parseInt(hashString(`${seed}:${name}:${incarnation}`).slice(0, 8), 16));
}

/**
 * Logs what a user could observe of a reactor, with the simulated time: each commit (ordinals and
 * op ids) and each change of a remote's phase. Two runs of one seed give the same lines.
 */
export function observe(reactor: Reactor, clock: SimClock, log: string[]): () => void {
  const at = () => String(clock.now() - EPOCH).padStart(6);
  const written = reactor.events$.subscribe((event) => {
    if (event.type !== 'operations.written') return;
    log.push(`${at()} ${reactor.id} stored ${event.operations.map((op) => `${op.ordinal}:${op.id}`).join(' ')}`);
  });
  const phases = new Map<string, string>();
  const statuses = reactor.sync.status$.subscribe((all) => {
    for (const status of all) {
      const phase = `${status.phase} push ${status.push} pull ${status.pull}`;
      if (phases.get(status.name) === phase) continue;
      phases.set(status.name, phase);
      log.push(`${at()} ${reactor.id} → ${status.name}: ${phase}`);
    }
  });
  return () => {
    written.unsubscribe();
    statuses.unsubscribe();
  };
}
