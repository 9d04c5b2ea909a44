import { filter, type Observable, Subject } from 'rxjs';
import type { ReactorErrorData } from '../model/errors.js';
import type { DeadLetterRow } from '../model/rows.js';
import type { JobOutcome, StoredOperation } from '../model/types.js';

/** Every event that crosses the bus. Plain data only. */
export type BusEvent =
  | {
      readonly type: 'operations.written';
      /** Ops stored by one group commit, in ordinal order. */
      readonly operations: readonly StoredOperation[];
      /** Which remote each op came from, if any (`op id → remote name`; a prototype-less record). */
      readonly sources: Readonly<Record<string, string>>;
    }
  | { readonly type: 'jobs.settled'; readonly outcomes: readonly JobOutcome[] }
  | { readonly type: 'store.failed'; readonly error: ReactorErrorData }
  | { readonly type: 'document.rebased'; readonly stream: string; readonly replayed: number }
  | { readonly type: 'view.failed'; readonly documentId: string; readonly error: ReactorErrorData }
  /** This tab's role on a database shared with other tabs changed (see docs/architecture.md, Tabs). */
  | { readonly type: 'tab.role'; readonly role: 'leader' | 'follower' }
  /** A long-lived actor of the reactor failed (a bug): it is gone until the reactor reopens. */
  | { readonly type: 'actor.failed'; readonly actor: string; readonly error: ReactorErrorData }
  | {
      readonly type: 'deadLetters.changed';
      readonly added: readonly DeadLetterRow[];
      readonly dropped: readonly string[];
    };

/** The bus event of a given type. */
export type BusEventOf<T extends BusEvent['type']> = Extract<BusEvent, { type: T }>;

/** A typed rxjs event bus: `emit(event)`, `on(type)`. */
export interface EventBus {
  /** Queues an event; subscribers get it in a microtask, in emit order. */
  emit(event: BusEvent): void;
  /** Resolves once every event emitted so far has been delivered. */
  idle(): Promise<void>;
  on<T extends BusEvent['type']>(type: T): Observable<BusEventOf<T>>;
  readonly events$: Observable<BusEvent>;
  complete(): void;
}

/**
 * Creates an event bus. Delivery is deferred to a microtask (in emit order), so an actor that
 * emits never runs subscribers, and the actors behind them, inside its own transition.
 */
export function createEventBus(): EventBus {
  const subject = new Subject<BusEvent>();
  let queue: BusEvent[] = [];
  let scheduled = false;
  let waiters: (() => void)[] = [];
  const deliver = () => {
    for (let i = 0; i < queue.length; i++) subject.next(queue[i] as BusEvent);
    queue = [];
    scheduled = false;
    const resolved = waiters;
    waiters = [];
    for (const resolve of resolved) resolve();
  };
  return {
    emit: (event) => {
      queue.push(event);
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(deliver);
      }
    },
    idle: () => (scheduled ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve()),
    on: <T extends BusEvent['type']>(type: T) =>
      subject.pipe(filter((event): event is BusEventOf<T> => event.type === type)),
    events$: subject.asObservable(),
    complete: () => subject.complete(),
  };
}
