import { useEffect, useState } from 'react';
import type { Demo } from './setup.js';

const LATENCIES = [0, 50, 200, 500, 1000] as const;
const DROPS = [0, 0.1, 0.25, 0.5] as const;

/** Re-renders every `ms`, for counters nothing notifies about. */
function useTick(ms: number) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((tick) => tick + 1), ms);
    return () => clearInterval(timer);
  }, [ms]);
}

/** The link between the two reactors: partition and heal it, slow it down, make it lossy. */
export function NetworkControls({ demo }: { demo: Demo }) {
  const { network, peers } = demo;
  const [a, b] = peers;
  const [partitioned, setPartitioned] = useState(() => network.isPartitioned(a.reactor, b.reactor));
  const [settings, setSettings] = useState(network.faults);
  useTick(500);

  const cut = (on: boolean) => {
    if (on) network.partition(a.reactor, b.reactor);
    else network.heal(a.reactor, b.reactor);
    setPartitioned(on);
  };
  const tune = (next: Partial<typeof settings>) => {
    // Jitter follows latency: a quarter of it, so replies still arrive out of step.
    network.configure({ ...next, ...(next.latency === undefined ? {} : { jitter: next.latency / 4 }) });
    setSettings(network.faults);
  };

  return (
    <section className="network" aria-label="Network between Alice and Bob">
      <div className="link">
        <span
          className={partitioned ? 'pill pill-cut' : 'pill pill-up'}
          data-testid="link-state"
          data-partitioned={partitioned}
        >
          {partitioned ? 'partitioned' : 'connected'}
        </span>
        <button type="button" onClick={() => cut(true)} disabled={partitioned} data-testid="partition">
          Partition
        </button>
        <button type="button" onClick={() => cut(false)} disabled={!partitioned} data-testid="heal">
          Heal
        </button>
      </div>
      <label>
        latency
        <select
          value={settings.latency}
          onChange={(event) => tune({ latency: Number(event.target.value) })}
          aria-label="One-way latency"
          data-testid="latency"
        >
          {LATENCIES.map((ms) => (
            <option key={ms} value={ms}>
              {ms} ms
            </option>
          ))}
        </select>
      </label>
      <label>
        drop
        <select
          value={settings.drop}
          onChange={(event) => tune({ drop: Number(event.target.value) })}
          aria-label="Message drop rate"
          data-testid="drop"
        >
          {DROPS.map((p) => (
            <option key={p} value={p}>
              {Math.round(p * 100)}%
            </option>
          ))}
        </select>
      </label>
      <p className="stats" data-testid="network-stats">
        {network.stats.delivered} delivered · {network.stats.dropped} dropped · {network.stats.refused} refused
      </p>
    </section>
  );
}
