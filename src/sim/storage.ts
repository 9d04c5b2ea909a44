import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';

/** A reactor's own fake IndexedDB, kept across crash and restart. */
export interface SimStorage {
  readonly dbName: string;
  readonly indexedDB: IDBFactory;
  readonly IDBKeyRange: typeof IDBKeyRange;
}

/** A fresh, private fake IndexedDB. */
export function freshFakeStorage(dbName: string): SimStorage {
  return { dbName, indexedDB: new IDBFactory(), IDBKeyRange };
}
