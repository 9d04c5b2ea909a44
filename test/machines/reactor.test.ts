import { describe, expect, it } from 'vitest';
import { type AnyActorLogic, type AnyActorRef, type AnyEventObject, assign, createActor, setup } from 'xstate';
import type { documentViewMachine } from '../../src/machines/documentView.js';
import type { jobExecutorMachine } from '../../src/machines/jobExecutor.js';
import type { operationsStoreMachine } from '../../src/machines/operationsStore.js';
import type { queueMachine } from '../../src/machines/queue.js';
import { type ReactorMachineInput, reactorMachine } from '../../src/machines/reactor.js';
import type { syncManagerMachine } from '../../src/machines/syncManager.js';

const input: ReactorMachineInput = {
  reactorId: 'r1',
  concurrency: 4,
  maxBatch: 64,
  maxGroupSize: 32,
  retry: { maxAttempts: 3, baseMs: 10, maxMs: 100 },
  seed: 99,
};

const SYSTEM_IDS = ['operationsStore', 'documentView', 'jobExecutor', 'queue', 'syncManager', 'replies'] as const;

interface FakeContext {
  readonly input: unknown;
  readonly received: readonly string[];
}

/** A stand-in long-lived actor: does no IO, keeps its input and the types of the events it got. */
const fake = setup({ types: { context: {} as FakeContext, input: {} as unknown } }).createMachine({
  context: ({ input }) => ({ input, received: [] }),
  on: {
    '*': {
      actions: assign({ received: ({ context, event }) => [...context.received, (event as AnyEventObject).type] }),
    },
  },
});

/** The root's setup types each actor as the real machine; the stand-in has to be cast to it. */
const as = <T>(logic: AnyActorLogic) => logic as unknown as T;

function harness() {
  const actor = createActor(
    reactorMachine.provide({
      actors: {
        operationsStore: as<typeof operationsStoreMachine>(fake),
        documentView: as<typeof documentViewMachine>(fake),
        jobExecutor: as<typeof jobExecutorMachine>(fake),
        queue: as<typeof queueMachine>(fake),
        syncManager: as<typeof syncManagerMachine>(fake),
        replies: as<never>(fake),
      },
    }),
    { input },
  ).start();
  const get = (systemId: string) => actor.system.get(systemId) as AnyActorRef | undefined;
  const context = (systemId: string) => get(systemId)?.getSnapshot().context as FakeContext | undefined;
  return { actor, get, context };
}

describe('reactor root', () => {
  it('invokes the long-lived actors under their systemIds', () => {
    const { actor, get } = harness();
    for (const id of SYSTEM_IDS) expect(get(id)?.getSnapshot().status, id).toBe('active');
    expect(Object.keys(actor.getSnapshot().children).sort()).toEqual([...SYSTEM_IDS].sort());
    expect(actor.getSnapshot().value).toBe('running');
    expect(actor.getSnapshot().context).toEqual(input);
    expect(actor.getSnapshot().context.failures).toBeUndefined();
    actor.stop();
  });

  it('hands each actor its slice of the settings', () => {
    const { actor, context } = harness();
    expect(context('operationsStore')?.input).toEqual({ maxGroupSize: 32 });
    expect(context('jobExecutor')?.input).toEqual({ retry: input.retry, seed: 99 });
    expect(context('queue')?.input).toEqual({ concurrency: 4, maxBatch: 64 });
    expect(context('documentView')?.input).toBeUndefined();
    expect(context('syncManager')?.input).toBeUndefined();
    expect(context('replies')?.input).toBeUndefined();
    actor.stop();
  });

  it('a stop without draining halts the queue', () => {
    const { actor, context } = harness();
    actor.send({ type: 'reactor.stop', drain: false });
    expect(actor.getSnapshot().value).toBe('stopping');
    expect(context('queue')?.received).toEqual(['queue.halt']);
    for (const id of SYSTEM_IDS.filter((id) => id !== 'queue')) expect(context(id)?.received, id).toEqual([]);
    actor.stop();
  });

  it('a draining stop leaves the queue running', () => {
    const { actor, context } = harness();
    actor.send({ type: 'reactor.stop', drain: true });
    expect(actor.getSnapshot().value).toBe('stopping');
    for (const id of SYSTEM_IDS) expect(context(id)?.received, id).toEqual([]);
    actor.stop();
  });

  it('ignores a second stop while stopping', () => {
    const { actor, context } = harness();
    actor.send({ type: 'reactor.stop', drain: true });
    actor.send({ type: 'reactor.stop', drain: false });
    expect(actor.getSnapshot().value).toBe('stopping');
    expect(context('queue')?.received).toEqual([]);
    actor.stop();
  });

  it('ignores reactor.stopped while still running', () => {
    const { actor } = harness();
    actor.send({ type: 'reactor.stopped' });
    expect(actor.getSnapshot().value).toBe('running');
    expect(actor.getSnapshot().status).toBe('active');
    actor.stop();
  });

  it('reaches the final state once stopped, stopping every child', () => {
    const { actor, get } = harness();
    const children = SYSTEM_IDS.map((id) => get(id));
    actor.send({ type: 'reactor.stop', drain: false });
    actor.send({ type: 'reactor.stopped' });
    expect(actor.getSnapshot().value).toBe('stopped');
    expect(actor.getSnapshot().status).toBe('done');
    expect(children.map((child) => child?.getSnapshot().status)).toEqual(SYSTEM_IDS.map(() => 'stopped'));
  });

  it('records and reports a long-lived child that fails, and keeps the others running', () => {
    const reports: unknown[] = [];
    const broken = setup({}).createMachine({
      on: {
        '*': {
          actions: () => {
            throw new TypeError('a bug in the queue');
          },
        },
      },
    });
    const actor = createActor(
      reactorMachine.provide({
        actions: { reportChildFailure: (_, failure) => reports.push(failure) },
        actors: {
          operationsStore: as<typeof operationsStoreMachine>(fake),
          documentView: as<typeof documentViewMachine>(fake),
          jobExecutor: as<typeof jobExecutorMachine>(fake),
          queue: as<typeof queueMachine>(broken),
          syncManager: as<typeof syncManagerMachine>(fake),
          replies: as<never>(fake),
        },
      }),
      { input },
    ).start();
    actor.system.get('queue')?.send({ type: 'queue.enqueue', jobs: [] });
    const failure = { child: 'queue', error: { kind: 'internal', message: 'a bug in the queue', retryable: false } };
    expect(actor.getSnapshot().context.failures).toEqual([failure]);
    expect(reports).toEqual([failure]);
    expect(actor.getSnapshot().value).toBe('running');
    expect(actor.system.get('operationsStore')?.getSnapshot().status).toBe('active');
    actor.stop();
  });
});
