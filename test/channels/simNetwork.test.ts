import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createSimNetwork } from '../../src/index.js';

describe('sim network faults at runtime', () => {
  it('configure changes drop and latency for the next messages', async () => {
    const clock = new SimulatedClock();
    const network = createSimNetwork({ seed: 3, clock });
    expect(await network.deliver('a', 'b', async () => 'ok')).toBe('ok');

    network.configure({ drop: 1 });
    expect(network.faults).toMatchObject({ drop: 1, latency: 0 });
    await expect(network.deliver('a', 'b', async () => 'ok')).rejects.toMatchObject({ kind: 'network' });
    expect(network.stats.dropped).toBe(1);

    network.configure({ drop: 0, latency: 40 });
    let answered = false;
    const slow = network
      .deliver('a', 'b', async () => 'late')
      .then((value) => {
        answered = true;
        return value;
      });
    clock.increment(39);
    await Promise.resolve();
    expect(answered).toBe(false);
    // 40 ms there and 40 ms back.
    clock.increment(1);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    clock.increment(40);
    expect(await slow).toBe('late');
  });

  it('refuses faults out of range and keeps the old ones', () => {
    const network = createSimNetwork({ drop: 0.1 });
    expect(() => network.configure({ drop: 2 })).toThrow(/probability/);
    expect(() => network.configure({ latency: -1 })).toThrow(/non-negative/);
    expect(network.faults.drop).toBe(0.1);
  });
});
