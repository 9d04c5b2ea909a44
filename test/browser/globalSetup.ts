import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import type { TestProject } from 'vitest/node';
import { createSwitchboard } from '../../src/server/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A switchboard on loopback (in memory) that browser tests connect to over WebSocket. */
    switchboardUrl: string;
  }
}

/** Runs in Node before the browser suite: starts a switchboard for the WebSocket tests. */
export default async function setup(project: TestProject) {
  const board = await createSwitchboard({
    port: 0,
    host: '127.0.0.1',
    storage: { dbName: 'browser-suite-switchboard', indexedDB: new IDBFactory(), IDBKeyRange },
    token: 'browser-suite',
  });
  project.provide('switchboardUrl', board.url);
  return () => board.close();
}
