import type { AnyActorRef } from 'xstate';
import type { DocumentViewEvent } from '../machines/documentView.js';
import type { JobExecutorEvent } from '../machines/jobExecutor.js';
import type { OperationsStoreEvent, StoreReply } from '../machines/operationsStore.js';
import type { QueueEvent } from '../machines/queue.js';
import type { ReactorEvent } from '../machines/reactor.js';
import type { SyncManagerEvent } from '../machines/syncManager.js';
import type { SystemId } from '../machines/systemIds.js';

/** The events each long-lived actor accepts, by systemId. */
export interface SystemEvents {
  readonly reactor: ReactorEvent;
  readonly queue: QueueEvent;
  readonly jobExecutor: JobExecutorEvent;
  readonly operationsStore: OperationsStoreEvent;
  readonly documentView: DocumentViewEvent;
  readonly syncManager: SyncManagerEvent;
  readonly replies: StoreReply;
}

/**
 * The reactor's one actor system as the composition reaches it: by systemId, once it runs. The
 * ports are built before the system exists (the machines are provided with them), so they hold
 * this reference and use it only after `attach`.
 */
export interface SystemRef {
  /**
   * Sends an event to a long-lived actor (typed by the actor's machine). Once the system has
   * stopped (or an aborted reactor's last microtasks run) there is no one to tell: the event is
   * dropped, and `false` says so.
   */
  send<Id extends SystemId>(id: Id, event: SystemEvents[Id]): boolean;
  /** A long-lived actor, while the system runs. */
  get(id: SystemId): AnyActorRef | undefined;
  /** Binds the started root actor. */
  attach(root: AnyActorRef): void;
}

/** A {@link SystemRef} bound later. */
export function systemRef(): SystemRef {
  let root: AnyActorRef | undefined;
  const get = (id: SystemId): AnyActorRef | undefined => root?.system.get(id);
  return {
    send<Id extends SystemId>(id: Id, event: SystemEvents[Id]) {
      const actor = get(id);
      if (actor === undefined) return false;
      actor.send(event);
      return true;
    },
    get,
    attach(actor) {
      root = actor;
    },
  };
}
