import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { queueMachine } from '../../src/machines/queue.js';
import type { Job } from '../../src/model/types.js';

let seq = 0;
const job = (documentId: string): Job => {
  seq += 1;
  return { kind: 'mutate', id: `j${seq}`, seq, documentId, branch: 'main', actions: [] };
};

function harness() {
  const persisted: string[][] = [];
  const started: string[][] = [];
  const actor = createActor(
    queueMachine.provide({
      actions: {
        persistJobs: (_, params) => persisted.push(params.jobs.map((j) => j.id)),
        startRun: (_, params) => started.push(params.jobs.map((j) => j.id)),
      },
    }),
    { input: { concurrency: 1, maxBatch: 10 } },
  );
  return { actor: actor.start(), persisted, started };
}

describe('queue machine', () => {
  it('persists only the jobs it cannot start at once (started ones become durable when they commit)', () => {
    const { actor, persisted, started } = harness();
    const [a, b, c] = [job('a'), job('a'), job('b')];
    actor.send({ type: 'queue.enqueue', jobs: [a, b, c] as Job[] });
    expect(started).toEqual([[a?.id, b?.id]]);
    expect(persisted).toEqual([[c?.id]]);
    expect(actor.getSnapshot().context).toMatchObject({ runningCount: 1, waiting: 1 });
  });

  it('starts the next document when a run finishes', () => {
    const { actor, started } = harness();
    const [a, b] = [job('a'), job('b')];
    actor.send({ type: 'queue.enqueue', jobs: [a, b] as Job[] });
    actor.send({ type: 'queue.runFinished', documentId: 'a' });
    expect(started).toEqual([[a?.id], [b?.id]]);
    expect(actor.getSnapshot().context.runningCount).toBe(1);
  });

  it('restored jobs start without being persisted again', () => {
    const { actor, persisted, started } = harness();
    const restored = job('r');
    actor.send({ type: 'queue.restore', jobs: [restored] });
    expect(started).toEqual([[restored.id]]);
    expect(persisted).toEqual([]);
  });

  it('when halted, keeps and persists new jobs but starts nothing', () => {
    const { actor, persisted, started } = harness();
    actor.send({ type: 'queue.halt' });
    const late = job('z');
    actor.send({ type: 'queue.enqueue', jobs: [late] });
    expect(actor.getSnapshot().value).toBe('halted');
    expect(started).toEqual([]);
    expect(persisted).toEqual([[late.id]]);
  });
});
