/**
 * The `systemId`s of a reactor's long-lived actors: every machine and the composition reach each
 * other by these names only (`system.get(SYSTEM_IDS.queue)`), never by a string of their own.
 */
export const SYSTEM_IDS = {
  /** The root (`machines/reactor.ts`). */
  reactor: 'reactor',
  /** The persistent job queue (`machines/queue.ts`). */
  queue: 'queue',
  /** Runs batches of jobs (`machines/jobExecutor.ts`, one `jobRun` child per batch). */
  jobExecutor: 'jobExecutor',
  /** The only writer of storage (`machines/operationsStore.ts`). */
  operationsStore: 'operationsStore',
  /** The read model's actor (`machines/documentView.ts`). */
  documentView: 'documentView',
  /** One child per remote (`machines/syncManager.ts`). */
  syncManager: 'syncManager',
  /** Receives the store's answers to writes made from plain async code (sync cursors, dead letters). */
  replies: 'replies',
} as const;

/** One of {@link SYSTEM_IDS}. */
export type SystemId = (typeof SYSTEM_IDS)[keyof typeof SYSTEM_IDS];
