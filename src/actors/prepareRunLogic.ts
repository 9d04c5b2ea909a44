import { fromPromise } from 'xstate';
import type { PreparedRun } from '../machines/jobRun.js';
import type { AnyDocumentModel } from '../model/documentModel.js';
import { classifyError, ReactorError, type ReactorErrorData } from '../model/errors.js';
import { applyOperation, initialStateOf, reducerOf } from '../model/fold.js';
import { decodeHlc, type HybridLogicalClock } from '../model/hlc.js';
import { refOf } from '../model/jobs.js';
import { operationId } from '../model/operationId.js';
import type { DeadLetterRow, WriteRow } from '../model/rows.js';
import type { SyncCursor } from '../model/sync.js';
import {
  CREATE_DOCUMENT,
  DEFAULT_BRANCH,
  DELETE_DOCUMENT,
  type Job,
  type JobOutcome,
  type LoadJob,
  type MutateJob,
  type Operation,
  type OperationEnvelope,
  type Scope,
} from '../model/types.js';
import type { DocumentReading } from './documentProjector.js';

/**
 * How long a forwarded write's record is kept (ms): a tab retries a write only while it waits for
 * it, across a leader change, which takes seconds.
 */
const WRITE_RECORD_MS = 60 * 60 * 1000;

/** What preparing a batch needs. */
export interface PrepareRunPorts {
  readonly reactorId: string;
  readonly models: ReadonlyMap<string, AnyDocumentModel>;
  readonly hlc: HybridLogicalClock;
  /** How far ahead of `now()` a received op's timestamp may be (ms); later ones are refused. */
  readonly maxClockDrift: number;
  readonly read: (documentId: string, branch: string) => Promise<DocumentReading>;
  /** Physical time: dead-letter timestamps and the clock-drift bound. */
  readonly now: () => number;
  /** Keep documents of unknown models instead of refusing them (a relay). */
  readonly relay?: boolean;
}

/** A document's state as a batch sees it, job after job. */
interface Working {
  exists: boolean;
  deleted: boolean;
  model: string | undefined;
  readonly scopes: Record<'global' | 'local', { state: unknown; count: number }>;
}

function fromReading(reading: DocumentReading): Working {
  return {
    exists: reading.exists,
    deleted: reading.deleted,
    model: reading.model,
    scopes: { global: { ...reading.scopes.global }, local: { ...reading.scopes.local } },
  };
}

/** A new op of a mutate job, stamped with an HLC timestamp; its id derives from its content. */
function makeOp(
  ports: PrepareRunPorts,
  job: MutateJob,
  scope: Scope,
  type: string,
  input: unknown,
  index: number,
): Operation {
  const content = {
    documentId: job.documentId,
    scope,
    branch: job.branch,
    type,
    input,
    timestamp: ports.hlc.next(),
    origin: ports.reactorId,
  };
  // The canonical writer, not JSON.stringify: a job restored from an older database may hold an
  // input that is not in normal form.
  return { id: operationId(content), ...content, index };
}

/**
 * Runs a mutate job against the working state: builds its ops or explains why it cannot run.
 * On failure the working state is left as it was, so later jobs in the batch are unaffected.
 */
function runMutate(job: MutateJob, working: Working, ports: PrepareRunPorts): Operation[] {
  const doc = JSON.stringify(job.documentId);
  const made: Operation[] = [];
  if (job.create !== undefined) {
    if (working.exists) {
      throw new ReactorError(
        'conflict',
        `document ${doc} already exists${working.deleted ? ' (deleted)' : ''}; choose another id`,
      );
    }
    const model = ports.models.get(job.create);
    if (model === undefined) {
      throw new ReactorError('unknown-model', `createDocument: this reactor has no model "${job.create}"`);
    }
    made.push(makeOp(ports, job, 'document', CREATE_DOCUMENT, { model: job.create }, 0));
    working.exists = true;
    working.model = job.create;
    working.scopes.global = { state: initialStateOf(model), count: 0 };
    working.scopes.local = { state: initialStateOf(model), count: 0 };
    return made;
  }
  if (!working.exists) {
    throw new ReactorError('not-found', `document ${doc} does not exist; create it with createDocument first`);
  }
  if (working.deleted) {
    throw new ReactorError('conflict', `document ${doc} was deleted; a deleted document accepts no more mutations`);
  }
  if (job.delete === true) {
    made.push(makeOp(ports, job, 'document', DELETE_DOCUMENT, {}, 1));
    working.deleted = true;
    return made;
  }
  const model = ports.models.get(working.model as string);
  if (model === undefined) {
    throw new ReactorError(
      'unknown-model',
      `document ${doc} has type "${working.model}", which this reactor has no model for`,
    );
  }
  const next = { global: { ...working.scopes.global }, local: { ...working.scopes.local } };
  for (const action of job.actions) {
    const scope = action.scope ?? 'global';
    if (reducerOf(model, action.type) === undefined) {
      throw new ReactorError(
        'validation',
        `model "${model.type}" has no action "${action.type}"; expected one of: ${Object.keys(model.reducers).join(', ')}`,
      );
    }
    // The same function the view folds with: both start from the same (frozen) state.
    const applied = applyOperation(model, next[scope].state, { type: action.type, input: action.input });
    if (applied.error !== undefined) {
      throw new ReactorError(
        'validation',
        `reducer "${action.type}" of model "${model.type}" rejected the input for document ${doc}: ${applied.error}; nothing was written`,
      );
    }
    next[scope].state = applied.state;
    made.push(makeOp(ports, job, scope, action.type, action.input, next[scope].count));
    next[scope].count += 1;
  }
  working.scopes.global = next.global;
  working.scopes.local = next.local;
  return made;
}

function outcomeOf(jobId: string, error: unknown): JobOutcome {
  return { jobId, ok: false, error: classifyError(error).toData() };
}

/** What a load job keeps and refuses. */
interface LoadVerdict {
  readonly accepted: OperationEnvelope[];
  readonly rejected: { readonly op: OperationEnvelope; readonly reason: ReactorErrorData }[];
}

/**
 * Checks a load job's ops against the models this reactor knows and its clock. A CREATE naming a
 * model this reactor lacks can never be folded here: it is refused and becomes a dead letter. Ops
 * of a document without a stored CREATE are kept (their CREATE may come later, or be retried once
 * the model is known); only a *stored* CREATE decides a document's type, never a refused one, so
 * a peer cannot block a document by sending a bogus CREATE first. An op whose action the model
 * lacks, or whose reducer throws at its position, is kept and marked with `error`, on every
 * reactor alike, so logs and states stay equal everywhere.
 */
async function judgeLoad(
  job: LoadJob,
  ports: PrepareRunPorts,
  types: Map<string, string | null>,
): Promise<LoadVerdict> {
  const verdict: LoadVerdict = { accepted: [], rejected: [] };
  const reject = (op: OperationEnvelope, kind: ReactorErrorData['kind'], message: string, retryable = false) =>
    verdict.rejected.push({ op, reason: { kind, message, retryable } });
  const latestAllowed = ports.now() + ports.maxClockDrift;
  for (const op of job.operations) {
    const wall = decodeHlc(op.timestamp).wall;
    if (wall > latestAllowed) {
      // Not applied and the clock does not move: one far-future op must not drag every later
      // local write with it. It may be taken again (sync.retry) once the time has come.
      reject(
        op,
        'clock-drift',
        `operation ${JSON.stringify(op.id)} is stamped ${new Date(Math.min(wall, 8.64e15)).toISOString()}, ${Math.round((wall - ports.now()) / 1000)} s ahead of this reactor's clock (maxClockDrift is ${ports.maxClockDrift} ms)`,
        true,
      );
      continue;
    }
    if (!types.has(op.documentId)) {
      types.set(op.documentId, (await ports.read(op.documentId, DEFAULT_BRANCH)).model ?? null);
    }
    const doc = JSON.stringify(op.documentId);
    if (op.scope === 'document') {
      if (op.type === CREATE_DOCUMENT) {
        const input = op.input;
        const model =
          typeof input === 'object' && input !== null && Object.hasOwn(input, 'model')
            ? (input as { model: unknown }).model
            : undefined;
        if (typeof model !== 'string' || model.length === 0) {
          reject(op, 'protocol', `the CREATE_DOCUMENT of document ${doc} must have the input { model: string }`);
          continue;
        }
        if (!ports.models.has(model) && ports.relay !== true) {
          reject(
            op,
            'unknown-model',
            `document ${doc} has type ${JSON.stringify(model)}, which this reactor has no model for`,
          );
          continue;
        }
        if (types.get(op.documentId) === null) types.set(op.documentId, model);
      } else if (op.type !== DELETE_DOCUMENT) {
        reject(
          op,
          'validation',
          `"${op.type}" is not an operation of the document scope (expected CREATE_DOCUMENT or DELETE_DOCUMENT)`,
        );
        continue;
      }
      verdict.accepted.push(op);
      continue;
    }
    const type = types.get(op.documentId);
    const model = type === null || type === undefined ? undefined : ports.models.get(type);
    if (type !== null && type !== undefined && model === undefined && ports.relay !== true) {
      reject(op, 'unknown-model', `document ${doc} has type "${type}", which this reactor has no model for`);
      continue;
    }
    verdict.accepted.push(op);
  }
  return verdict;
}

/**
 * Prepares a batch of one document's jobs: runs reducers for mutate jobs (each on top of the ones
 * before it), stamps ops with the HLC, and builds the single store write that commits the ops with
 * every job's completion.
 */
export function createPrepareRunLogic(ports: PrepareRunPorts) {
  return fromPromise<PreparedRun, { runId: string; jobs: readonly Job[] }>(async ({ input }) => {
    const outcomes: JobOutcome[] = [];
    const operations: OperationEnvelope[] = [];
    const first = input.jobs[0];
    const load = first?.kind === 'load';
    const working = new Map<string, Working>();
    const types = new Map<string, string | null>();
    const deadLetters: DeadLetterRow[] = [];
    const cursors: SyncCursor[] = [];
    const retried: string[] = [];
    // Jobs another tab forwarded: what each made is recorded, so a retry of it finds it.
    const recorded: WriteRow[] = [];
    let source: string | undefined;
    for (const job of input.jobs) {
      // Reads (the view, sync rows) are outside the per-job catch: a storage failure there fails the
      // whole preparation, which the run retries when the failure is transient.
      if (job.kind === 'load') {
        const verdict = await judgeLoad(job, ports, types);
        // Only accepted ops move the clock. Timestamps order as strings, so moving past the latest
        // moves past them all.
        let latest: string | undefined;
        for (const op of verdict.accepted) if (latest === undefined || op.timestamp > latest) latest = op.timestamp;
        if (latest !== undefined) ports.hlc.receive(latest);
        operations.push(...verdict.accepted);
        source = job.source;
        if (job.cursor !== undefined) cursors.push(job.cursor);
        if (job.retrying !== undefined) retried.push(...job.retrying);
        const direction = job.direction ?? 'receive';
        const remote = job.source ?? '(local)';
        const refusals = [
          ...(job.refused ?? []).map(({ operation, reason }) => ({ op: operation, reason })),
          ...verdict.rejected,
        ];
        for (const { op, reason } of refusals) {
          deadLetters.push({
            id: `${direction}:${remote}:${op.id}`,
            remote,
            direction,
            operation: op,
            reason,
            at: ports.now(),
          });
        }
        const rejected = refusals.map(({ op, reason }) => ({ id: op.id, reason }));
        outcomes.push({ jobId: job.id, ok: true, operations: [], stored: 0, duplicates: 0, rejected });
        if (job.record === true) {
          recorded.push({
            id: job.id,
            at: ports.now(),
            operations: verdict.accepted.map((op) => ({ ...op, index: 0 })),
          });
        }
        continue;
      }
      let state = working.get(job.branch);
      if (state === undefined) {
        state = fromReading(await ports.read(job.documentId, job.branch));
        working.set(job.branch, state);
      }
      try {
        const made = runMutate(job, state, ports);
        // The store copies envelope fields into its rows, so the ops can go as they are.
        operations.push(...made);
        outcomes.push({ jobId: job.id, ok: true, operations: made, stored: made.length, duplicates: 0, rejected: [] });
        if (job.record === true) recorded.push({ id: job.id, at: ports.now(), operations: made });
      } catch (error) {
        outcomes.push(outcomeOf(job.id, error));
      }
    }
    return {
      write: {
        writeId: input.runId,
        completeJobs: input.jobs.map(refOf),
        operations,
        ...(load ? { dedupe: true } : {}),
        ...(source === undefined ? {} : { source }),
        ...(cursors.length > 0 ? { cursors } : {}),
        ...(deadLetters.length > 0 ? { deadLetters } : {}),
        ...(retried.length > 0 ? { dropDeadLetters: retried } : {}),
        ...(recorded.length > 0 ? { recordWrites: recorded, pruneWritesBefore: ports.now() - WRITE_RECORD_MS } : {}),
      },
      outcomes,
    };
  });
}
