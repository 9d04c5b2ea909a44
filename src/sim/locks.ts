import type { LockManagerLike } from '../model/tabs.js';

interface Held {
  readonly name: string;
  /** Ends the holder's request with an AbortError (its lock was stolen). */
  readonly steal: () => void;
}

interface Waiting {
  readonly grant: () => void;
}

/**
 * An in-process stand-in for the Web Locks API (`navigator.locks`), for tests and simulations of
 * several tabs in Node: exclusive locks only, granted in request order, with `ifAvailable`,
 * `steal` and `signal`. Give every simulated tab the same manager; a lock is released when the
 * holder's callback settles, as in browsers.
 */
export function createLockManager(): LockManagerLike {
  const held = new Map<string, Held>();
  const queues = new Map<string, Waiting[]>();

  const abortError = (message: string) => new DOMException(message, 'AbortError');

  const release = (name: string, holder: Held) => {
    if (held.get(name) !== holder) return;
    held.delete(name);
    const next = queues.get(name)?.shift();
    next?.grant();
  };

  return {
    request<T>(
      name: string,
      options: { mode?: 'exclusive'; ifAvailable?: boolean; steal?: boolean; signal?: AbortSignal },
      callback: (lock: { readonly name: string } | null) => Promise<T> | T,
    ): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const run = () => {
          let stolen = false;
          const holder: Held = {
            name,
            steal: () => {
              stolen = true;
              reject(abortError(`the lock "${name}" was stolen`));
            },
          };
          held.set(name, holder);
          Promise.resolve()
            .then(() => callback({ name }))
            .then(
              (value) => {
                release(name, holder);
                if (!stolen) resolve(value);
              },
              (error: unknown) => {
                release(name, holder);
                if (!stolen) reject(error);
              },
            );
        };
        if (options.signal?.aborted) {
          reject(abortError('the lock request was aborted'));
          return;
        }
        const current = held.get(name);
        if (options.steal === true) {
          if (current !== undefined) {
            held.delete(name);
            current.steal();
          }
          run();
          return;
        }
        if (current === undefined) {
          run();
          return;
        }
        if (options.ifAvailable === true) {
          Promise.resolve()
            .then(() => callback(null))
            .then(resolve, reject);
          return;
        }
        const waiting: Waiting = { grant: run };
        const queue = queues.get(name) ?? [];
        queue.push(waiting);
        queues.set(name, queue);
        options.signal?.addEventListener('abort', () => {
          const list = queues.get(name);
          const at = list?.indexOf(waiting) ?? -1;
          if (at >= 0) {
            list?.splice(at, 1);
            reject(abortError('the lock request was aborted'));
          }
        });
      });
    },
  };
}
