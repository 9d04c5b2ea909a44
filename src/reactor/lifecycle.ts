import type { DocumentProjector } from '../actors/documentProjector.js';
import type { EventBus } from '../actors/eventBus.js';
import type { RecentOperations } from '../actors/recentOperations.js';
import { SYSTEM_IDS } from '../machines/systemIds.js';
import { ReactorError } from '../model/errors.js';
import type { StorageBackend } from '../storage/backend.js';
import type { CommitCounters } from '../storage/operationsRepository.js';
import type { JobSubmitter } from './jobSubmitter.js';
import { whenQuiet } from './quiescence.js';
import type { SystemRef } from './system.js';
import type { ReactorStatus, StopOptions } from './types.js';

interface QueueView {
  readonly runningCount: number;
  readonly waiting: number;
}
interface StoreView {
  readonly value: string;
  readonly context: { readonly pending: readonly unknown[]; readonly commits: number };
}

/** Whether the reactor runs, and the guard every public call goes through. */
export function createPhase(reactorId: string) {
  let phase: ReactorStatus['phase'] = 'running';
  return {
    get current() {
      return phase;
    },
    set(next: ReactorStatus['phase']) {
      phase = next;
    },
    /** Throws `stopped` unless running (a caller's mistake: not retryable). */
    ensureRunning(what: string) {
      if (phase !== 'running') {
        throw new ReactorError(
          'stopped',
          `${what}: reactor "${reactorId}" is ${phase}; open it again with createReactor`,
        );
      }
    },
    /** Throws `stopped` unless running, retryably (a peer may try again once the reactor is back). */
    ensureServing(what: string) {
      if (phase !== 'running') {
        throw new ReactorError('stopped', `${what}: reactor "${reactorId}" is ${phase}`, { retryable: true });
      }
    },
  };
}

/** What the lifecycle reaches: the system, the submitter, the read model and what must close. */
export interface LifecycleParts {
  readonly reactorId: string;
  readonly root: {
    send(event: { type: 'reactor.stop'; drain: boolean } | { type: 'reactor.stopped' }): void;
    stop(): void;
  };
  readonly system: SystemRef;
  readonly bus: EventBus;
  readonly view: DocumentProjector;
  readonly submitter: JobSubmitter;
  readonly counters: CommitCounters;
  readonly phase: ReturnType<typeof createPhase>;
  readonly storage: StorageBackend;
  /** Closed in this order when the reactor stops. */
  readonly closeSync: () => Promise<void>;
  readonly closeReplies: (error: ReactorError) => void;
  readonly recent: RecentOperations;
}

/** `status()`, `whenIdle()` and `stop()`: the reactor's progress and end. */
export function createLifecycle(parts: LifecycleParts) {
  const { system, bus, view, submitter, phase } = parts;
  const queueView = () => system.get(SYSTEM_IDS.queue)?.getSnapshot().context as QueueView | undefined;
  const storeView = () => system.get(SYSTEM_IDS.operationsStore)?.getSnapshot() as StoreView | undefined;

  /** No job running (nor waiting, when `drain`), the store idle with nothing pending. */
  const quiet = (drain: boolean) => () => {
    const queue = queueView();
    const store = storeView();
    return (
      queue !== undefined &&
      queue.runningCount === 0 &&
      (!drain || queue.waiting === 0) &&
      store?.value === 'idle' &&
      store.context.pending.length === 0
    );
  };
  /** Waits for the system to be quiet and the view to have folded everything published. */
  const settle = async (drain: boolean) => {
    const actors = [SYSTEM_IDS.queue, SYSTEM_IDS.operationsStore, SYSTEM_IDS.jobExecutor].map((id) => system.get(id));
    const done = quiet(drain);
    do {
      await bus.idle();
      await whenQuiet(actors, done);
      await bus.idle();
      await view.settledAll();
    } while (!done() || submitter.buffered > 0);
  };

  let stopping: Promise<void> | undefined;
  return {
    status(): ReactorStatus {
      const queue = queueView();
      const store = storeView();
      const waiting = (queue?.waiting ?? 0) + submitter.buffered;
      const running = queue?.runningCount ?? 0;
      const pending = store?.context.pending.length ?? 0;
      const committing = store?.value === 'committing';
      return {
        phase: phase.current,
        role: 'leader',
        ordinal: parts.counters.ordinal,
        jobs: { waiting, running },
        store: { pending, committing, commits: store?.context.commits ?? 0 },
        idle: waiting === 0 && running === 0 && pending === 0 && !committing,
      };
    },

    async whenIdle(): Promise<void> {
      phase.ensureRunning('whenIdle');
      submitter.flush();
      await settle(true);
    },

    stop(options: StopOptions = {}): Promise<void> {
      if (stopping !== undefined) return stopping;
      phase.set('stopping');
      stopping = (async () => {
        await parts.closeSync();
        if (options.abort === true) {
          submitter.drop();
        } else {
          submitter.flush();
          parts.root.send({ type: 'reactor.stop', drain: options.drain !== false });
          await settle(options.drain !== false);
          parts.root.send({ type: 'reactor.stopped' });
        }
        parts.root.stop();
        phase.set('stopped');
        const error = new ReactorError(
          'stopped',
          options.abort === true
            ? `reactor "${parts.reactorId}" was aborted before this job completed; if it was persisted, it runs when the reactor reopens`
            : `reactor "${parts.reactorId}" stopped before this job ran; it is persisted and runs when the reactor reopens`,
        );
        submitter.close(error);
        parts.closeReplies(error);
        parts.recent.close();
        bus.complete();
        await parts.storage.close();
      })();
      return stopping;
    },
  };
}
