import type { AnyActorRef } from 'xstate';
import type { RemoteContext } from '../machines/remote/remoteSetup.js';
import type { ReactorErrorData } from '../model/errors.js';
import type { RemoteRow } from '../model/rows.js';
import type { ConnectionState, SyncMode } from '../model/sync.js';

/** A remote's state as the app sees it. */
export interface RemoteStatus {
  readonly name: string;
  readonly mode: SyncMode;
  /** `detached` (no channel since start), `idle`, `syncing`, `backingOff`, `offline` or `stopped`. */
  readonly phase: 'detached' | 'idle' | 'syncing' | 'backingOff' | 'offline' | 'stopped';
  /** State of each region (`disabled` when the mode does not use it). */
  readonly push: string;
  readonly pull: string;
  /** Local ops not yet sent and acknowledged (ordinal distance). */
  readonly pending: number;
  readonly pushedCursor: number;
  readonly pulledCursor: number;
  /** How long the oldest unacknowledged local write has waited (ms; 0 when caught up). */
  readonly lag: number;
  readonly pushed: number;
  readonly pulled: number;
  readonly retries: number;
  readonly lastError: ReactorErrorData | undefined;
  /** The transport's connection, when it has one (WebSocket): `online`, `offline`, … */
  readonly connection?: ConnectionState;
}

/** The state of one region of a remote's statechart (`disabled` when the mode lacks it). */
export function regionState(value: unknown, region: 'push' | 'pull'): string {
  const states = value as Record<string, unknown> | undefined;
  const state = states?.[region];
  if (state === undefined) return 'disabled';
  if (typeof state === 'string') return state;
  return Object.keys(state as object)[0] ?? 'unknown';
}

function phaseOf(push: string, pull: string): RemoteStatus['phase'] {
  const both = [push, pull];
  if (both.includes('stopped')) return 'stopped';
  if (both.includes('offline') || both.includes('probing')) return 'offline';
  if (both.includes('backingOff')) return 'backingOff';
  if (both.some((s) => s === 'sending' || s === 'debouncing' || s === 'pulling' || s === 'starting')) return 'syncing';
  return 'idle';
}

/** The status of a remote that has no channel since the reactor started. */
export function detachedStatus(row: RemoteRow): RemoteStatus {
  return {
    name: row.name,
    mode: row.mode,
    phase: 'detached',
    push: 'detached',
    pull: 'detached',
    pending: 0,
    pushedCursor: 0,
    pulledCursor: 0,
    lag: 0,
    pushed: 0,
    pulled: 0,
    retries: 0,
    lastError: undefined,
  };
}

/** A running remote's status, from its statechart's snapshot. */
export function describeRemote(
  ref: AnyActorRef,
  localOrdinal: number,
  behindSince: number | undefined,
  now: number,
): RemoteStatus {
  const snapshot = ref.getSnapshot() as { value: unknown; context: RemoteContext };
  const context = snapshot.context;
  const push = regionState(snapshot.value, 'push');
  const pull = regionState(snapshot.value, 'pull');
  const pending = push === 'disabled' ? 0 : Math.max(0, localOrdinal - context.pushCursor);
  return {
    name: context.name,
    mode: context.mode,
    phase: phaseOf(push, pull),
    push,
    pull,
    pending,
    pushedCursor: context.pushCursor,
    pulledCursor: context.pullCursor,
    lag: pending === 0 || behindSince === undefined ? 0 : now - behindSince,
    pushed: context.pushed,
    pulled: context.pulled,
    retries: context.retries,
    lastError: context.lastError,
  };
}
