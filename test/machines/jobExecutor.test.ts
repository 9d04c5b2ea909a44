import { describe, expect, it } from 'vitest';
import {
  type AnyActorLogic,
  type AnyActorRef,
  createActor,
  fromCallback,
  type SnapshotFrom,
  sendParent,
  setup,
} from 'xstate';
import { jobExecutorMachine } from '../../src/machines/jobExecutor.js';
import type { JobRunFinished, JobRunInput, jobRunMachine } from '../../src/machines/jobRun.js';
import type { Job, JobOutcome } from '../../src/model/types.js';

const retry = { maxAttempts: 3, baseMs: 10, maxMs: 100 };
const job = (id: string, documentId: string): Job => ({
  kind: 'mutate',
  id,
  seq: 1,
  documentId,
  branch: 'main',
  actions: [],
});
const succeeded = (jobId: string): JobOutcome => ({
  jobId,
  ok: true,
  operations: [],
  stored: 1,
  duplicates: 0,
  rejected: [],
});
const failed = (jobId: string): JobOutcome => ({
  jobId,
  ok: false,
  error: { kind: 'storage', message: 'ConstraintError', retryable: false },
});

/** The executor's setup types `jobRun` as the real machine; a stand-in has to be cast to it. */
const asJobRun = (logic: AnyActorLogic) => logic as unknown as typeof jobRunMachine;

/** A run that keeps its input in context and reports whatever outcomes the test hands it. */
const heldRun = setup({
  types: {
    context: {} as JobRunInput,
    input: {} as JobRunInput,
    events: {} as { type: 'test.finish'; outcomes: readonly JobOutcome[] },
  },
}).createMachine({
  context: ({ input }) => input,
  on: {
    'test.finish': {
      actions: sendParent(
        ({ context, event }): JobRunFinished => ({
          type: 'jobRun.finished',
          runId: context.runId,
          documentId: context.documentId,
          outcomes: event.outcomes,
        }),
      ),
    },
  },
});

/** A run that reports at once: every job succeeds. */
const instantRun = setup({ types: { context: {} as JobRunInput, input: {} as JobRunInput } }).createMachine({
  context: ({ input }) => input,
  entry: sendParent(
    ({ context }): JobRunFinished => ({
      type: 'jobRun.finished',
      runId: context.runId,
      documentId: context.documentId,
      outcomes: context.jobs.map((j) => succeeded(j.id)),
    }),
  ),
});

/** The executor beside a recording `queue`, in one actor system. */
function harness(run: AnyActorLogic = heldRun) {
  const published: (readonly JobOutcome[])[] = [];
  const queueEvents: unknown[] = [];
  const parent = setup({
    actors: {
      queue: fromCallback(({ receive }) => {
        receive((event) => queueEvents.push(event));
      }),
      executor: jobExecutorMachine.provide({
        actors: { jobRun: asJobRun(run) },
        actions: { publishOutcomes: (_, params) => published.push(params.outcomes) },
      }),
    },
  }).createMachine({
    invoke: [
      { src: 'queue', systemId: 'queue' },
      { src: 'executor', id: 'executor', systemId: 'jobExecutor', input: { retry, seed: 7 } },
    ],
  });
  const root = createActor(parent).start();
  const executor = root.system.get('jobExecutor') as AnyActorRef;
  const snapshot = () => executor.getSnapshot() as SnapshotFrom<typeof jobExecutorMachine>;
  const child = (id: string) => snapshot().children[id] as AnyActorRef | undefined;
  return { root, executor, snapshot, child, published, queueEvents };
}

describe('job executor', () => {
  it('spawns a jobRun child per run, handing it the batch and its retry policy', () => {
    const { executor, snapshot, child, root } = harness();
    const jobs = [job('j1', 'doc-a'), job('j2', 'doc-a')];
    executor.send({ type: 'executor.run', documentId: 'doc-a', jobs });
    expect(Object.keys(snapshot().children)).toEqual(['run-0']);
    expect(child('run-0')?.getSnapshot().context).toEqual({
      runId: 'run-0',
      documentId: 'doc-a',
      jobs,
      retry,
      seed: 7,
    });
    expect(snapshot().context).toMatchObject({ nextRun: 1, active: 1, succeeded: 0, failed: 0 });
    root.stop();
  });

  it('when a run finishes: publishes its outcomes, stops the child, counts results and frees the document', () => {
    const { executor, snapshot, child, published, queueEvents, root } = harness();
    executor.send({ type: 'executor.run', documentId: 'doc-a', jobs: [job('j1', 'doc-a'), job('j2', 'doc-a')] });
    const run = child('run-0');
    const outcomes = [succeeded('j1'), failed('j2'), succeeded('j3')];
    run?.send({ type: 'test.finish', outcomes });
    expect(published).toEqual([outcomes]);
    expect(snapshot().children).toEqual({});
    expect(run?.getSnapshot().status).toBe('stopped');
    expect(snapshot().context).toMatchObject({ active: 0, succeeded: 2, failed: 1 });
    expect(queueEvents).toEqual([{ type: 'queue.runFinished', documentId: 'doc-a' }]);
    root.stop();
  });

  it('ignores a report from a run that is not running, so a document is never freed twice', () => {
    const { executor, snapshot, child, published, queueEvents, root } = harness();
    executor.send({ type: 'executor.run', documentId: 'doc-a', jobs: [job('a1', 'doc-a')] });
    executor.send({ type: 'executor.run', documentId: 'doc-b', jobs: [job('b1', 'doc-b')] });
    child('run-0')?.send({ type: 'test.finish', outcomes: [succeeded('a1')] });
    executor.send({ type: 'jobRun.finished', runId: 'run-0', documentId: 'doc-a', outcomes: [succeeded('a1')] });
    executor.send({ type: 'jobRun.finished', runId: 'run-99', documentId: 'doc-x', outcomes: [] });
    expect(published).toHaveLength(1);
    expect(queueEvents).toEqual([{ type: 'queue.runFinished', documentId: 'doc-a' }]);
    expect(snapshot().context).toMatchObject({ active: 1, running: ['run-1'] });
    root.stop();
  });

  it('runs several documents at once under distinct child ids and seeds, freeing each as it ends', () => {
    const { executor, snapshot, child, published, queueEvents, root } = harness();
    executor.send({ type: 'executor.run', documentId: 'doc-a', jobs: [job('a1', 'doc-a')] });
    executor.send({ type: 'executor.run', documentId: 'doc-b', jobs: [job('b1', 'doc-b')] });
    executor.send({ type: 'executor.run', documentId: 'doc-c', jobs: [job('c1', 'doc-c')] });
    expect(Object.keys(snapshot().children)).toEqual(['run-0', 'run-1', 'run-2']);
    const documents = ['run-0', 'run-1', 'run-2'].map((id) => child(id)?.getSnapshot().context.documentId);
    expect(documents).toEqual(['doc-a', 'doc-b', 'doc-c']);
    const seeds = new Set(['run-0', 'run-1', 'run-2'].map((id) => child(id)?.getSnapshot().context.seed));
    expect(seeds.size).toBe(3);
    expect(snapshot().context.active).toBe(3);

    child('run-1')?.send({ type: 'test.finish', outcomes: [failed('b1')] });
    expect(Object.keys(snapshot().children)).toEqual(['run-0', 'run-2']);
    expect(queueEvents).toEqual([{ type: 'queue.runFinished', documentId: 'doc-b' }]);

    child('run-0')?.send({ type: 'test.finish', outcomes: [succeeded('a1')] });
    child('run-2')?.send({ type: 'test.finish', outcomes: [succeeded('c1')] });
    expect(snapshot().children).toEqual({});
    expect(published).toEqual([[failed('b1')], [succeeded('a1')], [succeeded('c1')]]);
    expect(queueEvents).toEqual(
      ['doc-b', 'doc-a', 'doc-c'].map((documentId) => ({ type: 'queue.runFinished', documentId })),
    );
    expect(snapshot().context).toMatchObject({ nextRun: 3, active: 0, succeeded: 2, failed: 1 });
    root.stop();
  });

  it('handles a run that reports as soon as it starts', () => {
    const { executor, snapshot, published, queueEvents, root } = harness(instantRun);
    executor.send({ type: 'executor.run', documentId: 'doc-a', jobs: [job('j1', 'doc-a')] });
    executor.send({ type: 'executor.run', documentId: 'doc-a', jobs: [job('j2', 'doc-a')] });
    expect(published).toEqual([[succeeded('j1')], [succeeded('j2')]]);
    expect(snapshot().children).toEqual({});
    expect(snapshot().context).toMatchObject({ nextRun: 2, active: 0, succeeded: 2, failed: 0 });
    expect(queueEvents).toHaveLength(2);
    root.stop();
  });

  it('still publishes when no queue is in the system', () => {
    const published: (readonly JobOutcome[])[] = [];
    const executor = createActor(
      jobExecutorMachine.provide({
        actors: { jobRun: asJobRun(instantRun) },
        actions: { publishOutcomes: (_, params) => published.push(params.outcomes) },
      }),
      { input: { retry, seed: 1 } },
    ).start();
    executor.send({ type: 'executor.run', documentId: 'doc-a', jobs: [job('j1', 'doc-a')] });
    expect(published).toEqual([[succeeded('j1')]]);
    expect(executor.getSnapshot().context).toMatchObject({ active: 0, succeeded: 1 });
    executor.stop();
  });
});
