/**
 * React bindings for xstate-reactor (`xstate-reactor/react`). React is an optional peer
 * dependency: only this entry imports it.
 */
export { type UseDocumentOptions, useDocument } from './useDocument.js';
export { type HasSync, useSyncStatus } from './useSyncStatus.js';
