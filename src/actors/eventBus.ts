import { filter, type Observable, Subject } from 'rxjs';
import type { ReactorErrorData } from '../model/errors.js';
import type { JobOutcome, StoredOperation } from '../model/types.js';

/** Every event that crosses the bus. Plain data only. */
export type BusEvent =
  | {
      readonly type: 'operations.written';
      /** Ops stored by one group commit, in ordinal order. */
      readonly operations: readonly StoredOperation[];
      /** Which remote each op came from, if any (`op id → remote name`). */
      readonly sources: Readonly<Record<string, string>>;
    }
  | { readonly type: 'jobs.settled'; readonly outcomes: readonly JobOutcome[] }
  | { readonly type: 'store.failed'; readonly error: ReactorErrorData }
  | { readonly type: 'document.rebased'; readonly stream: string; readonly replayed: number };

/** The bus event of a given type. */
export type BusEventOf<T extends BusEvent['type']> = Extract<BusEvent, { type: T }>;

/** A typed rxjs event bus: `emit(event)`, `on(type)`. */
export interface EventBus {
  emit(event: BusEvent): void;
  on<T extends BusEvent['type']>(type: T): Observable<BusEventOf<T>>;
  readonly events$: Observable<BusEvent>;
  complete(): void;
}

/** Creates an event bus. Delivery is synchronous, in emit order. */
export function createEventBus(): EventBus {
  const subject = new Subject<BusEvent>();
  return {
    emit: (event) => subject.next(event),
    on: <T extends BusEvent['type']>(type: T) =>
      subject.pipe(filter((event): event is BusEventOf<T> => event.type === type)),
    events$: subject.asObservable(),
    complete: () => subject.complete(),
  };
}
