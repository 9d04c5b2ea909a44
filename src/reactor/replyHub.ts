import { type AnyActorRef, createActor, fromCallback } from 'xstate';
import type { StoreReply } from '../machines/operationsStore.js';
import { ReactorError } from '../model/errors.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';

/**
 * Lets plain async code commit a write through the operations store and await the result: one
 * small actor receives the store's replies and settles the matching promise.
 */
export function createReplyHub(send: (message: { write: StoreWrite; replyTo: AnyActorRef }) => void) {
  const waiting = new Map<string, { resolve(result: WriteResult): void; reject(error: ReactorError): void }>();
  let next = 0;
  const hub = createActor(
    fromCallback<StoreReply>(({ receive }) => {
      receive((reply) => {
        const writeId = reply.type === 'store.committed' ? reply.result.writeId : reply.writeId;
        const entry = waiting.get(writeId);
        if (entry === undefined) return;
        waiting.delete(writeId);
        if (reply.type === 'store.failed') entry.reject(ReactorError.fromData(reply.error));
        else if (reply.result.error !== undefined) entry.reject(ReactorError.fromData(reply.result.error));
        else entry.resolve(reply.result);
      });
    }),
  ).start();
  return {
    commit(write: Omit<StoreWrite, 'writeId'>): Promise<WriteResult> {
      next += 1;
      const writeId = `reply:${next}`;
      return new Promise<WriteResult>((resolve, reject) => {
        waiting.set(writeId, { resolve, reject });
        send({ write: { ...write, writeId }, replyTo: hub });
      });
    },
    /** Rejects whatever still waits (the reactor stopped). */
    close(error: ReactorError): void {
      for (const entry of waiting.values()) entry.reject(error);
      waiting.clear();
      hub.stop();
    },
  };
}
