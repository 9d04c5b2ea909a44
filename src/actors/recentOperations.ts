import { matchesFilter, type SyncFilter } from '../model/sync.js';
import type { OperationEnvelope, StoredOperation } from '../model/types.js';
import { type EchoFilter, isEcho, type ScannedPage, toEnvelope } from '../storage/syncRepository.js';
import type { EventBus } from './eventBus.js';

/**
 * The most recent ops in arrival order, kept from `operations.written`, so that push batches and
 * pull pages near the head of the log are served from memory instead of read back from IndexedDB.
 * It holds a contiguous run of ordinals (group commits are published in order); a scan that
 * starts before that run returns `undefined` and the caller reads the database.
 */
export class RecentOperations {
  #ops: StoredOperation[] = [];
  /** The remote each held op came from, for those that came from one. */
  readonly #sources = new Map<string, string>();
  /** Ordinal of `#entries[0]`. */
  #start: number;
  readonly #capacity: number;
  readonly #subscription: { unsubscribe(): void };

  constructor(bus: EventBus, lastOrdinal: number, capacity = 50_000) {
    this.#start = lastOrdinal + 1;
    this.#capacity = capacity;
    this.#subscription = bus.on('operations.written').subscribe((event) => {
      for (const op of event.operations) this.#ops.push(op);
      for (const [id, source] of Object.entries(event.sources)) this.#sources.set(id, source);
      const excess = this.#ops.length - this.#capacity;
      if (excess > this.#capacity / 2) {
        for (const op of this.#ops.slice(0, excess)) this.#sources.delete(op.id);
        this.#ops = this.#ops.slice(excess);
        this.#start += excess;
      }
    });
  }

  /** Like `scanSince`, from memory; `undefined` when the range starts before what is held. */
  scan(cursor: number, limit: number, filter: SyncFilter | undefined, echo: EchoFilter): ScannedPage | undefined {
    if (cursor + 1 < this.#start) return undefined;
    const operations: OperationEnvelope[] = [];
    let position = cursor;
    for (let i = cursor + 1 - this.#start; i < this.#ops.length && operations.length < limit; i++) {
      const op = this.#ops[i] as StoredOperation;
      position = op.ordinal;
      if (isEcho(echo, this.#sources.get(op.id), op.origin)) continue;
      if (matchesFilter(op, filter)) operations.push(toEnvelope(op));
    }
    return { operations, cursor: position };
  }

  close(): void {
    this.#subscription.unsubscribe();
    this.#ops = [];
    this.#sources.clear();
  }
}
