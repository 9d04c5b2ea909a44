import { useCallback, useSyncExternalStore } from 'react';
import type { DocumentSnapshot } from '../model/types.js';
import type { DocumentsApi } from '../reactor/types.js';

/** Options of {@link useDocument}. */
export interface UseDocumentOptions {
  /** The branch to read; default `main`. */
  readonly branch?: string;
}

/**
 * A document's current snapshot, re-rendering the component whenever it changes; `undefined`
 * until the document exists here (created locally or arrived by sync).
 *
 * The snapshot is the read model's own object, so it stays the same object while the document is
 * unchanged (safe in effect dependencies and `memo` props). `TState` is not checked at runtime:
 * it is the state type of the document's model.
 */
export function useDocument<TState = unknown>(
  reactor: { readonly documents: DocumentsApi },
  documentId: string,
  options: UseDocumentOptions = {},
): DocumentSnapshot<TState> | undefined {
  const { documents } = reactor;
  const { branch } = options;
  const subscribe = useCallback(
    (onChange: () => void) => {
      const subscription = documents
        .observe(documentId, branch === undefined ? {} : { branch })
        .subscribe({ next: onChange, error: onChange });
      return () => subscription.unsubscribe();
    },
    [documents, documentId, branch],
  );
  const getSnapshot = useCallback(
    () => documents.get(documentId, branch === undefined ? {} : { branch }),
    [documents, documentId, branch],
  );
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot) as DocumentSnapshot<TState> | undefined;
}
