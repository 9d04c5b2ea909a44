import type { Clock } from '../model/clock.js';
import { ReactorError } from '../model/errors.js';
import { seededRandom } from '../model/random.js';
import { systemClock } from '../platform/clock.js';

/** Faults a simulated network injects. Probabilities are per message leg (request or response). */
export interface SimNetworkOptions {
  readonly seed?: number;
  /** Base one-way latency (ms). */
  readonly latency?: number;
  /** Extra random latency, up to this many ms. */
  readonly jitter?: number;
  /** Probability that a request or a response is lost. */
  readonly drop?: number;
  /** Probability that a request is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a message is held back long enough to be overtaken. */
  readonly reorder?: number;
  /** Time for every delay; default the system clock. A `SimClock` (or XState's SimulatedClock) fits. */
  readonly clock?: Pick<Clock, 'setTimeout'>;
}

/** Counters of what the network did. */
export interface SimNetworkStats {
  delivered: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  refused: number;
}

/** A seeded, fault-injecting network between named reactors. */
export interface SimNetwork {
  /** Carries one call from `from` to `to`: request leg, `call` at the receiver, response leg. */
  deliver<T>(from: string, to: string, call: () => Promise<T>): Promise<T>;
  /** Carries a one-way notification (pokes); lost ones are simply gone. */
  notify(from: string, to: string, deliver: () => void): void;
  /** Cuts traffic between two reactors (given as ids or as reactors), both ways. */
  partition(a: Peer, b: Peer): void;
  /** Restores traffic between two reactors, or everywhere when called without arguments. */
  heal(a?: Peer, b?: Peer): void;
  isPartitioned(a: Peer, b: Peer): boolean;
  /** Changes faults while the network runs (messages already in flight keep their delays). */
  configure(faults: SimNetworkFaults): void;
  /** The faults in force. */
  readonly faults: Required<SimNetworkFaults>;
  readonly stats: Readonly<SimNetworkStats>;
}

/** The faults of a network that can change while it runs. */
export type SimNetworkFaults = Pick<SimNetworkOptions, 'latency' | 'jitter' | 'drop' | 'duplicate' | 'reorder'>;

/** A reactor on the network: its id, or anything with an `id` (a reactor). */
export type Peer = string | { readonly id: string };

const idOf = (peer: Peer) => (typeof peer === 'string' ? peer : peer.id);
const pairKey = (a: Peer, b: Peer) => {
  const [x, y] = [idOf(a), idOf(b)];
  return x < y ? JSON.stringify([x, y]) : JSON.stringify([y, x]);
};

function probability(value: number | undefined, name: string): number {
  const p = value ?? 0;
  if (!(p >= 0 && p <= 1))
    throw new ReactorError('validation', `createSimNetwork: "${name}" must be a probability in [0, 1], got ${p}`);
  return p;
}

/**
 * Creates a simulated network. Every random decision comes from `seed`, every delay from `clock`,
 * so a run replays exactly. Messages are structured-cloned across it, like a real transport.
 */
export function createSimNetwork(options: SimNetworkOptions = {}): SimNetwork {
  const random = seededRandom(options.seed ?? 1);
  const clock = options.clock ?? systemClock;
  let faults: Required<SimNetworkFaults> = { latency: 0, jitter: 0, drop: 0, duplicate: 0, reorder: 0 };
  const configure = (next: SimNetworkFaults) => {
    const merged = { ...faults, ...next };
    const checked = {
      latency: merged.latency,
      jitter: merged.jitter,
      drop: probability(merged.drop, 'drop'),
      duplicate: probability(merged.duplicate, 'duplicate'),
      reorder: probability(merged.reorder, 'reorder'),
    };
    if (!(checked.latency >= 0) || !(checked.jitter >= 0)) {
      throw new ReactorError(
        'validation',
        'createSimNetwork: "latency" and "jitter" must be non-negative numbers of ms',
      );
    }
    faults = checked;
  };
  configure(options);
  const cuts = new Set<string>();
  const stats: SimNetworkStats = { delivered: 0, dropped: 0, duplicated: 0, reordered: 0, refused: 0 };

  const delay = (): number => {
    const { latency, jitter, reorder } = faults;
    let ms = latency + (jitter > 0 ? random() * jitter : 0);
    if (reorder > 0 && random() < reorder) {
      stats.reordered += 1;
      ms += (latency + jitter + 1) * (1 + random() * 3);
    }
    // Whole milliseconds: simulated clocks compare times exactly.
    return Math.round(ms);
  };
  const wait = (ms: number) =>
    ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => clock.setTimeout(() => resolve(), ms));
  const lost = (what: string, from: string, to: string) =>
    new ReactorError('network', `${what} between "${from}" and "${to}"`, { retryable: true });

  return {
    stats,
    configure,
    get faults() {
      return faults;
    },
    partition: (a, b) => {
      cuts.add(pairKey(a, b));
    },
    heal: (a, b) => {
      if (a === undefined || b === undefined) cuts.clear();
      else cuts.delete(pairKey(a, b));
    },
    isPartitioned: (a, b) => cuts.has(pairKey(a, b)),

    async deliver<T>(from: string, to: string, call: () => Promise<T>): Promise<T> {
      const { drop, duplicate } = faults;
      const requestDropped = random() < drop;
      const twice = random() < duplicate;
      const responseDropped = random() < drop;
      await wait(delay());
      if (cuts.has(pairKey(from, to))) {
        stats.refused += 1;
        throw lost('network partitioned', from, to);
      }
      if (requestDropped) {
        stats.dropped += 1;
        throw lost('request lost', from, to);
      }
      const result = call();
      if (twice) {
        stats.duplicated += 1;
        void wait(delay()).then(() => call().catch(() => undefined));
      }
      const value = structuredClone(await result);
      await wait(delay());
      if (cuts.has(pairKey(from, to))) {
        stats.refused += 1;
        throw lost('network partitioned', from, to);
      }
      if (responseDropped) {
        stats.dropped += 1;
        throw lost('response lost', from, to);
      }
      stats.delivered += 1;
      return value;
    },

    notify(from, to, deliver) {
      if (cuts.has(pairKey(from, to)) || random() < faults.drop) return;
      void wait(delay()).then(() => {
        if (!cuts.has(pairKey(from, to))) deliver();
      });
    },
  };
}
