import type { InspectionEvent } from 'xstate';

/** A recorded inspection event: plain JSON, one line of a trace. */
export interface InspectionRecord {
  readonly type: InspectionEvent['type'];
  readonly rootId: string;
  readonly actorId: string;
  readonly sessionId: string;
  readonly systemId?: string;
  readonly sourceId?: string;
  readonly event?: unknown;
  readonly snapshot?: unknown;
  readonly action?: unknown;
  /** Actor events: the actor's name, its parent's session and, for machines, the statechart as JSON. */
  readonly name?: string;
  readonly parentId?: string;
  readonly definition?: string;
}

interface RefLike {
  readonly id: string;
  readonly sessionId: string;
  readonly systemId?: string;
  readonly _parent?: RefLike;
  readonly logic?: { toJSON?: () => unknown };
  getSnapshot?: () => unknown;
}

/** An actor's snapshot, or nothing while it is still initialising (its first snapshot event follows). */
function currentSnapshot(ref: RefLike): unknown {
  try {
    return ref.getSnapshot?.();
  } catch {
    return undefined;
  }
}

/** The parts of a snapshot an inspector shows. */
function snapshotView(snapshot: unknown): { value?: unknown; status?: unknown; context?: unknown } {
  const s = snapshot as { value?: unknown; status?: unknown; context?: unknown } | undefined;
  return { value: s?.value, status: s?.status, context: s?.context };
}

/** JSON replacer: actor refs become names; XState internals (`_` keys) and functions are left out. */
function replacerFor(name: (sessionId: string) => string) {
  return function replacer(this: unknown, key: string, value: unknown): unknown {
    if (key.startsWith('_') || typeof value === 'function') return undefined;
    if (typeof value === 'object' && value !== null && 'sessionId' in value && 'send' in value) {
      return { actor: name((value as unknown as RefLike).sessionId) };
    }
    return value;
  };
}

/**
 * Turns an XState inspection event into serialisable data (what a trace file or a WebSocket
 * inspector receives). Snapshots keep `value`, `status` and `context`; actor refs become names
 * (`name` maps session ids; by default they stay as they are).
 */
export function toInspectionRecord(
  event: InspectionEvent,
  name: (sessionId: string) => string = (sessionId) => sessionId,
): InspectionRecord {
  const replacer = replacerFor(name);
  const plain = (value: unknown): unknown =>
    value === undefined ? undefined : JSON.parse(JSON.stringify(value, replacer));
  const ref = event.actorRef as unknown as RefLike;
  const record: Record<string, unknown> = {
    type: event.type,
    rootId: name(event.rootId),
    actorId: ref.id,
    sessionId: name(ref.sessionId),
  };
  if (ref.systemId !== undefined) record.systemId = ref.systemId;
  if (event.type === '@xstate.event') {
    const source = event.sourceRef as unknown as RefLike | undefined;
    if (source !== undefined) record.sourceId = name(source.sessionId);
    record.event = plain(event.event);
  }
  if (event.type === '@xstate.snapshot') {
    record.event = plain(event.event);
    record.snapshot = plain(snapshotView(event.snapshot));
  }
  if (event.type === '@xstate.actor') {
    record.name = ref.id;
    if (ref._parent !== undefined) record.parentId = name(ref._parent.sessionId);
    record.snapshot = plain(snapshotView(currentSnapshot(ref)));
    const definition = ref.logic?.toJSON?.();
    if (definition !== undefined) record.definition = JSON.stringify(definition);
  }
  if (event.type === '@xstate.action') record.action = plain(event.action);
  return record as unknown as InspectionRecord;
}
