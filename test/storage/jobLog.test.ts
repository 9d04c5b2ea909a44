import { describe, expect, it } from 'vitest';
import { refOf } from '../../src/model/jobs.js';
import type { Job } from '../../src/model/types.js';
import { JobLog } from '../../src/storage/jobLog.js';

const job = (seq: number, documentId = 'd'): Job => ({
  kind: 'mutate',
  id: `j${seq}`,
  seq,
  documentId,
  branch: 'main',
  actions: [],
});

describe('job log', () => {
  it('keeps a batch row until every job in it is done, then deletes it', () => {
    const log = new JobLog();
    const batch = [job(1), job(2), job(3)];
    const insert = log.plan([batch], []);
    expect(insert.putRows.map((row) => row.jobs.length)).toEqual([3]);
    log.apply(insert);
    const partly = log.plan([], [refOf(batch[0] as Job), refOf(batch[1] as Job)]);
    expect(partly.deleteRows).toEqual([]);
    expect(partly.lanes).toEqual([{ lane: 'd', seq: 2 }]);
    log.apply(partly);
    const rest = log.plan([], [refOf(batch[2] as Job)]);
    expect(rest.deleteRows).toEqual([insert.putRows[0]?.id]);
  });

  it('never writes a row whose jobs all finish in the same group', () => {
    const log = new JobLog();
    const batch = [job(1), job(2)];
    const plan = log.plan([batch], batch.map(refOf));
    expect(plan.putRows).toEqual([]);
    expect(plan.deleteRows).toEqual([]);
    expect(plan.lanes).toEqual([{ lane: 'd', seq: 2 }]);
  });

  it('restores only jobs past their lane watermark, in sequence order', () => {
    const log = new JobLog();
    const rows = [
      { id: 'r1', jobs: [job(1, 'a'), job(2, 'b'), job(3, 'a')] },
      { id: 'r2', jobs: [job(4, 'b')] },
      { id: 'r3', jobs: [job(5, 'a')] },
    ];
    const { jobs, finishedRows } = log.restore(rows, [
      { lane: 'a', seq: 5 },
      { lane: 'b', seq: 2 },
    ]);
    expect(jobs.map((j) => j.seq)).toEqual([4]);
    expect(finishedRows).toEqual(['r1', 'r3']);
  });

  it('reports the highest sequence number seen, so numbering never goes back', () => {
    const log = new JobLog();
    expect(log.plan([[job(7)]], [refOf(job(9))]).maxSeq).toBe(9);
  });
});
