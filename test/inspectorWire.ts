/**
 * What the Stately inspector receives from `@statelyai/inspect` (over its WebSocket or by
 * postMessage), read back the way its UI does: an actor tree from `@xstate.actor` messages and
 * each actor's snapshots in order. Plain functions, no IO: shared by the Node and browser tests.
 */

/** One inspector message (the fields these tests read; the wire carries a few more). */
export interface WireEvent {
  readonly type: string;
  readonly _version: string;
  readonly sessionId: string;
  readonly rootId?: string;
  readonly parentId?: string;
  readonly name?: string;
  readonly definition?: string;
  readonly snapshot?: WireSnapshot;
  readonly event?: { readonly type?: string };
}

/** A snapshot as sent: plain JSON of the actor's snapshot. */
export interface WireSnapshot {
  readonly status?: string;
  readonly value?: unknown;
  readonly context?: Record<string, unknown>;
}

/** An actor as the inspector shows it. */
export interface InspectedActor {
  readonly sessionId: string;
  readonly name: string;
  readonly rootId: string | undefined;
  readonly parentId: string | undefined;
  /** The statechart as JSON (machines only), so the inspector can draw it. */
  readonly definition: string | undefined;
  /** Every snapshot sent for this actor, oldest first. */
  readonly snapshots: readonly WireSnapshot[];
}

/** Whether a posted or received value is an inspector message (`@statelyai/inspect` tags each with `_version`). */
export function isWireEvent(data: unknown): data is WireEvent {
  const event = data as Partial<WireEvent> | null;
  return (
    typeof event === 'object' &&
    event !== null &&
    typeof event.type === 'string' &&
    typeof event._version === 'string' &&
    typeof event.sessionId === 'string'
  );
}

/** The actors an inspector knows of, by session id. */
export type ActorTree = Map<string, InspectedActor>;

/** The actors the messages announce, by session id, each with the snapshots sent for it. */
export function actorTree(events: readonly WireEvent[]): ActorTree {
  const snapshots = new Map<string, WireSnapshot[]>();
  for (const event of events) {
    if (event.type !== '@xstate.snapshot' || event.snapshot === undefined) continue;
    const list = snapshots.get(event.sessionId) ?? [];
    list.push(event.snapshot);
    snapshots.set(event.sessionId, list);
  }
  const actors = new Map<string, InspectedActor>();
  for (const event of events) {
    if (event.type !== '@xstate.actor') continue;
    actors.set(event.sessionId, {
      sessionId: event.sessionId,
      name: event.name ?? event.sessionId,
      rootId: event.rootId,
      parentId: event.parentId,
      definition: event.definition,
      snapshots: snapshots.get(event.sessionId) ?? [],
    });
  }
  return actors;
}

/** Root actors (no parent) with this name. */
export function roots(tree: ActorTree, name: string): InspectedActor[] {
  return [...tree.values()].filter((actor) => actor.parentId === undefined && actor.name === name);
}

/** Names of an actor's children, sorted. */
export function childNames(tree: ActorTree, parent: InspectedActor): string[] {
  return [...tree.values()]
    .filter((actor) => actor.parentId === parent.sessionId)
    .map((actor) => actor.name)
    .sort();
}

/** The child of `parent` named `name`, if the inspector has seen it. */
export function child(tree: ActorTree, parent: InspectedActor, name: string) {
  return [...tree.values()].find((actor) => actor.parentId === parent.sessionId && actor.name === name);
}

/** The remote actors the inspector shows under a reactor root's `syncManager`, by name, sorted. */
export function remotesOf(tree: ActorTree, root: InspectedActor): string[] {
  const manager = child(tree, root, 'syncManager');
  return manager === undefined ? [] : childNames(tree, manager);
}

/** The actor of remote `name` (`remote:<name>` under a `syncManager`) in any reactor the inspector shows. */
export function remoteNamed(tree: ActorTree, name: string): InspectedActor | undefined {
  for (const root of roots(tree, 'reactor')) {
    const manager = child(tree, root, 'syncManager');
    const remote = manager === undefined ? undefined : child(tree, manager, `remote:${name}`);
    if (remote !== undefined) return remote;
  }
  return undefined;
}

/** A state value as a path: `'idle'`, or `'pulling.fetching'` for `{ pulling: 'fetching' }`. */
function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const [key, inner] = Object.entries(value)[0] ?? ['?', undefined];
    return inner === undefined || (typeof inner === 'object' && Object.keys(inner as object).length === 0)
      ? key
      : `${key}.${statePath(inner)}`;
  }
  return String(value);
}

/** The states one region of a parallel machine went through, repeats in a row collapsed. */
export function regionStates(actor: InspectedActor | undefined, region: string): string[] {
  const states: string[] = [];
  for (const snapshot of actor?.snapshots ?? []) {
    const value = (snapshot.value as Record<string, unknown> | undefined)?.[region];
    if (value === undefined) continue;
    const path = statePath(value);
    if (states.at(-1) !== path) states.push(path);
  }
  return states;
}

/**
 * The longest prefix of `expected` found in `states` in order (other states may come between):
 * `expected` itself when the actor went through all of it.
 */
export function inOrder(states: readonly string[], expected: readonly string[]): string[] {
  let next = 0;
  for (const state of states) if (next < expected.length && state === expected[next]) next += 1;
  return expected.slice(0, next);
}

/** The last snapshot the inspector holds for an actor. */
export function lastSnapshot(actor: InspectedActor | undefined): WireSnapshot | undefined {
  return actor?.snapshots.at(-1);
}
