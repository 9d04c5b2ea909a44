import { fromCallback } from 'xstate';
import type { StoreReply } from '../machines/operationsStore.js';
import { SYSTEM_IDS } from '../machines/systemIds.js';
import { ReactorError } from '../model/errors.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';
import type { SystemRef } from './system.js';

/**
 * Lets plain async code (the sync API and actors) commit a write through the operations store and
 * await its result. The store answers an actor of the system, `replies` (invoked by the root
 * machine with this logic), which settles the matching promise.
 */
export function createReplies(system: SystemRef) {
  const waiting = new Map<string, { resolve(result: WriteResult): void; reject(error: ReactorError): void }>();
  let next = 0;
  const logic = fromCallback<StoreReply>(({ receive }) => {
    receive((reply) => {
      const writeId = reply.type === 'store.committed' ? reply.result.writeId : reply.writeId;
      const entry = waiting.get(writeId);
      if (entry === undefined) return;
      waiting.delete(writeId);
      if (reply.type === 'store.failed') entry.reject(ReactorError.fromData(reply.error));
      else if (reply.result.error !== undefined) entry.reject(ReactorError.fromData(reply.result.error));
      else entry.resolve(reply.result);
    });
  });
  return {
    /** The `replies` actor's logic. */
    logic,
    /** Commits a write through the operations store; resolves once it is committed. */
    commit(write: Omit<StoreWrite, 'writeId'>): Promise<WriteResult> {
      next += 1;
      const writeId = `reply:${next}`;
      return new Promise<WriteResult>((resolve, reject) => {
        const replyTo = system.get(SYSTEM_IDS.replies);
        if (replyTo === undefined) {
          reject(new ReactorError('stopped', 'the reactor is not running: nothing can be committed'));
          return;
        }
        waiting.set(writeId, { resolve, reject });
        system.send(SYSTEM_IDS.operationsStore, { type: 'store.write', write: { ...write, writeId }, replyTo });
      });
    },
    /** Rejects whatever still waits (the reactor stopped). */
    close(error: ReactorError): void {
      for (const entry of waiting.values()) entry.reject(error);
      waiting.clear();
    },
  };
}
