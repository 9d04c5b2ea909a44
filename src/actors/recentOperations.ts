import { matchesFilter, type SyncFilter } from '../model/sync.js';
import type { OperationEnvelope, StoredOperation } from '../model/types.js';
import { type ScannedPage, toEnvelope } from '../storage/syncRepository.js';
import type { EventBus } from './eventBus.js';

interface Entry {
  readonly op: StoredOperation;
  readonly source: string | undefined;
}

/**
 * The most recent ops in arrival order, kept from `operations.written`, so that push batches and
 * pull pages near the head of the log are served from memory instead of read back from IndexedDB.
 * It holds a contiguous run of ordinals (group commits are published in order); a scan that
 * starts before that run returns `undefined` and the caller reads the database.
 */
export class RecentOperations {
  #entries: Entry[] = [];
  /** Ordinal of `#entries[0]`. */
  #start: number;
  readonly #capacity: number;
  readonly #subscription: { unsubscribe(): void };

  constructor(bus: EventBus, lastOrdinal: number, capacity = 50_000) {
    this.#start = lastOrdinal + 1;
    this.#capacity = capacity;
    this.#subscription = bus.on('operations.written').subscribe((event) => {
      for (const op of event.operations) this.#entries.push({ op, source: event.sources[op.id] });
      const excess = this.#entries.length - this.#capacity;
      if (excess > this.#capacity / 2) {
        this.#entries = this.#entries.slice(excess);
        this.#start += excess;
      }
    });
  }

  /** Like `scanSince`, from memory; `undefined` when the range starts before what is held. */
  scan(
    cursor: number,
    limit: number,
    filter: SyncFilter | undefined,
    exclude: readonly (string | undefined)[],
  ): ScannedPage | undefined {
    if (cursor + 1 < this.#start) return undefined;
    const operations: OperationEnvelope[] = [];
    let position = cursor;
    for (let i = cursor + 1 - this.#start; i < this.#entries.length && operations.length < limit; i++) {
      const entry = this.#entries[i] as Entry;
      position = entry.op.ordinal;
      if (entry.source !== undefined && exclude.includes(entry.source)) continue;
      if (matchesFilter(entry.op, filter)) operations.push(toEnvelope(entry.op));
    }
    return { operations, cursor: position };
  }

  close(): void {
    this.#subscription.unsubscribe();
    this.#entries = [];
  }
}
