import type { Observable } from 'rxjs';
import type { AnyActorRef } from 'xstate';
import type { RemoteContext } from '../machines/remote/remoteSetup.js';
import type { Clock } from '../model/clock.js';
import { ReactorError } from '../model/errors.js';
import { regionState } from './remoteStatus.js';

/**
 * Asks every remote to pull, then resolves when each push cursor has reached the local log and each
 * pull round requested now has finished with nothing more to fetch. Rejects when a remote stops on
 * a fatal error (never hangs on one), or after `timeoutMs` on the reactor's clock.
 */
export function settleRemotes(
  remotes: readonly { readonly name: string; readonly ref: AnyActorRef }[],
  localOrdinal: () => number,
  written$: Observable<unknown>,
  timeoutMs: number | undefined,
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
): Promise<void> {
  const wanted = new Map<string, number>();
  for (const { name, ref } of remotes) {
    wanted.set(name, (ref.getSnapshot().context as RemoteContext).pullRequested + 1);
    ref.send({ type: 'sync.pullNow' });
  }
  return new Promise<void>((resolve, reject) => {
    let timer: unknown;
    const subscriptions: { unsubscribe(): void }[] = [];
    const finish = (error?: ReactorError) => {
      if (timer !== undefined) clock.clearTimeout(timer);
      for (const subscription of subscriptions) subscription.unsubscribe();
      if (error === undefined) resolve();
      else reject(error);
    };
    const check = (): boolean => {
      for (const { name, ref } of remotes) {
        const snapshot = ref.getSnapshot() as { value: unknown; context: RemoteContext; status: string };
        if (snapshot.status === 'stopped') continue;
        const push = regionState(snapshot.value, 'push');
        const pull = regionState(snapshot.value, 'pull');
        if (push === 'stopped' || pull === 'stopped') {
          const cause = snapshot.context.lastError;
          const message = `remote "${name}" stopped: ${cause?.message ?? 'unknown error'}`;
          finish(new ReactorError(cause?.kind ?? 'internal', message, { retryable: false }));
          return true;
        }
        const pushDone = push === 'disabled' || (push === 'idle' && snapshot.context.pushCursor >= localOrdinal());
        const pullDone =
          pull === 'disabled' || (pull === 'idle' && snapshot.context.pullServed >= (wanted.get(name) ?? 0));
        if (!pushDone || !pullDone) return false;
      }
      finish();
      return true;
    };
    if (check()) return;
    for (const { ref } of remotes) subscriptions.push(ref.subscribe({ next: check, error: check, complete: check }));
    subscriptions.push(written$.subscribe(() => check()));
    if (timeoutMs !== undefined) {
      timer = clock.setTimeout(
        () => finish(new ReactorError('timeout', `sync.settled: not settled within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }
  });
}
