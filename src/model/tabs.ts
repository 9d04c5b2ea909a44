import type { ReactorErrorData } from './errors.js';

/**
 * What the tabs of one origin that open one database say to each other (see docs/architecture.md,
 * "Tabs"). One tab, the leader, holds a Web Lock and runs the reactor; the others follow it over a
 * BroadcastChannel: they forward calls to it and mirror what it publishes. Every message is plain
 * data, structured-cloned by the BroadcastChannel.
 */

/** The part of the Web Locks API (`navigator.locks`) a tab needs. */
export interface LockManagerLike {
  request<T>(
    name: string,
    options: {
      readonly mode?: 'exclusive';
      readonly ifAvailable?: boolean;
      readonly steal?: boolean;
      readonly signal?: AbortSignal;
    },
    callback: (lock: { readonly name: string } | null) => Promise<T> | T,
  ): Promise<T>;
}

/** The part of `BroadcastChannel` a tab needs. */
export interface TabChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
}

/** A tab's role: it runs the reactor (`leader`) or forwards to the tab that does (`follower`). */
export type TabRole = 'leader' | 'follower';

/** Calls a follower forwards to the leader, by name. */
export const TAB_CALLS = [
  'submit',
  'snapshot',
  'operations',
  'whenIdle',
  'settled',
  'retry',
  'discard',
  'remove',
  'push',
  'pull',
] as const;

/** One of {@link TAB_CALLS}. */
export type TabCall = (typeof TAB_CALLS)[number];

/** Every message between tabs carries this protocol tag and its sender. */
interface Stamped {
  readonly xt: 1;
  readonly from: string;
}

/** Tab messages. */
export type TabMessage = Stamped &
  (
    | { readonly kind: 'hello' }
    | {
        readonly kind: 'leader';
        readonly epoch: number;
        readonly reactorId: string;
        /** False while the leader is still opening the database: followers wait. */
        readonly ready: boolean;
      }
    | { readonly kind: 'call'; readonly id: number; readonly call: TabCall; readonly body: unknown }
    | {
        readonly kind: 'answer';
        readonly to: string;
        readonly id: number;
        readonly epoch: number;
        readonly ok: boolean;
        readonly body?: unknown;
        readonly error?: ReactorErrorData;
        /** The answering tab no longer leads (it was fenced): the call waits for the next leader. */
        readonly moved?: true;
      }
    | { readonly kind: 'event'; readonly epoch: number; readonly seq: number; readonly event: TabEvent }
    | { readonly kind: 'bye' }
  );

/** What the leader publishes to every follower, in order. */
export type TabEvent =
  | { readonly type: 'snapshots'; readonly snapshots: readonly unknown[] }
  | { readonly type: 'statuses'; readonly statuses: readonly unknown[] }
  | { readonly type: 'deadLetters'; readonly deadLetters: readonly unknown[] }
  | { readonly type: 'bus'; readonly event: unknown }
  | { readonly type: 'status'; readonly status: unknown };

/** Whether a value looks like a tab message (other traffic on the channel is ignored). */
export function isTabMessage(value: unknown): value is TabMessage {
  const m = value as { xt?: unknown; from?: unknown; kind?: unknown } | null;
  return typeof m === 'object' && m !== null && m.xt === 1 && typeof m.from === 'string' && typeof m.kind === 'string';
}

/** The Web Lock a database's leader holds. */
export function leaderLockName(dbName: string): string {
  return `xstate-reactor:leader:${dbName}`;
}

/** The BroadcastChannel the tabs of a database talk on. */
export function tabChannelName(dbName: string): string {
  return `xstate-reactor:tabs:${dbName}`;
}
