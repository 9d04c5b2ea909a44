/**
 * Runs in the bench page: the raw-IndexedDB baseline (the reactor's `operations` table shape and
 * indexes, no Dexie) and a count of the read-write transactions every database in the page opens.
 */
import { encodeHlc } from '../../src/index.js';

/** Read-write transactions opened in this page so far, and a durability to force on them (diagnostics). */
export const transactions: { readwrite: number; forceDurability: IDBTransactionDurability | undefined } = {
  readwrite: 0,
  forceDurability: undefined,
};

const openTransaction = IDBDatabase.prototype.transaction;
IDBDatabase.prototype.transaction = function transaction(
  this: IDBDatabase,
  storeNames: string | string[],
  mode?: IDBTransactionMode,
  options?: IDBTransactionOptions,
): IDBTransaction {
  if (mode !== 'readwrite') return openTransaction.call(this, storeNames, mode, options);
  transactions.readwrite += 1;
  const durability = transactions.forceDurability ?? options?.durability;
  return openTransaction.call(this, storeNames, mode, durability === undefined ? options : { ...options, durability });
} as IDBDatabase['transaction'];

/** A row shaped like the reactor's stored operations. */
export interface BaselineRow {
  readonly ordinal: number;
  readonly id: string;
  readonly stream: string;
  readonly documentId: string;
  readonly scope: string;
  readonly branch: string;
  readonly type: string;
  readonly input: unknown;
  readonly timestamp: string;
  readonly origin: string;
}

const STORE = 'operations';

/** Opens (creating) a database with one `operations` store: key `ordinal`, unique `id`, `[stream+timestamp+id]`. */
export function openBaseline(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      const store = request.result.createObjectStore(STORE, { keyPath: 'ordinal' });
      store.createIndex('id', 'id', { unique: true });
      store.createIndex('stream+timestamp+id', ['stream', 'timestamp', 'id']);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** `count` rows of one stream from position `from`, in canonical order. */
export function baselineRows(from: number, count: number): BaselineRow[] {
  const documentId = 'doc-1';
  const stream = JSON.stringify([documentId, 'global', 'main']);
  return Array.from({ length: count }, (_, n) => {
    const i = from + n;
    return {
      ordinal: i + 1,
      id: `op${i.toString(36).padStart(14, '0')}`,
      stream,
      documentId,
      scope: 'global',
      branch: 'main',
      type: 'INCREMENT',
      input: { by: 1 },
      timestamp: encodeHlc({ wall: 1_700_000_000_000, logical: i }, 'baseline'),
      origin: 'baseline',
    };
  });
}

/** Puts `rows` in one read-write transaction; resolves when it has committed. */
export function putAll(db: IDBDatabase, rows: readonly BaselineRow[], durability?: IDBTransactionDurability) {
  return new Promise<void>((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite', durability === undefined ? {} : { durability });
    const store = tx.objectStore(STORE);
    for (const row of rows) store.put(row);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

/** How many rows the `operations` store holds. */
export function countRows(db: IDBDatabase): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(STORE, 'readonly').objectStore(STORE).count();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Deletes a database (every connection to it must be closed). */
export function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}
