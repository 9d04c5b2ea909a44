import type { SnapshotStore } from '../actors/snapshotStore.js';
import type { AnyDocumentModel } from '../model/documentModel.js';
import { checkIncoming } from '../model/envelope.js';
import { ReactorError } from '../model/errors.js';
import {
  DEFAULT_BRANCH,
  type Job,
  type LoadJob,
  type Operation,
  type OperationEnvelope,
  SCOPES,
  type Scope,
} from '../model/types.js';
import { assertId, describe } from '../model/validate.js';
import { checkActions, checkBranch } from './inputChecks.js';
import type { JobSuccess } from './jobSubmitter.js';
import type { Reactor } from './types.js';

/** What the documents part of the public API reaches. */
export interface DocumentsApiParts {
  readonly models: ReadonlyMap<string, AnyDocumentModel>;
  readonly newId: (length?: number) => string;
  /** Hands a job to the queue (or to the leader tab's queue); resolves once it is visible here. */
  readonly submit: (make: (id: string, seq: number) => Job) => Promise<JobSuccess>;
  /** The snapshots reads are served from. */
  readonly snapshots: Pick<SnapshotStore, 'get' | 'observe' | 'list'>;
  /** A stream's ops in canonical order, with their marks, once every committed op is folded. */
  readonly readLog: (documentId: string, scope: Scope, branch: string) => Promise<Operation[]>;
  readonly ensureRunning: (what: string) => void;
}

/**
 * The documents part of the public API: writes become jobs for the queue, reads come from the
 * snapshots and the log. The same for a leader tab (its own queue) and a follower (the leader's).
 */
export function createDocumentsApi(
  parts: DocumentsApiParts,
): Pick<Reactor, 'createDocument' | 'deleteDocument' | 'mutate' | 'load' | 'documents' | 'operations'> {
  const { models, ensureRunning, snapshots: view } = parts;
  const submitter = { submit: parts.submit };
  return {
    async createDocument(model, options = {}) {
      ensureRunning('createDocument');
      if (!models.has(model)) {
        throw new ReactorError(
          'unknown-model',
          `createDocument: no model "${String(model)}"; this reactor knows: ${[...models.keys()].join(', ') || '(none)'}`,
        );
      }
      const documentId = options.id ?? parts.newId(16);
      assertId(documentId, 'createDocument: "id"');
      const outcome = await submitter.submit((id, seq) => ({
        kind: 'mutate' as const,
        id,
        seq,
        documentId,
        branch: DEFAULT_BRANCH,
        actions: [],
        create: model,
      }));
      return { documentId, operations: [...outcome.operations] };
    },

    async deleteDocument(documentId) {
      ensureRunning('deleteDocument');
      assertId(documentId, 'deleteDocument: documentId');
      const outcome = await submitter.submit((id, seq) => ({
        kind: 'mutate' as const,
        id,
        seq,
        documentId,
        branch: DEFAULT_BRANCH,
        actions: [],
        delete: true as const,
      }));
      return { operations: [...outcome.operations] };
    },

    async mutate(documentId, actions, options = {}) {
      ensureRunning('mutate');
      assertId(documentId, 'mutate: documentId');
      const branch = checkBranch(options.branch, 'mutate');
      const checked = checkActions(documentId, actions, view.get(documentId, DEFAULT_BRANCH), models);
      const outcome = await submitter.submit((id, seq) => ({
        kind: 'mutate' as const,
        id,
        seq,
        documentId,
        branch,
        actions: checked,
      }));
      return { operations: [...outcome.operations] };
    },

    async load(operations, options = {}) {
      ensureRunning('load');
      if (!Array.isArray(operations)) {
        throw new ReactorError('protocol', `load: expected an array of operations, got ${describe(operations)}`);
      }
      // The app hands these over itself, so `local` ops are welcome; ids must still match contents.
      const parsed = operations.map((op, i) => checkIncoming(op, `load: operation ${i}`, { acceptLocal: true }));
      const byDocument = new Map<string, OperationEnvelope[]>();
      for (const op of parsed) {
        const list = byDocument.get(op.documentId) ?? [];
        list.push(op);
        byDocument.set(op.documentId, list);
      }
      const results = await Promise.all(
        [...byDocument].map(([documentId, ops]) =>
          submitter.submit(
            (id, seq): LoadJob => ({
              kind: 'load',
              id,
              seq,
              documentId,
              operations: ops,
              ...(options.source === undefined ? {} : { source: options.source }),
            }),
          ),
        ),
      );
      return {
        stored: results.reduce((sum, outcome) => sum + outcome.stored, 0),
        duplicates: results.reduce((sum, outcome) => sum + outcome.duplicates, 0),
      };
    },

    documents: {
      get: (documentId, options = {}) => view.get(documentId, options.branch ?? DEFAULT_BRANCH),
      observe: (documentId, options = {}) => view.observe(documentId, options.branch ?? DEFAULT_BRANCH),
      list: (options = {}) =>
        view
          .list()
          .filter((snapshot) => snapshot.branch === (options.branch ?? DEFAULT_BRANCH))
          .filter((snapshot) => options.includeDeleted === true || !snapshot.deleted),
    },

    async operations(documentId, options = {}) {
      assertId(documentId, 'operations: documentId');
      const scope = options.scope ?? 'global';
      if (!SCOPES.includes(scope)) {
        throw new ReactorError(
          'validation',
          `operations: "scope" must be one of ${SCOPES.join(', ')}, got ${describe(scope)}`,
        );
      }
      const branch = checkBranch(options.branch, 'operations');
      return parts.readLog(documentId, scope, branch);
    },
  };
}
