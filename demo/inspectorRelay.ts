import { createBrowserInspector } from '@statelyai/inspect';
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';

/** Forwards inspection events to the Stately inspector once it is opened. */
export interface InspectorRelay {
  /** Pass this as the reactors' `inspect` option. */
  readonly inspect: Observer<InspectionEvent>;
  /** Opens the inspector (a new window) on the actor systems of `roots`; again: brings it back. */
  open(roots: readonly AnyActorRef[]): void;
  readonly isOpen: boolean;
}

/** Every live actor under `root` (itself first), parents before children. */
function liveActors(root: AnyActorRef): AnyActorRef[] {
  const children = (root.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children ?? {};
  return [root, ...Object.values(children).flatMap((child) => (child === undefined ? [] : liveActors(child)))];
}

/**
 * The reactors start before anyone asks for the inspector, and serialising every snapshot for a
 * window that is not there would cost on every event. So nothing is forwarded until `open`, which
 * registers every live actor with the inspector (with its current snapshot) and then forwards
 * events live. The inspector is a web page on stately.ai: offline, its window shows an error and
 * the events go nowhere, which is harmless.
 */
export function createInspectorRelay(): InspectorRelay {
  let inspector: ReturnType<typeof createBrowserInspector> | undefined;
  return {
    inspect: {
      next(event) {
        inspector?.inspect.next?.(event);
      },
    },
    open(roots) {
      if (inspector !== undefined) {
        inspector.start();
        return;
      }
      // Events queue until the inspector page says it is connected; keep enough for every actor.
      inspector = createBrowserInspector({ maxDeferredEvents: 5000 });
      for (const root of roots) {
        for (const actorRef of liveActors(root)) {
          inspector.inspect.next?.({ type: '@xstate.actor', actorRef, rootId: root.sessionId });
        }
      }
    },
    get isOpen() {
      return inspector !== undefined;
    },
  };
}
