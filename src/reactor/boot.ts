import { classifyError, ReactorError } from '../model/errors.js';
import { HybridLogicalClock } from '../model/hlc.js';
import type { StreamRow } from '../model/rows.js';
import type { Job } from '../model/types.js';
import type { StorageBackend, SyncRows } from '../storage/backend.js';
import { loadBootState } from '../storage/bootRepository.js';
import { createDexieStorage } from '../storage/dexie.js';
import { JobLog } from '../storage/jobLog.js';
import type { CommitCounters } from '../storage/operationsRepository.js';
import type { ResolvedOptions } from './options.js';

/** What a reactor starts from: its database, identity, clock and counters, and what was left to do. */
export interface Booted {
  readonly storage: StorageBackend;
  readonly reactorId: string;
  readonly hlc: HybridLogicalClock;
  /** What commits advance (ordinal, job sequence, known streams, job log): the store owns them. */
  readonly counters: CommitCounters;
  /** Jobs accepted before the last stop (or crash) and not yet run. */
  readonly pending: readonly Job[];
  /** Every stream stored (the read model rebuilds them). */
  readonly streams: readonly StreamRow[];
  /** Persisted remotes, cursors and dead letters. */
  readonly sync: SyncRows;
  /** The fencing epoch claimed at boot (a leader tab), which every commit carries. */
  readonly epoch: number | undefined;
}

/**
 * Opens the reactor's database and reads what it starts from. A database that belongs to another
 * reactor id is refused; anything that fails closes the database again.
 */
export async function boot(settings: ResolvedOptions, options: { fenced?: boolean } = {}): Promise<Booted> {
  const storage = settings.storage.backend ?? createDexieStorage(settings.storage);
  try {
    const jobLog = new JobLog();
    // A leader tab claims the next epoch first, and reads after it: from then on a commit of any
    // older leader fails, so nothing read below can go stale.
    const epoch = options.fenced === true ? await storage.claimEpoch() : undefined;
    const state = await loadBootState(storage, () => settings.newId(12), settings.id, jobLog, epoch);
    if (settings.id !== undefined && state.meta.reactorId !== settings.id) {
      throw new ReactorError(
        'validation',
        `createReactor: database "${storage.name}" belongs to reactor "${state.meta.reactorId}", not "${settings.id}"; use another database`,
      );
    }
    const reactorId = state.meta.reactorId;
    return {
      epoch,
      storage,
      reactorId,
      hlc: new HybridLogicalClock(reactorId, () => settings.clock.now(), state.meta.hlc),
      counters: {
        ordinal: state.meta.ordinal,
        jobSeq: state.meta.jobSeq,
        knownStreams: new Set(state.streams.map((row) => row.stream)),
        jobLog,
        tails: new Map(),
        meta: state.meta,
        ...(epoch === undefined ? {} : { fence: epoch }),
      },
      pending: state.jobs,
      streams: state.streams,
      sync: await storage.readSync(),
    };
  } catch (error) {
    await storage.close();
    throw classifyError(error);
  }
}
