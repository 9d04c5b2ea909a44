import { describe, expect, it } from 'vitest';
import { type AnyActorRef, assign, createActor, fromCallback, fromPromise, SimulatedClock, setup } from 'xstate';
import { type JobRunFinished, type JobRunInput, jobRunMachine, type PreparedRun } from '../../src/machines/jobRun.js';
import type { StoreReply } from '../../src/machines/operationsStore.js';
import type { ReactorErrorData } from '../../src/model/errors.js';
import type { Job } from '../../src/model/types.js';

const jobs: Job[] = [{ kind: 'mutate', id: 'j1', seq: 1, documentId: 'd', branch: 'main', actions: [] }];
const prepared: PreparedRun = {
  write: { writeId: 'run-0', completeJobs: [{ id: 'j1', lane: 'd', seq: 1 }], operations: [] },
  outcomes: [{ jobId: 'j1', ok: true, operations: [], stored: 0, duplicates: 0, rejected: [] }],
};

/** A fake store that answers each write with the next scripted reply. */
function scriptedStore(script: (ReactorErrorData | 'ok')[], attempts: number[], clock: SimulatedClock) {
  return fromCallback<{ type: 'store.write'; replyTo: AnyActorRef }>(({ receive }) => {
    receive((event) => {
      attempts.push(clock.now());
      const next = script.shift() ?? 'ok';
      const reply: StoreReply =
        next === 'ok'
          ? { type: 'store.committed', result: { writeId: 'run-0', stored: [], duplicates: [] } }
          : { type: 'store.failed', writeId: 'run-0', error: next };
      event.replyTo.send(reply);
    });
  });
}

function harness(script: (ReactorErrorData | 'ok')[], prepareFailures: unknown[] = []) {
  const clock = new SimulatedClock();
  const attempts: number[] = [];
  const prepares: number[] = [];
  const input: JobRunInput = {
    runId: 'run-0',
    documentId: 'd',
    jobs,
    retry: { maxAttempts: 4, baseMs: 100, maxMs: 1000 },
    seed: 42,
  };
  const parent = setup({
    types: { context: {} as { finished?: JobRunFinished } },
    actors: {
      store: scriptedStore(script, attempts, clock),
      run: jobRunMachine.provide({
        actors: {
          prepareRun: fromPromise(async () => {
            prepares.push(clock.now());
            const failure = prepareFailures.shift();
            if (failure !== undefined) throw failure;
            return prepared;
          }),
        },
      }),
    },
  }).createMachine({
    context: {},
    invoke: [
      { src: 'store', systemId: 'operationsStore' },
      { src: 'run', id: 'run', input },
    ],
    on: { 'jobRun.finished': { actions: assign({ finished: ({ event }) => event as JobRunFinished }) } },
  });
  const actor = createActor(parent, { clock }).start();
  return { actor, clock, attempts, prepares };
}

const transient: ReactorErrorData = { kind: 'storage', message: 'AbortError', retryable: true };
const permanent: ReactorErrorData = { kind: 'storage', message: 'ConstraintError', retryable: false };
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
/** Moves simulated time forward in 5 ms steps, letting promises settle between steps. */
async function advance(clock: SimulatedClock, ms: number) {
  for (let t = 0; t < ms; t += 5) {
    clock.increment(5);
    await flush();
  }
}

describe('job run', () => {
  it('retries transient store failures with growing, jittered backoff, then succeeds', async () => {
    const { actor, clock, attempts } = harness([transient, transient, 'ok']);
    await flush();
    expect(attempts).toEqual([0]);
    await advance(clock, 1000);
    expect(attempts).toHaveLength(3);
    const [first, second] = [attempts[1] as number, (attempts[2] as number) - (attempts[1] as number)];
    expect(first).toBeGreaterThanOrEqual(50);
    expect(first).toBeLessThanOrEqual(100);
    expect(second).toBeGreaterThanOrEqual(100);
    const finished = actor.getSnapshot().context.finished;
    expect(finished?.outcomes).toEqual(prepared.outcomes);
  });

  it('fails the jobs at once on a permanent failure, writing nothing', async () => {
    const { actor, attempts } = harness([permanent]);
    await flush();
    expect(attempts).toHaveLength(1);
    const outcome = actor.getSnapshot().context.finished?.outcomes[0];
    expect(outcome).toMatchObject({ ok: false, error: { kind: 'storage', retryable: false } });
    expect(outcome?.ok === false && outcome.error.message).toMatch(
      /ConstraintError.*after 1 attempt; nothing was written/,
    );
  });

  it('gives up after maxAttempts transient failures', async () => {
    const { actor, clock, attempts } = harness([transient, transient, transient, transient, transient]);
    for (let i = 0; i < 6; i++) {
      await flush();
      clock.increment(2000);
    }
    await flush();
    expect(attempts).toHaveLength(4);
    const outcome = actor.getSnapshot().context.finished?.outcomes[0];
    expect(outcome).toMatchObject({ ok: false, error: { kind: 'storage', retryable: true } });
  });

  it('retries a transient failure while preparing (a storage read) like one while committing', async () => {
    const aborted = new DOMException('the transaction was aborted', 'AbortError');
    const { actor, clock, prepares, attempts } = harness(['ok'], [aborted, aborted]);
    await advance(clock, 1000);
    expect(prepares).toHaveLength(3);
    expect(attempts).toHaveLength(1);
    expect(actor.getSnapshot().context.finished?.outcomes).toEqual(prepared.outcomes);
  });

  it('fails the jobs with the classified error when preparing fails permanently', async () => {
    const { actor, prepares } = harness([], [new TypeError('bad')]);
    await flush();
    expect(prepares).toHaveLength(1);
    expect(actor.getSnapshot().context.finished?.outcomes[0]).toMatchObject({
      ok: false,
      error: { kind: 'internal', retryable: false, message: expect.stringMatching(/preparing jobs failed: bad/) },
    });
  });
});
