import { describe, expect, it } from 'vitest';
import { addJobs, EMPTY_QUEUE, finishRun, pendingCount, planRuns } from '../../src/machines/queuePlan.js';
import type { Job } from '../../src/model/types.js';

let seq = 0;
const mutate = (documentId: string): Job => {
  seq += 1;
  return { kind: 'mutate', id: `j${seq}`, seq, documentId, branch: 'main', actions: [] };
};
const load = (documentId: string): Job => {
  seq += 1;
  return { kind: 'load', id: `j${seq}`, seq, documentId, operations: [] };
};

describe('queue planning', () => {
  it('runs documents concurrently up to the limit, in the order they became ready', () => {
    const state = addJobs(EMPTY_QUEUE, [mutate('a'), mutate('b'), mutate('c')]);
    const [next, runs] = planRuns(state, 2, 10);
    expect(runs.map((run) => run.documentId)).toEqual(['a', 'b']);
    expect(next.runningCount).toBe(2);
    expect(planRuns(next, 2, 10)[1]).toEqual([]);
    const [, more] = planRuns(finishRun(next, 'a'), 2, 10);
    expect(more.map((run) => run.documentId)).toEqual(['c']);
  });

  it('never runs two batches of one document at once, and keeps FIFO order within it', () => {
    const jobs = [mutate('a'), mutate('a'), mutate('a')];
    const [running, runs] = planRuns(addJobs(EMPTY_QUEUE, jobs.slice(0, 1)), 4, 1);
    expect(runs).toHaveLength(1);
    const queued = addJobs(running, jobs.slice(1));
    expect(planRuns(queued, 4, 1)[1]).toEqual([]);
    const [, second] = planRuns(finishRun(queued, 'a'), 4, 1);
    expect(second[0]?.jobs.map((job) => job.id)).toEqual([jobs[1]?.id]);
  });

  it('batches consecutive jobs of one kind up to maxBatch', () => {
    const jobs = [mutate('a'), mutate('a'), mutate('a'), load('a'), mutate('a')];
    const [afterFirst, first] = planRuns(addJobs(EMPTY_QUEUE, jobs), 4, 2);
    expect(first[0]?.jobs.map((job) => job.id)).toEqual([jobs[0]?.id, jobs[1]?.id]);
    const [afterSecond, second] = planRuns(finishRun(afterFirst, 'a'), 4, 10);
    expect(second[0]?.jobs.map((job) => job.id)).toEqual([jobs[2]?.id]);
    const [, third] = planRuns(finishRun(afterSecond, 'a'), 4, 10);
    expect(third[0]?.jobs.map((job) => job.kind)).toEqual(['load']);
    expect(pendingCount(afterSecond)).toBe(2);
  });
});
