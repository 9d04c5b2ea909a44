import type { Subscription } from 'rxjs';
import type { SnapshotStore } from '../../actors/snapshotStore.js';
import { classifyError, ReactorError } from '../../model/errors.js';
import type { TabCall, TabEvent } from '../../model/tabs.js';
import type { DocumentSnapshot, Operation, Scope } from '../../model/types.js';
import type { Core, ForwardedJob } from '../core.js';
import type { JobSuccess } from '../jobSubmitter.js';
import type { TabLink } from './tabLink.js';

/** What a follower's snapshot call gets: everything it mirrors, as of event `seq`. */
export interface TabSnapshot {
  readonly seq: number;
  readonly reactorId: string;
  readonly epoch: number;
  readonly snapshots: readonly DocumentSnapshot[];
  readonly statuses: readonly unknown[];
  readonly deadLetters: readonly unknown[];
  readonly status: unknown;
}

/**
 * A snapshot store that tells the leader's server what changed, so followers can mirror it. Until
 * the server listens (while the leader boots) it only stores.
 */
export function publishingStore(inner: SnapshotStore): SnapshotStore & {
  onUpsert: ((snapshots: readonly DocumentSnapshot[]) => void) | undefined;
} {
  const store = {
    onUpsert: undefined as ((snapshots: readonly DocumentSnapshot[]) => void) | undefined,
    get: (documentId: string, branch: string) => inner.get(documentId, branch),
    list: () => inner.list(),
    observe: (documentId: string, branch: string) => inner.observe(documentId, branch),
    upsert(snapshots: readonly DocumentSnapshot[]) {
      inner.upsert(snapshots);
      store.onUpsert?.(snapshots);
    },
  };
  return store;
}

/** A write recorded for a forwarded job, as the job's outcome (for a retry of it). */
function recordedOutcome(job: ForwardedJob, operations: readonly Operation[]): JobSuccess {
  return job.kind === 'mutate'
    ? { jobId: job.id, ok: true, operations: [...operations], stored: operations.length, duplicates: 0, rejected: [] }
    : { jobId: job.id, ok: true, operations: [], stored: 0, duplicates: operations.length, rejected: [] };
}

/**
 * The leader tab's side: answers followers' calls against the reactor core it runs, and publishes
 * what followers mirror (snapshots, remote statuses, dead letters, bus events, status), numbered
 * per epoch so a follower applies them in order after the snapshot it started from.
 */
export class LeaderServer {
  readonly #link: TabLink;
  readonly #core: Core;
  readonly #store: ReturnType<typeof publishingStore>;
  readonly #epoch: number;
  readonly #subscriptions: Subscription[] = [];
  readonly #inFlight = new Map<string, Promise<JobSuccess>>();
  readonly #unlisten: () => void;
  #seq = 0;
  /** Set once this tab no longer leads: answers tell followers to ask the next leader. */
  moved = false;

  constructor(link: TabLink, core: Core, store: ReturnType<typeof publishingStore>) {
    this.#link = link;
    this.#core = core;
    this.#store = store;
    this.#epoch = core.epoch ?? 0;
    const reactor = core.reactor;
    store.onUpsert = (snapshots) => this.#publish({ type: 'snapshots', snapshots });
    this.#subscriptions.push(
      reactor.sync.status$.subscribe((statuses) => this.#publish({ type: 'statuses', statuses })),
      reactor.events$.subscribe((event) => {
        this.#publish({ type: 'bus', event });
        if (event.type === 'deadLetters.changed') {
          this.#publish({ type: 'deadLetters', deadLetters: reactor.sync.deadLetters() });
        }
        if (event.type === 'operations.written' || event.type === 'jobs.settled') {
          this.#publish({ type: 'status', status: reactor.status() });
        }
      }),
    );
    this.#unlisten = link.on((message) => {
      if (message.kind === 'hello') this.announce();
      else if (message.kind === 'call') {
        this.serve(message.call, message.body).then(
          (body) => link.post({ kind: 'answer', to: message.from, id: message.id, epoch: this.#epoch, ok: true, body }),
          (error: unknown) =>
            link.post({
              kind: 'answer',
              to: message.from,
              id: message.id,
              epoch: this.#epoch,
              ok: false,
              error: classifyError(error).toData(),
              ...(this.moved ? { moved: true as const } : {}),
            }),
        );
      }
    });
  }

  /** Tells every tab who leads. */
  announce(): void {
    this.#link.post({ kind: 'leader', epoch: this.#epoch, reactorId: this.#core.reactor.id, ready: true });
  }

  #publish(event: TabEvent): void {
    this.#seq += 1;
    this.#link.post({ kind: 'event', epoch: this.#epoch, seq: this.#seq, event });
  }

  /** Serves one call (from a follower, or from this tab's own calls waiting since it followed). */
  async serve(call: TabCall, body: unknown): Promise<unknown> {
    if (this.moved) throw new ReactorError('conflict', 'this tab no longer leads the database');
    const reactor = this.#core.reactor;
    const args = (body ?? {}) as Record<string, unknown>;
    switch (call) {
      case 'submit': {
        const jobs = args.jobs as readonly ForwardedJob[];
        const outcomes = await Promise.allSettled(jobs.map((job) => this.#submit(job)));
        // This tab stepped down while the jobs ran: the caller sends them to the next leader, which
        // joins or answers from its record each one that got this far (they carry write ids).
        if (this.moved) throw new ReactorError('conflict', 'this tab no longer leads the database');
        return outcomes.map((outcome) =>
          outcome.status === 'fulfilled'
            ? outcome.value
            : { ok: false as const, error: classifyError(outcome.reason).toData() },
        );
      }
      case 'snapshot':
        return {
          seq: this.#seq,
          reactorId: reactor.id,
          epoch: this.#epoch,
          snapshots: this.#store.list(),
          statuses: reactor.sync.list(),
          deadLetters: reactor.sync.deadLetters(),
          status: reactor.status(),
        } satisfies TabSnapshot;
      case 'operations':
        return reactor.operations(args.documentId as string, {
          scope: args.scope as Scope,
          branch: args.branch as string,
        });
      case 'whenIdle':
        return reactor.whenIdle();
      case 'settled':
        return reactor.sync.settled(args.timeoutMs === undefined ? {} : { timeoutMs: args.timeoutMs as number });
      case 'retry':
        return reactor.sync.retry(args.id as string);
      case 'discard':
        return reactor.sync.discard(args.id as string);
      case 'remove':
        return reactor.sync.remove(args.name as string);
      case 'push':
        return reactor.endpoint.push(args.request, args.peer === undefined ? undefined : { peer: args.peer as string });
      case 'pull':
        return reactor.endpoint.pull(args.request, args.peer === undefined ? undefined : { peer: args.peer as string });
    }
  }

  /** A forwarded job, exactly once: joined if it runs, answered from its record if it committed. */
  #submit(job: ForwardedJob): Promise<JobSuccess> {
    const running = this.#inFlight.get(job.id);
    if (running !== undefined) return running;
    const work = (async (): Promise<JobSuccess> => {
      const record = await this.#core.recordedWrite(job.id);
      if (record !== undefined) return recordedOutcome(job, record.operations);
      if (this.moved) throw new ReactorError('conflict', 'this tab no longer leads the database');
      return this.#core.submitForwarded(job);
    })();
    this.#inFlight.set(job.id, work);
    void work.then(
      () => this.#inFlight.delete(job.id),
      () => this.#inFlight.delete(job.id),
    );
    return work;
  }

  close(): void {
    this.#store.onUpsert = undefined;
    this.#unlisten();
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
  }
}
