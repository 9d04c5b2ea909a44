import { useMemo, useSyncExternalStore } from 'react';
import type { RemoteStatus, SyncApi } from '../reactor/syncApi.js';

/** What {@link useSyncStatus} needs of a reactor. */
export interface HasSync {
  readonly sync: Pick<SyncApi, 'status' | 'list' | 'status$'>;
}

/** A value read from `sync.status$`, kept as the same object while its content is unchanged. */
interface StatusStore<T> {
  readonly subscribe: (onChange: () => void) => () => void;
  readonly getSnapshot: () => T;
}

function sameStatus(a: RemoteStatus | undefined, b: RemoteStatus | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a) as (keyof RemoteStatus)[];
  return keys.length === Object.keys(b).length && keys.every((key) => Object.is(a[key], b[key]));
}

/** `next`, reusing `previous` (or its unchanged entries) so unchanged statuses keep their identity. */
function reuseList(previous: readonly RemoteStatus[], next: readonly RemoteStatus[]): readonly RemoteStatus[] {
  if (previous.length === next.length && previous.every((status, i) => sameStatus(status, next[i]))) return previous;
  const byName = new Map(previous.map((status) => [status.name, status]));
  return next.map((status) => {
    const old = byName.get(status.name);
    return old !== undefined && sameStatus(old, status) ? old : status;
  });
}

function createStatusStore<T>(
  sync: HasSync['sync'],
  initial: T,
  pick: (statuses: readonly RemoteStatus[], previous: T) => T,
): StatusStore<T> {
  let current = initial;
  return {
    getSnapshot: () => current,
    subscribe(onChange) {
      // status$ replays the latest list on subscribe, so a change between render and subscribe is not missed.
      const subscription = sync.status$.subscribe((statuses) => {
        const next = pick(statuses, current);
        if (next !== current) {
          current = next;
          onChange();
        }
      });
      return () => subscription.unsubscribe();
    },
  };
}

/** Every remote's sync status, by name; re-renders when any of them changes. */
export function useSyncStatus(reactor: HasSync): readonly RemoteStatus[];
/** One remote's sync status (`undefined` while no such remote exists); re-renders when it changes. */
export function useSyncStatus(reactor: HasSync, name: string): RemoteStatus | undefined;
/**
 * Sync status as React state, from `reactor.sync.status$`: `{ phase, pending, lag, lastError, … }`
 * of one remote, or of all of them when `name` is omitted. The result stays the same object while
 * nothing in it changed, so re-renders happen only on real changes.
 */
export function useSyncStatus(reactor: HasSync, name?: string): RemoteStatus | undefined | readonly RemoteStatus[] {
  const { sync } = reactor;
  const store = useMemo<StatusStore<RemoteStatus | undefined | readonly RemoteStatus[]>>(() => {
    if (name === undefined) {
      return createStatusStore<readonly RemoteStatus[]>(sync, sync.list(), (statuses, previous) =>
        reuseList(previous, statuses),
      );
    }
    return createStatusStore<RemoteStatus | undefined>(sync, sync.status(name), (statuses, previous) => {
      const next = statuses.find((status) => status.name === name);
      return sameStatus(previous, next) ? previous : next;
    });
  }, [sync, name]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
