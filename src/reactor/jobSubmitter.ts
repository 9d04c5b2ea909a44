import type { Subscription } from 'rxjs';
import type { EventBus } from '../actors/eventBus.js';
import { ReactorError } from '../model/errors.js';
import type { Job, JobOutcome } from '../model/types.js';

/** A job's outcome when it succeeded. */
export type JobSuccess = JobOutcome & { ok: true };

interface Waiter {
  /** The document(s) whose view must show the job's effect before the caller hears of it. */
  readonly documents: string | readonly string[];
  readonly promise: Promise<JobSuccess>;
  resolve(outcome: JobSuccess): void;
  reject(error: ReactorError): void;
}

/**
 * Accepts jobs from the public API: numbers them, gathers the jobs of one tick into one
 * `queue.enqueue` event, and settles each caller's promise from `jobs.settled` on the bus — once
 * the document view shows the job's effect (`visible`).
 */
export class JobSubmitter {
  readonly #waiters = new Map<string, Waiter>();
  readonly #subscription: Subscription;
  readonly #newId: () => string;
  readonly #enqueue: (jobs: Job[]) => void;
  #buffer: Job[] = [];
  #seq: number;
  #closed: ReactorError | undefined;

  constructor(ports: {
    readonly bus: EventBus;
    /** Back-edge 3 (see backEdges.ts): the view's work still running for these documents. */
    readonly visible: (documents: string | readonly string[]) => Promise<unknown> | undefined;
    readonly newId: () => string;
    readonly lastSeq: number;
    readonly enqueue: (jobs: Job[]) => void;
  }) {
    this.#newId = ports.newId;
    this.#enqueue = ports.enqueue;
    this.#seq = ports.lastSeq;
    this.#subscription = ports.bus.on('jobs.settled').subscribe((event) => {
      for (const outcome of event.outcomes) {
        const waiter = this.#waiters.get(outcome.jobId);
        if (waiter === undefined) continue;
        this.#waiters.delete(outcome.jobId);
        if (!outcome.ok) {
          waiter.reject(ReactorError.fromData(outcome.error));
          continue;
        }
        // A rebase may still be running for one of the job's documents.
        const pending = ports.visible(waiter.documents);
        if (pending === undefined) waiter.resolve(outcome);
        else pending.then(() => waiter.resolve(outcome));
      }
    });
  }

  /** Jobs accepted but not yet handed to the queue. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Accepts a job; resolves with its outcome, rejects with its error. */
  submit<T extends Job>(make: (id: string, seq: number) => T): Promise<JobSuccess> {
    return this.submitAs(this.#newId(), (seq) => make('', seq), true);
  }

  /**
   * Accepts a job under an id of the caller's (a write id from another tab). `make` gets the
   * job's sequence number; its `id` is replaced by the given one.
   */
  submitAs<T extends Job>(id: string, make: (seq: number) => T, fresh = false): Promise<JobSuccess> {
    const existing = fresh ? undefined : this.#waiters.get(id);
    if (existing !== undefined) return existing.promise;
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    this.#seq += 1;
    const job = { ...make(this.#seq), id } as T;
    const promise = this.expect(job);
    if (this.#buffer.length === 0) queueMicrotask(() => this.flush());
    this.#buffer.push(job);
    return promise;
  }

  /** Resolves with the outcome of a job the queue holds already (one restored from the job log). */
  expect(job: Job): Promise<JobSuccess> {
    const known = this.#waiters.get(job.id);
    if (known !== undefined) return known.promise;
    // After close nobody would settle it: a late caller hears why at once instead of waiting forever.
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const documents = job.kind === 'load' ? [...new Set(job.operations.map((op) => op.documentId))] : job.documentId;
    let settle: Pick<Waiter, 'resolve' | 'reject'> | undefined;
    const promise = new Promise<JobSuccess>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#waiters.set(job.id, { documents, promise, ...(settle as Pick<Waiter, 'resolve' | 'reject'>) });
    return promise;
  }

  /** Hands buffered jobs to the queue now. */
  flush(): void {
    if (this.#buffer.length === 0) return;
    const jobs = this.#buffer;
    this.#buffer = [];
    this.#enqueue(jobs);
  }

  /** Forgets buffered jobs (an abort drops what is only in memory). */
  drop(): void {
    this.#buffer = [];
  }

  /** Rejects every caller still waiting, and stops listening. */
  close(error: ReactorError): void {
    this.#closed = error;
    this.#subscription.unsubscribe();
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
  }
}
