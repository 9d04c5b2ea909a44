import { fromPromise } from 'xstate';
import type { PreparedRun } from '../machines/jobRun.js';
import type { AnyDocumentModel } from '../model/documentModel.js';
import { ReactorError } from '../model/errors.js';
import { describeFailure } from '../model/fold.js';
import type { HybridLogicalClock } from '../model/hlc.js';
import {
  CREATE_DOCUMENT,
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

/** What preparing a batch needs. */
export interface PrepareRunPorts {
  readonly reactorId: string;
  readonly models: ReadonlyMap<string, AnyDocumentModel>;
  readonly hlc: HybridLogicalClock;
  readonly newOperationId: () => string;
  readonly read: (documentId: string, branch: string) => Promise<DocumentReading>;
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

/**
 * Runs a mutate job against the working state: builds its ops or explains why it cannot run.
 * On failure the working state is left as it was, so later jobs in the batch are unaffected.
 */
function runMutate(job: MutateJob, working: Working, ports: PrepareRunPorts): Operation[] {
  const doc = JSON.stringify(job.documentId);
  const made: Operation[] = [];
  const op = (scope: Scope, type: string, input: unknown, index: number): Operation => ({
    id: ports.newOperationId(),
    documentId: job.documentId,
    scope,
    branch: job.branch,
    type,
    input,
    timestamp: ports.hlc.next(),
    origin: ports.reactorId,
    index,
  });
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
    made.push(op('document', CREATE_DOCUMENT, { model: job.create }, 0));
    working.exists = true;
    working.model = job.create;
    working.scopes.global = { state: model.initialState(), count: 0 };
    working.scopes.local = { state: model.initialState(), count: 0 };
    return made;
  }
  if (!working.exists) {
    throw new ReactorError('not-found', `document ${doc} does not exist; create it with createDocument first`);
  }
  if (working.deleted) {
    throw new ReactorError('conflict', `document ${doc} was deleted; a deleted document accepts no more mutations`);
  }
  if (job.delete === true) {
    made.push(op('document', DELETE_DOCUMENT, {}, 1));
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
    const reducer = model.reducers[action.type] as ((s: unknown, i: unknown) => unknown) | undefined;
    if (reducer === undefined) {
      throw new ReactorError(
        'validation',
        `model "${model.type}" has no action "${action.type}"; expected one of: ${Object.keys(model.reducers).join(', ')}`,
      );
    }
    try {
      next[scope].state = reducer(next[scope].state, action.input);
    } catch (error) {
      throw new ReactorError(
        'validation',
        `reducer "${action.type}" of model "${model.type}" rejected the input for document ${doc}: ${describeFailure(error)}; nothing was written`,
        { cause: error },
      );
    }
    made.push(op(scope, action.type, action.input, next[scope].count));
    next[scope].count += 1;
  }
  working.scopes.global = next.global;
  working.scopes.local = next.local;
  return made;
}

function outcomeOf(jobId: string, error: unknown): JobOutcome {
  const data =
    error instanceof ReactorError
      ? error.toData()
      : { kind: 'internal' as const, message: describeFailure(error), retryable: false };
  return { jobId, ok: false, error: data };
}

/** Moves the clock past every op of a load job; a malformed timestamp fails the job. */
function receiveLoad(job: LoadJob, hlc: HybridLogicalClock): readonly OperationEnvelope[] {
  for (const op of job.operations) hlc.receive(op.timestamp);
  return job.operations;
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
    for (const job of input.jobs) {
      try {
        if (job.kind === 'load') {
          operations.push(...receiveLoad(job, ports.hlc));
          outcomes.push({ jobId: job.id, ok: true, operations: [], stored: 0, duplicates: 0 });
          continue;
        }
        let state = working.get(job.branch);
        if (state === undefined) {
          state = fromReading(await ports.read(job.documentId, job.branch));
          working.set(job.branch, state);
        }
        const made = runMutate(job, state, ports);
        for (const op of made) {
          const { index: _index, ...envelope } = op;
          operations.push(envelope);
        }
        outcomes.push({ jobId: job.id, ok: true, operations: made, stored: made.length, duplicates: 0 });
      } catch (error) {
        outcomes.push(outcomeOf(job.id, error));
      }
    }
    return {
      write: {
        writeId: input.runId,
        completeJobs: input.jobs.map((job) => job.id),
        operations,
        ...(load ? { dedupe: true } : {}),
      },
      outcomes,
    };
  });
}
