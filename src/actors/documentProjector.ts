import { createStore } from '@xstate/store';
import { Observable } from 'rxjs';
import { sealState } from '../model/data.js';
import type { AnyDocumentModel } from '../model/documentModel.js';
import { applyOperation, initialStateOf } from '../model/fold.js';
import { hashState } from '../model/hash.js';
import { copyRecord, emptyRecord, own } from '../model/keys.js';
import { compareOrder, type OrderKey, parseStreamKey, streamKey } from '../model/order.js';
import type { KeyframeRow, OperationRow } from '../model/rows.js';
import type { StoreWrite } from '../model/storeWrite.js';
import {
  CREATE_DOCUMENT,
  type CreateDocumentInput,
  DEFAULT_BRANCH,
  DELETE_DOCUMENT,
  type DocumentSnapshot,
  type OperationEnvelope,
  type StoredOperation,
  type StreamRef,
} from '../model/types.js';

/** What the projector needs from the outside world. */
export interface ProjectorPorts {
  readonly models: ReadonlyMap<string, AnyDocumentModel>;
  /** A keyframe every this many ops of a stream. */
  readonly keyframeInterval: number;
  readonly readStream: (stream: string, after?: OrderKey) => Promise<OperationRow[]>;
  readonly readKeyframes: (stream: string) => Promise<KeyframeRow[]>;
  /** Sends a keyframe write to the operations store (fire and forget). */
  readonly persist: (write: Omit<StoreWrite, 'writeId'>) => void;
  readonly onRebased?: (stream: string, replayed: number) => void;
  /** A rebuild failed (its reads failed); the document keeps its last good snapshot. */
  readonly onError?: (documentId: string, error: unknown) => void;
  /** A relay keeps documents of unknown models unfolded (state `null`, no op marked). */
  readonly relay?: boolean;
}

/** A stream's materialised fold. */
interface StreamProjection {
  readonly key: string;
  readonly ref: StreamRef;
  state: unknown;
  count: number;
  last: OrderKey | null;
  readonly errors: Map<string, string>;
  /** In-memory mirror of the stream's keyframes, in canonical order. */
  keyframes: KeyframeRow[];
}

/** A document's identity as its `document`-scope ops define it. */
interface DocumentRecord {
  readonly id: string;
  readonly docOps: OperationEnvelope[];
  created: { readonly key: OrderKey; readonly model: string } | null;
  deleted: OrderKey | null;
  readonly streams: Set<string>;
  /** Data ops arrived before the CREATE: they are stored but not yet folded. */
  unprojected: boolean;
  chain: Promise<void> | null;
}

/** What the executor reads before running reducers. */
export interface DocumentReading {
  readonly exists: boolean;
  readonly deleted: boolean;
  readonly model: string | undefined;
  readonly scopes: Readonly<Record<'global' | 'local', { readonly state: unknown; readonly count: number }>>;
}

const LOWEST: OrderKey = { timestamp: '', id: '' };

function keyOf(op: OrderKey): OrderKey {
  return { timestamp: op.timestamp, id: op.id };
}

function minKey(a: OrderKey | null, b: OrderKey | null): OrderKey | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareOrder(a, b) <= 0 ? a : b;
}

function sameKey(a: OrderKey | null, b: OrderKey | null): boolean {
  return a === b || (a !== null && b !== null && compareOrder(a, b) === 0);
}

/** The read model's key of a document on a branch: unambiguous for any two strings. */
function snapshotKey(documentId: string, branch: string): string {
  return JSON.stringify([documentId, branch]);
}

function insertSorted(list: OperationEnvelope[], op: OperationEnvelope): void {
  let i = list.length;
  while (i > 0 && compareOrder(list[i - 1] as OperationEnvelope, op) > 0) i -= 1;
  list.splice(i, 0, op);
}

/**
 * The read model behind the `documentView` actor. It folds each stream incrementally from
 * `operations.written`; an op that sorts before ops already applied triggers a **rebase** from the
 * nearest keyframe. Work for one document is serialised, so reads (`read`) see every committed op.
 * Snapshots live in an `@xstate/store`.
 */
export class DocumentProjector {
  readonly store = createStore({
    // Keyed by document ids, which may be any string: no prototype (see src/model/keys.ts).
    context: { documents: emptyRecord<DocumentSnapshot>() },
    on: {
      upsert: (context, event: { snapshots: readonly DocumentSnapshot[] }) => {
        const documents = copyRecord(context.documents);
        for (const snapshot of event.snapshots) documents[snapshotKey(snapshot.id, snapshot.branch)] = snapshot;
        return { documents };
      },
    },
  });

  readonly #ports: ProjectorPorts;
  readonly #docs = new Map<string, DocumentRecord>();
  readonly #streams = new Map<string, StreamProjection>();
  #rebases = 0;

  constructor(ports: ProjectorPorts) {
    this.#ports = ports;
  }

  /** Number of rebases so far. */
  get rebases(): number {
    return this.#rebases;
  }

  /** Builds every known stream from keyframes and the log, at start-up. */
  async materialise(streams: readonly StreamRef[]): Promise<void> {
    const byDocument = new Map<string, StreamRef[]>();
    for (const ref of streams) {
      const list = byDocument.get(ref.documentId) ?? [];
      list.push(ref);
      byDocument.set(ref.documentId, list);
    }
    for (const [documentId, refs] of byDocument) {
      const record = this.#record(documentId);
      for (const ref of refs) {
        const key = streamKey(ref);
        if (ref.scope === 'document') {
          for (const op of await this.#ports.readStream(key)) insertSorted(record.docOps, op);
        } else {
          record.streams.add(key);
          this.#projection(ref).keyframes = await this.#ports.readKeyframes(key);
        }
      }
      this.#resolveIdentity(record);
      record.unprojected = record.created === null && record.streams.size > 0;
      if (record.created !== null) {
        for (const key of record.streams) await this.#rebuild(record, key, null, Number.POSITIVE_INFINITY, true);
        this.#publish([record]);
      }
    }
  }

  /** Applies the ops of one group commit. Appends are applied synchronously. */
  apply(operations: readonly StoredOperation[]): void {
    if (operations.length === 0) return;
    const byDocument = new Map<string, StoredOperation[]>();
    let maxOrdinal = 0;
    for (const op of operations) {
      const list = byDocument.get(op.documentId);
      if (list === undefined) byDocument.set(op.documentId, [op]);
      else list.push(op);
      if (op.ordinal > maxOrdinal) maxOrdinal = op.ordinal;
    }
    const touched: DocumentRecord[] = [];
    for (const [documentId, ops] of byDocument) {
      const record = this.#record(documentId);
      if (record.chain !== null) {
        this.#chain(record, () => this.#applyDocument(record, ops, maxOrdinal));
        continue;
      }
      const pending = this.#applyDocument(record, ops, maxOrdinal);
      if (pending === undefined) touched.push(record);
      else this.#chain(record, () => pending);
    }
    this.#publish(touched);
  }

  /** Reads a document once every committed op of it has been applied. */
  async read(documentId: string, branch: string): Promise<DocumentReading> {
    const record = this.#docs.get(documentId);
    if (record?.chain) await record.chain;
    const scope = (name: 'global' | 'local') => {
      const projection = this.#streams.get(streamKey({ documentId, scope: name, branch }));
      const model = record?.created ? this.#ports.models.get(record.created.model) : undefined;
      return {
        state: projection?.state ?? (model === undefined ? undefined : initialStateOf(model)),
        count: projection?.count ?? 0,
      };
    };
    return {
      exists: record?.created != null,
      deleted: record?.deleted != null,
      model: record?.created?.model,
      scopes: { global: scope('global'), local: scope('local') },
    };
  }

  /** The work still running for a document, if any. */
  pending(documentId: string): Promise<void> | undefined {
    return this.#docs.get(documentId)?.chain ?? undefined;
  }

  /** Resolves once all pending work for a document is done. */
  async settled(documentId: string): Promise<void> {
    const chain = this.#docs.get(documentId)?.chain;
    if (chain) await chain;
  }

  /** Resolves once all pending work is done. */
  async settledAll(): Promise<void> {
    for (;;) {
      const chains = [...this.#docs.values()].map((record) => record.chain).filter((c) => c !== null);
      if (chains.length === 0) return;
      await Promise.all(chains);
    }
  }

  /** The current snapshot of a document. */
  get(documentId: string, branch: string = DEFAULT_BRANCH): DocumentSnapshot | undefined {
    return own(this.store.getSnapshot().context.documents, snapshotKey(documentId, branch));
  }

  /** Every snapshot. */
  list(): DocumentSnapshot[] {
    return Object.values(this.store.getSnapshot().context.documents);
  }

  /** A stream of a document's snapshots: the current one (if any), then every change. */
  observe(documentId: string, branch: string = DEFAULT_BRANCH): Observable<DocumentSnapshot> {
    const key = snapshotKey(documentId, branch);
    return new Observable<DocumentSnapshot>((subscriber) => {
      let last = own(this.store.getSnapshot().context.documents, key);
      if (last !== undefined) subscriber.next(last);
      const subscription = this.store.subscribe((snapshot) => {
        const next = own(snapshot.context.documents, key);
        if (next !== undefined && next !== last) {
          last = next;
          subscriber.next(next);
        }
      });
      return () => subscription.unsubscribe();
    });
  }

  /** Why an op changed nothing at its current position, if it did. */
  errorOf(stream: string, opId: string): string | undefined {
    return this.#streams.get(stream)?.errors.get(opId);
  }

  #record(documentId: string): DocumentRecord {
    let record = this.#docs.get(documentId);
    if (record === undefined) {
      record = {
        id: documentId,
        docOps: [],
        created: null,
        deleted: null,
        streams: new Set(),
        unprojected: false,
        chain: null,
      };
      this.#docs.set(documentId, record);
    }
    return record;
  }

  #projection(ref: StreamRef): StreamProjection {
    const key = streamKey(ref);
    let projection = this.#streams.get(key);
    if (projection === undefined) {
      projection = { key, ref, state: undefined, count: 0, last: null, errors: new Map(), keyframes: [] };
      this.#streams.set(key, projection);
    }
    return projection;
  }

  #chain(record: DocumentRecord, work: () => Promise<void> | undefined): void {
    const previous = record.chain ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(() => work())
      .then(() => this.#publish([record]))
      .catch((error: unknown) => this.#ports.onError?.(record.id, error))
      .finally(() => {
        if (record.chain === next) record.chain = null;
      });
    record.chain = next;
  }

  /** First CREATE (and first DELETE after it) in canonical order decide a document's identity. */
  #resolveIdentity(record: DocumentRecord): void {
    record.created = null;
    record.deleted = null;
    for (const op of record.docOps) {
      if (op.type === CREATE_DOCUMENT && record.created === null) {
        const model = (op.input as CreateDocumentInput | undefined)?.model;
        if (typeof model === 'string') record.created = { key: keyOf(op), model };
      } else if (op.type === DELETE_DOCUMENT && record.created !== null && record.deleted === null) {
        record.deleted = keyOf(op);
      }
    }
  }

  #applyDocument(
    record: DocumentRecord,
    ops: readonly StoredOperation[],
    maxOrdinal: number,
  ): Promise<void> | undefined {
    const before = { created: record.created, deleted: record.deleted };
    const data = new Map<string, StoredOperation[]>();
    let docChanged = false;
    let previous: StoredOperation | undefined;
    let list: StoredOperation[] | undefined;
    for (const op of ops) {
      if (op.scope === 'document') {
        insertSorted(record.docOps, op);
        docChanged = true;
        continue;
      }
      // Consecutive ops mostly share a stream: encode its key once per run.
      if (list === undefined || op.scope !== previous?.scope || op.branch !== previous.branch) {
        const key = streamKey(op);
        record.streams.add(key);
        list = data.get(key);
        if (list === undefined) {
          list = [];
          data.set(key, list);
        }
      }
      list.push(op);
      previous = op;
    }
    if (docChanged) this.#resolveIdentity(record);
    if (record.created === null) {
      if (data.size > 0) record.unprojected = true;
      return undefined;
    }

    const rebuilds = new Map<string, OrderKey | null>();
    const identityChanged =
      before.created === null
        ? record.unprojected
        : before.created.model !== record.created.model || !sameKey(before.created.key, record.created.key);
    if (identityChanged) {
      record.unprojected = false;
      for (const key of record.streams) rebuilds.set(key, null);
    } else if (!sameKey(before.deleted, record.deleted)) {
      const from = minKey(before.deleted, record.deleted) as OrderKey;
      for (const key of record.streams) {
        const last = this.#streams.get(key)?.last;
        if (last != null && compareOrder(last, from) > 0) rebuilds.set(key, from);
      }
    }
    for (const [key, list] of data) {
      if (rebuilds.has(key)) continue;
      list.sort(compareOrder);
      const projection = this.#projection(list[0] as StoredOperation);
      const first = list[0] as StoredOperation;
      if (projection.state === undefined && projection.count === 0 && projection.last === null) {
        projection.state = initialStateOf(this.#model(record));
      }
      if (projection.last !== null && compareOrder(first, projection.last) < 0) {
        rebuilds.set(key, keyOf(first));
        continue;
      }
      for (const op of list) this.#step(record, projection, op);
    }
    if (rebuilds.size === 0) return undefined;
    return (async () => {
      for (const [key, from] of rebuilds) await this.#rebuild(record, key, from, maxOrdinal, false);
    })();
  }

  #model(record: DocumentRecord): AnyDocumentModel {
    const name = record.created?.model as string;
    const model = this.#ports.models.get(name);
    if (model === undefined) {
      // A document of a type this reactor does not know: fold with no reducers (every op is marked).
      return { type: name, initialState: () => null, reducers: {} };
    }
    return model;
  }

  /** Applies one op at the end of a stream, writing a keyframe every `keyframeInterval` ops. */
  #step(record: DocumentRecord, projection: StreamProjection, op: OperationEnvelope): void {
    const afterDelete = record.deleted !== null && compareOrder(op, record.deleted) > 0;
    const unfolded = this.#ports.relay === true && !this.#ports.models.has(record.created?.model as string);
    if (!afterDelete && !unfolded) {
      const result = applyOperation(this.#model(record), projection.state, op);
      projection.state = result.state;
      if (result.error !== undefined) projection.errors.set(op.id, result.error);
    }
    projection.count += 1;
    // Ops are never mutated, so the op itself serves as the order key.
    projection.last = op;
    if (projection.count % this.#ports.keyframeInterval === 0) {
      const keyframe: KeyframeRow = {
        stream: projection.key,
        timestamp: op.timestamp,
        id: op.id,
        count: projection.count,
        state: projection.state,
      };
      projection.keyframes.push(keyframe);
      this.#ports.persist({ keyframes: [keyframe] });
    }
  }

  /**
   * Re-folds a stream from the nearest keyframe before `from` (or from the start), over the ops
   * committed up to `maxOrdinal`: later ones belong to events still queued behind this one.
   */
  async #rebuild(
    record: DocumentRecord,
    key: string,
    from: OrderKey | null,
    maxOrdinal: number,
    booting: boolean,
  ): Promise<void> {
    const projection = this.#streams.get(key) ?? this.#projection(parseStreamKey(key));
    const kept = booting
      ? projection.keyframes
      : from === null
        ? []
        : projection.keyframes.filter((keyframe) => compareOrder(keyframe, from) < 0);
    // A stored keyframe is used only if it still holds a state (it is frozen like every state).
    while (kept.length > 0 && sealState((kept[kept.length - 1] as KeyframeRow).state) !== undefined) kept.pop();
    const base = kept[kept.length - 1];
    if (!booting) {
      projection.keyframes = kept;
      this.#ports.persist({ dropKeyframesAfter: [{ stream: key, after: base === undefined ? LOWEST : keyOf(base) }] });
    }
    const rows = await this.#ports.readStream(key, base === undefined ? undefined : keyOf(base));
    projection.state = base === undefined ? initialStateOf(this.#model(record)) : base.state;
    projection.count = base === undefined ? 0 : base.count;
    projection.last = base === undefined ? null : keyOf(base);
    let replayed = 0;
    for (const row of rows) {
      if (row.ordinal > maxOrdinal) continue;
      projection.errors.delete(row.id);
      this.#step(record, projection, row);
      replayed += 1;
    }
    if (!booting) {
      this.#rebases += 1;
      this.#ports.onRebased?.(key, replayed);
    }
  }

  #publish(records: readonly DocumentRecord[]): void {
    const snapshots: DocumentSnapshot[] = [];
    for (const record of records) {
      if (record.created === null) continue;
      const branches = new Set<string>([DEFAULT_BRANCH]);
      for (const key of record.streams) branches.add((this.#streams.get(key)?.ref.branch ?? DEFAULT_BRANCH) as string);
      const model = this.#model(record);
      for (const branch of branches) {
        const global = this.#streams.get(streamKey({ documentId: record.id, scope: 'global', branch }));
        const local = this.#streams.get(streamKey({ documentId: record.id, scope: 'local', branch }));
        const state = global?.state ?? initialStateOf(model);
        snapshots.push({
          id: record.id,
          type: record.created.model,
          branch,
          state,
          localState: local?.state ?? initialStateOf(model),
          revision: global?.count ?? 0,
          hash: hashState(state),
          deleted: record.deleted !== null,
        });
      }
    }
    if (snapshots.length > 0) this.store.send({ type: 'upsert', snapshots });
  }
}
