/**
 * `xstate-reactor/storage`: what a storage backend implements and is tested against. The
 * `StorageBackend` contract, its batch and row types, the Dexie (IndexedDB) backend, and the
 * contract suite every backend must pass (see docs/storage.md).
 */
export type {
  CursorRow,
  DeadLetterRow,
  FenceRow,
  JobLogRow,
  KeyframeRow,
  LaneRow,
  MetaRow,
  OperationRow,
  RemoteRow,
  StreamRow,
  WriteRow,
} from '../model/rows.js';
export {
  type BootRows,
  type CursorKey,
  isConstraintError,
  isFencedError,
  type KeyframeDrop,
  type StorageBackend,
  StorageConstraintError,
  StorageFencedError,
  type StorageOptions,
  type StoreChanges,
  type SyncRows,
  type WriteBatch,
  type WriteRowChanges,
} from './backend.js';
export { describeStorageContract, type StoragePlace, type TestApi } from './contract.js';
export { createDexieStorage } from './dexie.js';
