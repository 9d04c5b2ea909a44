import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback, fromPromise } from 'xstate';
import { operationsStoreMachine, type StoreReply } from '../../src/machines/operationsStore.js';
import { ReactorError } from '../../src/model/errors.js';
import type { StoreWrite, WriteResult } from '../../src/model/storeWrite.js';

/** A commitGroup whose transactions finish when the test says so. */
function controllableCommits(fail?: (writes: readonly StoreWrite[]) => ReactorError | undefined) {
  const groups: string[][] = [];
  const finishers: (() => void)[] = [];
  const logic = fromPromise<WriteResult[], { writes: readonly StoreWrite[] }>(
    ({ input }) =>
      new Promise((resolve, reject) => {
        groups.push(input.writes.map((w) => w.writeId));
        finishers.push(() => {
          const error = fail?.(input.writes);
          if (error !== undefined) reject(error);
          else resolve(input.writes.map((w) => ({ writeId: w.writeId, stored: [], duplicates: [] })));
        });
      }),
  );
  return { logic, groups, finish: () => finishers.shift()?.() };
}

function replies() {
  const received: StoreReply[] = [];
  const actor = createActor(
    fromCallback<StoreReply>(({ receive }) => {
      receive((event) => received.push(event));
    }),
  ).start();
  return { received, actor: actor as AnyActorRef };
}

const write = (writeId: string): StoreWrite => ({ writeId, operations: [] });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('operations store: group commit', () => {
  it('coalesces writes that arrive while a transaction is in flight into the next one', async () => {
    const commits = controllableCommits();
    const { received, actor: replyTo } = replies();
    const published: number[] = [];
    const store = createActor(
      operationsStoreMachine.provide({
        actors: { commitGroup: commits.logic },
        actions: { publishWritten: (_, params) => published.push(params.results.length) },
      }),
      { input: {} },
    ).start();
    store.send({ type: 'store.write', write: write('w1'), replyTo });
    for (const id of ['w2', 'w3', 'w4']) store.send({ type: 'store.write', write: write(id), replyTo });
    expect(store.getSnapshot().value).toBe('committing');
    commits.finish();
    await tick();
    commits.finish();
    await tick();
    expect(commits.groups).toEqual([['w1'], ['w2', 'w3', 'w4']]);
    expect(received.map((r) => (r.type === 'store.committed' ? r.result.writeId : r.writeId))).toEqual([
      'w1',
      'w2',
      'w3',
      'w4',
    ]);
    expect(published).toEqual([1, 3]);
    expect(store.getSnapshot().value).toBe('idle');
  });

  it('tells every writer of a group that failed transiently, so each can retry', async () => {
    const commits = controllableCommits(() => new ReactorError('storage', 'AbortError', { retryable: true }));
    const { received, actor: replyTo } = replies();
    const store = createActor(operationsStoreMachine.provide({ actors: { commitGroup: commits.logic } }), {
      input: {},
    }).start();
    store.send({ type: 'store.write', write: write('w1'), replyTo });
    store.send({ type: 'store.write', write: write('w2'), replyTo });
    commits.finish();
    await tick();
    commits.finish();
    await tick();
    expect(received).toEqual([
      { type: 'store.failed', writeId: 'w1', error: { kind: 'storage', message: 'AbortError', retryable: true } },
      { type: 'store.failed', writeId: 'w2', error: { kind: 'storage', message: 'AbortError', retryable: true } },
    ]);
  });

  it('after a permanent failure of a group, commits its writes one by one so one bad write fails alone', async () => {
    const commits = controllableCommits((writes) =>
      writes.some((w) => w.writeId === 'bad')
        ? new ReactorError('storage', 'DataError', { retryable: false })
        : undefined,
    );
    const { received, actor: replyTo } = replies();
    const store = createActor(operationsStoreMachine.provide({ actors: { commitGroup: commits.logic } }), {
      input: {},
    }).start();
    store.send({ type: 'store.write', write: write('first'), replyTo });
    for (const id of ['ok1', 'bad', 'ok2']) store.send({ type: 'store.write', write: write(id), replyTo });
    for (let i = 0; i < 5; i++) {
      commits.finish();
      await tick();
    }
    expect(commits.groups).toEqual([['first'], ['ok1', 'bad', 'ok2'], ['ok1'], ['bad'], ['ok2']]);
    const outcome = Object.fromEntries(
      received.map((r) => (r.type === 'store.committed' ? [r.result.writeId, 'ok'] : [r.writeId, r.error.message])),
    );
    expect(outcome).toEqual({ first: 'ok', ok1: 'ok', bad: 'DataError', ok2: 'ok' });
  });
});
