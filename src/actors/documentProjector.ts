import type { Observable } from 'rxjs';
import {
  type DocumentIdentity,
  identityOf,
  insertCanonical,
  isAfterDelete,
  UNCREATED,
} from '../model/documentIdentity.js';
import type { AnyDocumentModel } from '../model/documentModel.js';
import { applyOperation, initialStateOf } from '../model/fold.js';
import { hashState } from '../model/hash.js';
import { compareOrder, type OrderKey, parseStreamKey, streamKey } from '../model/order.js';
import { keyframeDue, planRebuild, type RebuildFrom, rebaseFrom, rebuildsForIdentity } from '../model/rebasePlanner.js';
import type { KeyframeRow, OperationRow } from '../model/rows.js';
import type { StoreWrite } from '../model/storeWrite.js';
import {
  DEFAULT_BRANCH,
  type DocumentSnapshot,
  type OperationEnvelope,
  type StoredOperation,
  type StreamRef,
} from '../model/types.js';
import { DocumentChains } from './documentChains.js';
import { createSnapshotStore, type SnapshotStore } from './snapshotStore.js';

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
  /** Where snapshots are published; by default a new in-memory store. */
  readonly snapshots?: SnapshotStore;
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

/** What the projector holds of a document besides its streams. */
interface DocumentRecord {
  readonly id: string;
  /** The document's `document`-scope ops, in canonical order. */
  readonly docOps: OperationEnvelope[];
  identity: DocumentIdentity;
  readonly streams: Set<string>;
  /** Data ops arrived before the CREATE: they are stored but not yet folded. */
  unprojected: boolean;
}

/** What the executor reads before running reducers. */
export interface DocumentReading {
  readonly exists: boolean;
  readonly deleted: boolean;
  readonly model: string | undefined;
  readonly scopes: Readonly<Record<'global' | 'local', { readonly state: unknown; readonly count: number }>>;
}

/**
 * The read model behind the `documentView` actor. It folds each stream incrementally from
 * `operations.written`; an op that sorts before ops already applied triggers a **rebase** from the
 * nearest keyframe. What to re-fold, from which keyframe, is decided by the rebase planner
 * (`src/model/rebasePlanner.ts`); work for one document is serialised (`DocumentChains`), so reads
 * (`read`) see every committed op; snapshots are published to a {@link SnapshotStore}.
 */
export class DocumentProjector {
  readonly #ports: ProjectorPorts;
  readonly #snapshots: SnapshotStore;
  readonly #chains: DocumentChains;
  readonly #docs = new Map<string, DocumentRecord>();
  readonly #streams = new Map<string, StreamProjection>();
  #rebases = 0;

  constructor(ports: ProjectorPorts) {
    this.#ports = ports;
    this.#snapshots = ports.snapshots ?? createSnapshotStore();
    this.#chains = new DocumentChains({
      done: (documentId) => this.#publish([this.#record(documentId)]),
      failed: (documentId, error) => this.#ports.onError?.(documentId, error),
    });
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
          for (const op of await this.#ports.readStream(key)) insertCanonical(record.docOps, op);
        } else {
          record.streams.add(key);
          this.#projection(ref).keyframes = await this.#ports.readKeyframes(key);
        }
      }
      record.identity = identityOf(record.docOps);
      record.unprojected = record.identity.created === null && record.streams.size > 0;
      if (record.identity.created !== null) {
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
      if (this.#chains.busy(documentId)) {
        this.#chains.queue(documentId, () => this.#applyDocument(record, ops, maxOrdinal));
        continue;
      }
      const pending = this.#applyDocument(record, ops, maxOrdinal);
      if (pending === undefined) touched.push(record);
      else this.#chains.queue(documentId, () => pending);
    }
    this.#publish(touched);
  }

  /** Reads a document once every committed op of it has been applied. */
  async read(documentId: string, branch: string): Promise<DocumentReading> {
    const pending = this.#chains.pending(documentId);
    if (pending) await pending;
    const { created, deleted } = this.#docs.get(documentId)?.identity ?? UNCREATED;
    const scope = (name: 'global' | 'local') => {
      const projection = this.#streams.get(streamKey({ documentId, scope: name, branch }));
      const model = created ? this.#ports.models.get(created.model) : undefined;
      return {
        state: projection?.state ?? (model === undefined ? undefined : initialStateOf(model)),
        count: projection?.count ?? 0,
      };
    };
    return {
      exists: created !== null,
      deleted: deleted !== null,
      model: created?.model,
      scopes: { global: scope('global'), local: scope('local') },
    };
  }

  /** The work still running for a document, if any. */
  pending(documentId: string): Promise<void> | undefined {
    return this.#chains.pending(documentId);
  }

  /** Resolves once all pending work for a document is done. */
  async settled(documentId: string): Promise<void> {
    const pending = this.#chains.pending(documentId);
    if (pending) await pending;
  }

  /** Resolves once all pending work is done. */
  settledAll(): Promise<void> {
    return this.#chains.settledAll();
  }

  /** The current snapshot of a document. */
  get(documentId: string, branch: string = DEFAULT_BRANCH): DocumentSnapshot | undefined {
    return this.#snapshots.get(documentId, branch);
  }

  /** Every snapshot. */
  list(): DocumentSnapshot[] {
    return this.#snapshots.list();
  }

  /** A stream of a document's snapshots: the current one (if any), then every change. */
  observe(documentId: string, branch: string = DEFAULT_BRANCH): Observable<DocumentSnapshot> {
    return this.#snapshots.observe(documentId, branch);
  }

  /** Why an op changed nothing at its current position, if it did. */
  errorOf(stream: string, opId: string): string | undefined {
    return this.#streams.get(stream)?.errors.get(opId);
  }

  #record(documentId: string): DocumentRecord {
    let record = this.#docs.get(documentId);
    if (record === undefined) {
      record = { id: documentId, docOps: [], identity: UNCREATED, streams: new Set(), unprojected: false };
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

  #applyDocument(
    record: DocumentRecord,
    ops: readonly StoredOperation[],
    maxOrdinal: number,
  ): Promise<void> | undefined {
    const before = record.identity;
    const data = new Map<string, StoredOperation[]>();
    let docChanged = false;
    let previous: StoredOperation | undefined;
    let list: StoredOperation[] | undefined;
    for (const op of ops) {
      if (op.scope === 'document') {
        insertCanonical(record.docOps, op);
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
    if (docChanged) record.identity = identityOf(record.docOps);
    if (record.identity.created === null) {
      if (data.size > 0) record.unprojected = true;
      return undefined;
    }

    const rebuilds = rebuildsForIdentity(
      before,
      record.identity,
      record.unprojected,
      record.streams,
      (key) => this.#streams.get(key)?.last,
    );
    record.unprojected = false;
    for (const [key, list] of data) {
      if (rebuilds.has(key)) continue;
      list.sort(compareOrder);
      const first = list[0] as StoredOperation;
      const projection = this.#projection(first);
      if (projection.state === undefined && projection.count === 0 && projection.last === null) {
        projection.state = initialStateOf(this.#model(record));
      }
      const from = rebaseFrom(projection.last, first);
      if (from !== undefined) {
        rebuilds.set(key, from);
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
    const name = record.identity.created?.model as string;
    const model = this.#ports.models.get(name);
    if (model === undefined) {
      // A document of a type this reactor does not know: fold with no reducers (every op is marked).
      return { type: name, initialState: () => null, reducers: {} };
    }
    return model;
  }

  /** Applies one op at the end of a stream, writing a keyframe when one is due. */
  #step(record: DocumentRecord, projection: StreamProjection, op: OperationEnvelope): void {
    const afterDelete = isAfterDelete(record.identity, op);
    const unfolded = this.#ports.relay === true && !this.#ports.models.has(record.identity.created?.model as string);
    if (!afterDelete && !unfolded) {
      const result = applyOperation(this.#model(record), projection.state, op);
      projection.state = result.state;
      if (result.error !== undefined) projection.errors.set(op.id, result.error);
    }
    projection.count += 1;
    // Ops are never mutated, so the op itself serves as the order key.
    projection.last = op;
    if (keyframeDue(projection.count, this.#ports.keyframeInterval)) {
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
   * Re-folds a stream as the planner says (from the nearest usable keyframe before `from`, or from
   * the start), over the ops committed up to `maxOrdinal`: later ones belong to events still
   * queued behind this one.
   */
  async #rebuild(
    record: DocumentRecord,
    key: string,
    from: RebuildFrom,
    maxOrdinal: number,
    booting: boolean,
  ): Promise<void> {
    const projection = this.#streams.get(key) ?? this.#projection(parseStreamKey(key));
    const plan = planRebuild(projection.keyframes, from, booting);
    projection.keyframes = plan.keyframes;
    if (plan.dropAfter !== undefined) {
      this.#ports.persist({ dropKeyframesAfter: [{ stream: key, after: plan.dropAfter }] });
    }
    const rows = await this.#ports.readStream(key, plan.replayAfter);
    projection.state = plan.base === undefined ? initialStateOf(this.#model(record)) : plan.base.state;
    projection.count = plan.base === undefined ? 0 : plan.base.count;
    projection.last = plan.replayAfter ?? null;
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
      const created = record.identity.created;
      if (created === null) continue;
      const branches = new Set<string>([DEFAULT_BRANCH]);
      for (const key of record.streams) branches.add((this.#streams.get(key)?.ref.branch ?? DEFAULT_BRANCH) as string);
      const model = this.#model(record);
      for (const branch of branches) {
        const global = this.#streams.get(streamKey({ documentId: record.id, scope: 'global', branch }));
        const local = this.#streams.get(streamKey({ documentId: record.id, scope: 'local', branch }));
        const state = global?.state ?? initialStateOf(model);
        snapshots.push({
          id: record.id,
          type: created.model,
          branch,
          state,
          localState: local?.state ?? initialStateOf(model),
          revision: global?.count ?? 0,
          hash: hashState(state),
          deleted: record.identity.deleted !== null,
        });
      }
    }
    this.#snapshots.upsert(snapshots);
  }
}
