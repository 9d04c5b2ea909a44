import type { DocumentProjector, DocumentReading } from '../actors/documentProjector.js';
import type { EventBus } from '../actors/eventBus.js';
import { SYSTEM_IDS } from '../machines/systemIds.js';
import type { StoreWrite } from '../model/storeWrite.js';
import type { SystemRef } from './system.js';

/**
 * The three places where data flows against the one-way direction queue → executor → store → bus
 * → view, each named and built here, once (see docs/architecture.md, "Back-edges"):
 *
 * 1. `currentState`: the executor reads a document's current state from the view before it runs
 *    reducers. It waits until the bus is idle, so the view has folded every committed op.
 * 2. `persistKeyframes`: the view writes its keyframes through the operations store, the only
 *    writer of storage. Fire and forget: a keyframe lost in a crash is rebuilt from the log.
 * 3. `visible`: a caller's promise resolves only once the view shows its job's effect (a rebase
 *    may still be running after the commit).
 */

/** Back-edge 2, which the view needs before it exists: writes through the store. */
export function keyframeWriter(system: SystemRef): (write: Omit<StoreWrite, 'writeId'>) => void {
  let writes = 0;
  return (write) => {
    writes += 1;
    system.send(SYSTEM_IDS.operationsStore, { type: 'store.write', write: { ...write, writeId: `view:${writes}` } });
  };
}

/** Back-edges 1 and 3: what the executor and the submitter read from the view. */
export function viewReaders(bus: EventBus, view: DocumentProjector) {
  return {
    currentState: async (documentId: string, branch: string): Promise<DocumentReading> => {
      await bus.idle();
      return view.read(documentId, branch);
    },
    /** The work still running for these documents, if any (undefined: visible now). */
    visible: (documentIds: string | readonly string[]): Promise<unknown> | undefined => {
      if (typeof documentIds === 'string') return view.pending(documentIds);
      const pending = documentIds.flatMap((id) => view.pending(id) ?? []);
      return pending.length === 0 ? undefined : Promise.all(pending);
    },
  };
}
