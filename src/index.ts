export type { BusEvent, EventBus } from './actors/eventBus.js';
export { createEventBus } from './actors/eventBus.js';
export {
  type BroadcastChannelLike,
  type BroadcastReactor,
  type BroadcastTransport,
  type BroadcastTransportOptions,
  createBroadcastTransport,
  type PeerSyncOptions,
} from './channels/broadcast.js';
export { connect, type Reachable } from './channels/memory.js';
export {
  CLOSE_CODES,
  type ClientFrame,
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type ServerFrame,
} from './channels/protocol.js';
export {
  createSimNetwork,
  type SimNetwork,
  type SimNetworkFaults,
  type SimNetworkOptions,
  type SimNetworkStats,
} from './channels/simNetwork.js';
export {
  createWebSocketChannel,
  type WebSocketChannel,
  type WebSocketChannelOptions,
  type WebSocketClass,
  type WebSocketLike,
} from './channels/websocket.js';
export type { Clock } from './model/clock.js';
export type { AnyDocumentModel, DocumentModel, Reducer, Reducers } from './model/documentModel.js';
export { defineDocumentModel } from './model/documentModel.js';
export { classifyError, ERROR_KINDS, type ErrorKind, ReactorError, type ReactorErrorData } from './model/errors.js';
export { fold } from './model/fold.js';
export { canonicalJson, hashState } from './model/hash.js';
export { decodeHlc, encodeHlc, HybridLogicalClock } from './model/hlc.js';
export { type OperationContent, operationId } from './model/operationId.js';
export { compareOrder, sortCanonical } from './model/order.js';
export type {
  Channel,
  ConnectionSource,
  ConnectionState,
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
export type { LockManagerLike, TabChannelLike, TabRole } from './model/tabs.js';
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
export { systemClock } from './platform/clock.js';
export type { DocumentsApi, Reactor, ReactorOptions, ReactorStatus, StopOptions } from './reactor/createReactor.js';
export { createReactor } from './reactor/createReactor.js';
export { type InspectionRecord, toInspectionRecord } from './reactor/inspection.js';
export type { DeadLetter, RemoteOptions, RemoteStatus, SyncApi } from './reactor/syncApi.js';
export {
  type StorageBackend,
  StorageConstraintError,
  StorageFencedError,
  type StorageOptions,
} from './storage/backend.js';
