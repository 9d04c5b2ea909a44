import { map, type Observable } from 'rxjs';
import {
  type Endpoint,
  type Poke,
  type PullResponse,
  type PushResponse,
  parsePullRequest,
  parsePushRequest,
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
}

/**
 * What a reactor serves to others. Requests are parsed at this boundary (a malformed one is a
 * `protocol` error and writes nothing). Pushed ops enter the queue as one `load` job per request
 * (in a lane per sender, so a sender's pushes apply in order), and the push is acknowledged only
 * once they are committed.
 */
export function createEndpoint(ports: EndpointPorts): Endpoint {
  const pokes: Observable<Poke> = ports.bus
    .on('operations.written')
    .pipe(map((event) => ({ cursor: event.operations.at(-1)?.ordinal ?? 0 })));
  return {
    async push(raw: unknown): Promise<PushResponse> {
      ports.ensureServing('push');
      const request = parsePushRequest(raw, ports.maxPushBatch);
      if (request.operations.length === 0) {
        return { from: ports.reactorId, accepted: 0, duplicates: 0, rejected: [], cursor: request.cursor };
      }
      const outcome = await ports.submitLoad({
        documentId: `receive:${request.from}`,
        lane: `receive:${request.from}`,
        operations: request.operations,
        source: request.from,
        direction: 'receive',
      });
      return {
        from: ports.reactorId,
        accepted: outcome.stored,
        duplicates: outcome.duplicates,
        rejected: outcome.rejected,
        cursor: request.cursor,
      };
    },
    async pull(raw: unknown): Promise<PullResponse> {
      ports.ensureServing('pull');
      const request = parsePullRequest(raw, ports.maxPullLimit);
      const current = ports.currentOrdinal();
      if (request.limit === 0 || request.cursor >= current) {
        return {
          from: ports.reactorId,
          operations: [],
          cursor: Math.min(request.cursor, current),
          hasMore: request.cursor < current,
        };
      }
      const page = await ports.scan(request.cursor, request.limit, request.filter, [request.from]);
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
