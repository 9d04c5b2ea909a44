import { type CallbackActorLogic, type EventObject, fromEventObservable, fromPromise, type Subscribable } from 'xstate';
import type { DocumentProjector } from '../actors/documentProjector.js';
import type { EventBus } from '../actors/eventBus.js';
import type { createPrepareRunLogic } from '../actors/prepareRunLogic.js';
import type { createSyncLogic } from '../actors/syncLogic.js';
import { documentViewMachine } from '../machines/documentView.js';
import { jobExecutorMachine } from '../machines/jobExecutor.js';
import { jobRunMachine } from '../machines/jobRun.js';
import { operationsStoreMachine, type StoreReply } from '../machines/operationsStore.js';
import { reactorMachine } from '../machines/reactor.js';
import { pingPongMachine, pullMachine, pushMachine } from '../machines/remote/remote.js';
import { syncManagerMachine } from '../machines/syncManager.js';
import { classifyError } from '../model/errors.js';
import type { HybridLogicalClock } from '../model/hlc.js';
import { emptyRecord } from '../model/keys.js';
import type { StoreWrite, WriteResult } from '../model/storeWrite.js';
import type { StorageBackend } from '../storage/backend.js';
import { type CommitCounters, commitGroup } from '../storage/operationsRepository.js';

/** The IO a reactor's machines are given. */
export interface WiringPorts {
  readonly storage: StorageBackend;
  readonly counters: CommitCounters;
  readonly hlc: HybridLogicalClock;
  readonly bus: EventBus;
  /** The read model the `documentView` actor drives. */
  readonly view: DocumentProjector;
  readonly prepareRun: ReturnType<typeof createPrepareRunLogic>;
  readonly syncLogic: ReturnType<typeof createSyncLogic>;
  /** The `replies` actor: answers to writes made from plain async code. */
  readonly replies: { readonly logic: CallbackActorLogic<StoreReply> };
}

/**
 * The root machine with every named actor and action provided: the one place where the pure
 * statecharts meet storage, the event bus and the read model.
 */
export function wireReactorMachine(ports: WiringPorts) {
  const { storage, counters, hlc, bus, view } = ports;
  const commit = fromPromise<WriteResult[], { writes: readonly StoreWrite[] }>(async ({ input }) => {
    try {
      return await commitGroup(storage, input.writes, counters, () => hlc.state);
    } catch (error) {
      throw classifyError(error);
    }
  });
  const syncActors = ports.syncLogic;
  return reactorMachine.provide({
    actions: {
      reportChildFailure: (_, failure) =>
        bus.emit({ type: 'actor.failed', actor: failure.child, error: failure.error }),
    },
    actors: {
      replies: ports.replies.logic,
      operationsStore: operationsStoreMachine.provide({
        actors: { commitGroup: commit },
        actions: {
          publishWritten: (_, params) => {
            const added = params.writes.flatMap((pending) => pending.write.deadLetters ?? []);
            const dropped = params.writes.flatMap((pending) => pending.write.dropDeadLetters ?? []);
            if (added.length > 0 || dropped.length > 0) bus.emit({ type: 'deadLetters.changed', added, dropped });
            const operations = params.results.flatMap((result) => result.stored);
            if (operations.length === 0) return;
            // Keyed by op id (a peer's choice until checked): no prototype.
            const sources = emptyRecord<string>();
            params.results.forEach((result, i) => {
              const source = params.writes[i]?.write.source;
              if (source !== undefined) for (const op of result.stored) sources[op.id] = source;
            });
            bus.emit({ type: 'operations.written', operations, sources });
          },
          reportFailure: (_, params) => bus.emit({ type: 'store.failed', error: params.error }),
        },
      }),
      documentView: documentViewMachine.provide({
        actors: {
          writtenOperations: fromEventObservable(() => bus.on('operations.written') as Subscribable<EventObject>),
        },
        actions: { project: (_, params) => view.apply(params.operations) },
      }),
      jobExecutor: jobExecutorMachine.provide({
        actors: { jobRun: jobRunMachine.provide({ actors: { prepareRun: ports.prepareRun } }) },
        actions: {
          publishOutcomes: (_, params) => bus.emit({ type: 'jobs.settled', outcomes: params.outcomes }),
        },
      }),
      syncManager: syncManagerMachine.provide({
        actors: {
          push: pushMachine.provide({ actors: syncActors }),
          pull: pullMachine.provide({ actors: syncActors }),
          pingPong: pingPongMachine.provide({ actors: syncActors }),
        },
      }),
    },
  });
}
