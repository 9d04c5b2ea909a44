import { HLC_ZERO } from '../model/hlc.js';
import type { Job } from '../model/types.js';
import type { JobLog } from './jobLog.js';
import type { MetaRow, ReactorDatabase, StreamRow } from './schema.js';

/** What a reactor reads once at start-up. */
export interface BootState {
  readonly meta: MetaRow;
  readonly jobs: readonly Job[];
  readonly streams: readonly StreamRow[];
  readonly created: boolean;
}

/**
 * Reads (or, on a fresh database, creates) the reactor's identity, clock, counters, pending jobs
 * and known streams, in one transaction.
 */
export async function loadBootState(
  db: ReactorDatabase,
  makeReactorId: () => string,
  requestedId: string | undefined,
  jobLog: JobLog,
): Promise<BootState> {
  return db.transaction('rw', [db.meta, db.jobLog, db.lanes, db.streams], async () => {
    let meta = await db.meta.get('reactor');
    let created = false;
    if (meta === undefined) {
      meta = { key: 'reactor', reactorId: requestedId ?? makeReactorId(), hlc: HLC_ZERO, ordinal: 0, jobSeq: 0 };
      await db.meta.put(meta);
      created = true;
    }
    const { jobs, finishedRows } = jobLog.restore(await db.jobLog.toArray(), await db.lanes.toArray());
    if (finishedRows.length > 0) await db.jobLog.bulkDelete(finishedRows);
    const jobSeq = jobs.reduce((max, job) => Math.max(max, job.seq), meta.jobSeq);
    const streams = await db.streams.toArray();
    return { meta: { ...meta, jobSeq }, jobs, streams, created };
  });
}
