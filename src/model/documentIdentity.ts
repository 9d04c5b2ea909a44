import { compareOrder, type OrderKey } from './order.js';
import { CREATE_DOCUMENT, type CreateDocumentInput, DELETE_DOCUMENT, type OperationEnvelope } from './types.js';

/**
 * A document's identity, as its `document`-scope ops define it: the first CREATE in canonical
 * order that names a model gives the document its type, and the first DELETE after that CREATE
 * deletes it. Ops that sort after the DELETE stay in the log and change nothing.
 */
export interface DocumentIdentity {
  readonly created: { readonly key: OrderKey; readonly model: string } | null;
  readonly deleted: OrderKey | null;
}

/** The identity of a document with no (usable) CREATE yet. */
export const UNCREATED: DocumentIdentity = Object.freeze({ created: null, deleted: null });

function keyOf(op: OrderKey): OrderKey {
  return { timestamp: op.timestamp, id: op.id };
}

/** The identity that `document`-scope ops (in canonical order) define. */
export function identityOf(documentOps: readonly OperationEnvelope[]): DocumentIdentity {
  let created: DocumentIdentity['created'] = null;
  let deleted: OrderKey | null = null;
  for (const op of documentOps) {
    if (op.type === CREATE_DOCUMENT && created === null) {
      const model = (op.input as CreateDocumentInput | undefined)?.model;
      if (typeof model === 'string') created = { key: keyOf(op), model };
    } else if (op.type === DELETE_DOCUMENT && created !== null && deleted === null) {
      deleted = keyOf(op);
    }
  }
  return created === null && deleted === null ? UNCREATED : { created, deleted };
}

/** Whether `op` sorts after the document's DELETE, so that it changes nothing. */
export function isAfterDelete(identity: DocumentIdentity, op: OrderKey): boolean {
  return identity.deleted !== null && compareOrder(op, identity.deleted) > 0;
}

/** Inserts `op` into `list`, which is in canonical order, keeping it so (a late op goes in its place). */
export function insertCanonical<T extends OrderKey>(list: T[], op: T): void {
  let i = list.length;
  while (i > 0 && compareOrder(list[i - 1] as T, op) > 0) i -= 1;
  list.splice(i, 0, op);
}
