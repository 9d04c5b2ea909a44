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
}

interface RefLike {
  readonly id: string;
  readonly sessionId: string;
  readonly systemId?: string;
}

/** JSON replacer: actor refs become their ids; XState internals (`_` keys) and functions are left out. */
function replacer(this: unknown, key: string, value: unknown): unknown {
  if (key.startsWith('_') || typeof value === 'function') return undefined;
  if (typeof value === 'object' && value !== null && 'sessionId' in value && 'send' in value) {
    const ref = value as unknown as RefLike;
    return { actor: ref.id, sessionId: ref.sessionId };
  }
  return value;
}

function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value, replacer));
}

/**
 * Turns an XState inspection event into serialisable data (what a trace file or a WebSocket
 * inspector receives). Snapshots keep `value`, `status` and `context`; actor refs become ids.
 */
export function toInspectionRecord(event: InspectionEvent): InspectionRecord {
  const ref = event.actorRef as unknown as RefLike;
  const record: Record<string, unknown> = {
    type: event.type,
    rootId: event.rootId,
    actorId: ref.id,
    sessionId: ref.sessionId,
  };
  if (ref.systemId !== undefined) record.systemId = ref.systemId;
  if (event.type === '@xstate.event') {
    const source = event.sourceRef as unknown as RefLike | undefined;
    if (source !== undefined) record.sourceId = source.sessionId;
    record.event = plain(event.event);
  }
  if (event.type === '@xstate.snapshot') {
    const snapshot = event.snapshot as { value?: unknown; status?: unknown; context?: unknown };
    record.event = plain(event.event);
    record.snapshot = plain({ value: snapshot.value, status: snapshot.status, context: snapshot.context });
  }
  if (event.type === '@xstate.action') record.action = plain(event.action);
  return record as unknown as InspectionRecord;
}
