import { map, type Observable } from 'rxjs';
import {
  type Endpoint,
  type Poke,
  type PullResponse,
  type PushResponse,
  parsePullRequest,
  parsePushRequest,
  type RequestContext,
} from '../model/sync.js';
import type { JobOutcome, LoadJob } from '../model/types.js';
import type { ScanOperations } from '../storage/syncRepository.js';
import type { EventBus } from './eventBus.js';

/** What an endpoint needs. */
export interface EndpointPorts {
  readonly reactorId: string;
  readonly scan: ScanOperations;
  readonly bus: EventBus;
  readonly maxPushBatch: number;
  readonly maxPullLimit: number;
  /** The last ordinal stored here. */
  readonly currentOrdinal: () => number;
  readonly submitLoad: (job: Omit<LoadJob, 'kind' | 'id' | 'seq'>) => Promise<JobOutcome & { ok: true }>;
  /** Throws (retryably) when the reactor is not running. */
  readonly ensureServing: (what: string) => void;
  /** Accept `local`-scope ops pushed here (`createReactor({ receiveLocal })`); default false. */
  readonly receiveLocal?: boolean;
}

/**
 * What a reactor serves to others. Requests are parsed at this boundary: a malformed request is a
 * `protocol` error and writes nothing; in a push, each op is checked on its own and a bad one is
 * refused (answered in `rejected`) while the others are stored. Pushed ops enter the queue as one
 * `load` job per request (in a lane per sender, so a sender's pushes apply in order), and the push
 * is acknowledged only once they are committed. The sender is the peer the transport names
 * (`context.peer`): a request body's `from` is only trusted when there is no transport to ask.
 */
export function createEndpoint(ports: EndpointPorts): Endpoint {
  const pokes: Observable<Poke> = ports.bus
    .on('operations.written')
    .pipe(map((event) => ({ cursor: event.operations.at(-1)?.ordinal ?? 0 })));
  const policy = { acceptLocal: ports.receiveLocal === true };
  return {
    async push(raw: unknown, context?: RequestContext): Promise<PushResponse> {
      ports.ensureServing('push');
      const request = parsePushRequest(raw, ports.maxPushBatch, policy);
      const sender = context?.peer ?? request.from;
      // Refused before queueing: answered, not filed here (a hostile sender could fill the table).
      const refused = request.refused.map(({ operation, reason }) => ({ id: operation.id, reason }));
      if (request.operations.length === 0) {
        return { from: ports.reactorId, accepted: 0, duplicates: 0, rejected: refused, cursor: request.cursor };
      }
      const outcome = await ports.submitLoad({
        documentId: `receive:${sender}`,
        lane: `receive:${sender}`,
        operations: request.operations,
        source: sender,
        direction: 'receive',
      });
      return {
        from: ports.reactorId,
        accepted: outcome.stored,
        duplicates: outcome.duplicates,
        rejected: [...refused, ...outcome.rejected],
        cursor: request.cursor,
      };
    },
    async pull(raw: unknown, context?: RequestContext): Promise<PullResponse> {
      ports.ensureServing('pull');
      const request = parsePullRequest(raw, ports.maxPullLimit);
      const requester = context?.peer ?? request.from;
      const current = ports.currentOrdinal();
      if (request.limit === 0 || request.cursor >= current) {
        return {
          from: ports.reactorId,
          operations: [],
          cursor: Math.min(request.cursor, current),
          hasMore: request.cursor < current,
        };
      }
      // Its own ops are not sent back: those it pushed here and made itself (a name alone can be
      // claimed by anyone; to hide ops from a peer one would have to forge their origin too).
      const echo = requester === undefined ? { sources: [] } : { sources: [requester], origin: requester };
      const page = await ports.scan(request.cursor, request.limit, request.filter, echo);
      return {
        from: ports.reactorId,
        operations: page.operations,
        cursor: page.cursor,
        hasMore: page.cursor < ports.currentOrdinal(),
      };
    },
    pokes,
  };
}
