import { describe, expect, it } from 'vitest';
import { DocumentChains } from '../../src/actors/documentChains.js';

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

function recordingChains() {
  const log: string[] = [];
  const chains = new DocumentChains({
    done: (id) => log.push(`done ${id}`),
    failed: (id, error) => log.push(`failed ${id}: ${(error as Error).message}`),
  });
  return { log, chains };
}

describe('document chains', () => {
  it('runs a document’s work in the order it was queued, one piece at a time, reporting each', async () => {
    const { log, chains } = recordingChains();
    const first = gate();
    chains.queue('a', () => {
      log.push('a1 start');
      return first.promise.then(() => {
        log.push('a1 end');
      });
    });
    chains.queue('a', () => {
      log.push('a2');
      return undefined;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['a1 start']);
    first.open();
    await chains.pending('a');
    expect(log).toEqual(['a1 start', 'a1 end', 'done a', 'a2', 'done a']);
  });

  it('lets other documents run while one waits', async () => {
    const { log, chains } = recordingChains();
    const slow = gate();
    chains.queue('a', () => slow.promise);
    chains.queue('b', () => undefined);
    await chains.pending('b');
    expect(log).toEqual(['done b']);
    expect(chains.busy('a')).toBe(true);
    expect(chains.busy('b')).toBe(false);
    slow.open();
    await chains.settledAll();
    expect(log).toEqual(['done b', 'done a']);
  });

  it('has no chain for a document with nothing queued', async () => {
    const { chains } = recordingChains();
    expect(chains.pending('a')).toBeUndefined();
    chains.queue('a', () => undefined);
    expect(chains.pending('a')).toBeInstanceOf(Promise);
    await chains.pending('a');
    expect(chains.pending('a')).toBeUndefined();
    expect(chains.busy('a')).toBe(false);
  });

  it('reports a failure and goes on with the next piece; pending never rejects', async () => {
    const { log, chains } = recordingChains();
    chains.queue('a', () => Promise.reject(new Error('read failed')));
    chains.queue('a', () => undefined);
    await chains.pending('a');
    expect(log).toEqual(['failed a: read failed', 'done a']);
  });

  it('settledAll waits for work queued while it waits', async () => {
    const { log, chains } = recordingChains();
    chains.queue('a', async () => {
      // Queued once settledAll is already waiting for `a`, and done well after it.
      chains.queue('b', async () => {
        for (let i = 0; i < 10; i++) await Promise.resolve();
        log.push('b ran');
      });
    });
    await chains.settledAll();
    expect(log).toEqual(['done a', 'b ran', 'done b']);
    expect(chains.busy('b')).toBe(false);
  });
});
