export type { BusEvent, EventBus } from './actors/eventBus.js';
export { createEventBus } from './actors/eventBus.js';
export { connect, type Reachable } from './channels/memory.js';
export {
  createSimNetwork,
  type SimNetwork,
  type SimNetworkOptions,
  type SimNetworkStats,
} from './channels/simNetwork.js';
export type { AnyDocumentModel, DocumentModel, Reducer, Reducers } from './model/documentModel.js';
export { defineDocumentModel } from './model/documentModel.js';
export { classifyError, ERROR_KINDS, type ErrorKind, ReactorError, type ReactorErrorData } from './model/errors.js';
export { fold } from './model/fold.js';
export { canonicalJson, hashState } from './model/hash.js';
export { decodeHlc, encodeHlc, HybridLogicalClock } from './model/hlc.js';
export { compareOrder, sortCanonical } from './model/order.js';
export type {
  Channel,
  Endpoint,
  Poke,
  PullRequest,
  PullResponse,
  PushRequest,
  PushResponse,
  RejectedOperation,
  SyncFilter,
  SyncMode,
} from './model/sync.js';
export { SYNC_MODES } from './model/sync.js';
export type {
  Action,
  DocumentSnapshot,
  JobOutcome,
  Operation,
  OperationEnvelope,
  Scope,
  StoredOperation,
} from './model/types.js';
export { CREATE_DOCUMENT, DEFAULT_BRANCH, DELETE_DOCUMENT, SCOPES } from './model/types.js';
export type { Clock } from './reactor/clock.js';
export { systemClock } from './reactor/clock.js';
export type { DocumentsApi, Reactor, ReactorOptions, ReactorStatus, StopOptions } from './reactor/createReactor.js';
export { createReactor } from './reactor/createReactor.js';
export { type InspectionRecord, toInspectionRecord } from './reactor/inspection.js';
export type { DeadLetter, RemoteOptions, RemoteStatus, SyncApi } from './reactor/syncApi.js';
export type { StorageOptions } from './storage/schema.js';
