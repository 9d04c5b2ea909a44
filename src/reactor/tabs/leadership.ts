import type { LockManagerLike } from '../../model/tabs.js';

/**
 * This tab's claim on a database's leader lock (Web Locks). The lock is held for as long as the
 * tab leads: the browser releases it when the tab closes, navigates away or crashes, and grants
 * it to the next tab that asked, in order.
 */
export class Leadership {
  readonly #locks: LockManagerLike;
  readonly #name: string;
  #queued = new AbortController();
  #release: (() => void) | undefined;
  #closed = false;
  /** Called when another tab stole the lock while this one held it. */
  onLost: () => void = () => {};

  constructor(locks: LockManagerLike, name: string) {
    this.#locks = locks;
    this.#name = name;
  }

  /** Whether this tab holds the lock now. */
  get held(): boolean {
    return this.#release !== undefined;
  }

  /**
   * Asks for the lock: `now` only if it is free, `queue` when it frees up (resolves then), `steal`
   * from a holder that does not answer. Resolves with whether this tab holds it.
   */
  acquire(how: 'now' | 'queue' | 'steal'): Promise<boolean> {
    return new Promise<boolean>((granted) => {
      const options =
        how === 'now' ? { ifAvailable: true } : how === 'steal' ? { steal: true } : { signal: this.#queued.signal };
      let holding = false;
      this.#locks
        .request(this.#name, options, (lock) => {
          if (lock === null) {
            granted(false);
            return undefined;
          }
          // Granted after this tab gave up (it is stopping): let it go at once.
          if (this.#closed) {
            granted(false);
            return undefined;
          }
          holding = true;
          return new Promise<void>((release) => {
            this.#release = release;
            granted(true);
          });
        })
        .then(
          () => {
            if (holding && this.#release !== undefined) this.#release = undefined;
          },
          () => {
            // Stolen while held, or the queued request was given up.
            if (holding && this.#release !== undefined) {
              this.#release = undefined;
              this.onLost();
            }
            granted(false);
          },
        );
    });
  }

  /** Lets the lock go for good: a request granted later is let go at once. */
  close(): void {
    this.#closed = true;
    this.release();
  }

  /** Lets the lock go (and gives up a queued request). */
  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
    this.#queued.abort();
    this.#queued = new AbortController();
  }
}
