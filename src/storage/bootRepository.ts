import { HLC_ZERO } from '../model/hlc.js';
import type { MetaRow, StreamRow } from '../model/rows.js';
import type { Job } from '../model/types.js';
import type { StorageBackend } from './backend.js';
import type { JobLog } from './jobLog.js';

/** What a reactor reads once at start-up. */
export interface BootState {
  readonly meta: MetaRow;
  readonly jobs: readonly Job[];
  readonly streams: readonly StreamRow[];
  readonly created: boolean;
}

/**
 * Reads (or, on a fresh database, creates) the reactor's identity, clock, counters, pending jobs
 * and known streams, and drops job log rows whose jobs are all done. Nothing else writes while a
 * reactor boots (its store has not started), so the reads and the one batch need no transaction
 * around both; a writer that others may replace passes the epoch it claimed before reading as
 * `fence`, and its batch commits only if it still holds it.
 */
export async function loadBootState(
  storage: StorageBackend,
  makeReactorId: () => string,
  requestedId: string | undefined,
  jobLog: JobLog,
  fence?: number,
): Promise<BootState> {
  const rows = await storage.readBoot();
  const created = rows.meta === undefined;
  const meta: MetaRow = rows.meta ?? {
    key: 'reactor',
    reactorId: requestedId ?? makeReactorId(),
    hlc: HLC_ZERO,
    ordinal: 0,
    jobSeq: 0,
  };
  const { jobs, finishedRows } = jobLog.restore(rows.jobLog, rows.lanes);
  if (created || finishedRows.length > 0) {
    await storage.commit({
      ...(created ? { meta } : {}),
      jobLog: { delete: finishedRows },
      ...(fence === undefined ? {} : { fence }),
    });
  }
  const jobSeq = jobs.reduce((max, job) => Math.max(max, job.seq), meta.jobSeq);
  return { meta: { ...meta, jobSeq }, jobs, streams: rows.streams, created };
}
