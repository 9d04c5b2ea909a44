import type { AnyActorRef } from 'xstate';

/**
 * Resolves when `done()` holds, checking after every snapshot of the given actors (no polling,
 * no timers).
 */
export function whenQuiet(actors: readonly (AnyActorRef | undefined)[], done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (done()) {
      resolve();
      return;
    }
    const subscriptions = actors
      .filter((actor): actor is AnyActorRef => actor !== undefined)
      .map((actor) =>
        actor.subscribe({
          next: () => {
            if (!done()) return;
            for (const subscription of subscriptions) subscription.unsubscribe();
            resolve();
          },
          error: () => resolve(),
          complete: () => resolve(),
        }),
      );
  });
}
