import { createStore } from '@xstate/store';
import { Observable } from 'rxjs';
import { copyRecord, emptyRecord, own } from '../model/keys.js';
import type { DocumentSnapshot } from '../model/types.js';

/**
 * The read model's snapshots, one per document and branch. A snapshot is frozen and replaced
 * whole, never changed, so the same object comes back for as long as its document is unchanged.
 */
export interface SnapshotStore {
  /** The current snapshot of a document on a branch. */
  get(documentId: string, branch: string): DocumentSnapshot | undefined;
  /** Every snapshot, in the order their documents and branches first appeared. */
  list(): DocumentSnapshot[];
  /** The current snapshot (if any), then each replacement of it. */
  observe(documentId: string, branch: string): Observable<DocumentSnapshot>;
  /** Replaces (and freezes) the snapshots of these documents and branches, all at once: observers see one update. */
  upsert(snapshots: readonly DocumentSnapshot[]): void;
}

/** The store's key of a document on a branch: unambiguous for any two strings. */
function snapshotKey(documentId: string, branch: string): string {
  return JSON.stringify([documentId, branch]);
}

/** A {@link SnapshotStore} held in an `@xstate/store`. */
export function createSnapshotStore(): SnapshotStore {
  const store = createStore({
    // Keyed by document ids, which may be any string: no prototype (see src/model/keys.ts).
    context: { documents: emptyRecord<DocumentSnapshot>() },
    on: {
      upsert: (context, event: { snapshots: readonly DocumentSnapshot[] }) => {
        const documents = copyRecord(context.documents);
        for (const snapshot of event.snapshots) {
          documents[snapshotKey(snapshot.id, snapshot.branch)] = Object.freeze(snapshot);
        }
        return { documents };
      },
    },
  });
  const documents = () => store.getSnapshot().context.documents;
  return {
    get: (documentId, branch) => own(documents(), snapshotKey(documentId, branch)),
    list: () => Object.values(documents()),
    observe: (documentId, branch) => {
      const key = snapshotKey(documentId, branch);
      return new Observable<DocumentSnapshot>((subscriber) => {
        let last = own(documents(), key);
        if (last !== undefined) subscriber.next(last);
        const subscription = store.subscribe((snapshot) => {
          const next = own(snapshot.context.documents, key);
          if (next !== undefined && next !== last) {
            last = next;
            subscriber.next(next);
          }
        });
        return () => subscription.unsubscribe();
      });
    },
    upsert: (snapshots) => {
      if (snapshots.length > 0) store.send({ type: 'upsert', snapshots });
    },
  };
}
