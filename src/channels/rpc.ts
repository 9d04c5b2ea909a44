import { Subject } from 'rxjs';
import type { Clock } from '../model/clock.js';
import { classifyError, ReactorError } from '../model/errors.js';
import {
  type Channel,
  type Endpoint,
  type Poke,
  type PullRequest,
  type PullResponse,
  type PushRequest,
  parsePushResponse,
  type RequestContext,
} from '../model/sync.js';
import { systemClock } from '../platform/clock.js';
import { type ClientFrame, errorFrameOf, PROTOCOL_VERSION, type RequestFrame, type ServerFrame } from './protocol.js';

/** How long a request waits for its answer by default (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface Pending {
  readonly resolve: (body: unknown) => void;
  readonly reject: (error: ReactorError) => void;
  readonly timer: unknown;
}

/**
 * The calling side of the protocol over some message transport: numbers requests, matches answers
 * to them, times them out and hands pokes on. The transport decides how frames travel and when
 * the link is down (`failAll`).
 */
export class RpcClient {
  readonly pokes = new Subject<Poke>();
  readonly #pending = new Map<number, Pending>();
  readonly #send: (frame: ClientFrame) => void;
  readonly #label: string;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  #next = 0;

  constructor(send: (frame: ClientFrame) => void, options: { label: string; timeoutMs?: number; clock?: Clock }) {
    this.#send = send;
    this.#label = options.label;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#clock = options.clock ?? systemClock;
  }

  /** Requests waiting for an answer. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends a request and resolves with the answer's body (unparsed). */
  request(type: 'push' | 'pull', body: unknown): Promise<unknown> {
    this.#next += 1;
    const id = this.#next;
    return new Promise<unknown>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        reject(new ReactorError('timeout', `${this.#label}: no answer to ${type} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.#send({ v: PROTOCOL_VERSION, type, id, body });
      } catch (error) {
        this.#settle(id);
        reject(
          error instanceof ReactorError
            ? error
            : new ReactorError('network', `${this.#label}: could not send ${type}: ${classifyError(error).message}`, {
                cause: error,
              }),
        );
      }
    });
  }

  /** Handles a frame from the serving side. Returns false for a connection-level error frame. */
  receive(frame: ServerFrame): boolean {
    switch (frame.type) {
      case 'result':
        this.#settle(frame.id)?.resolve(frame.body);
        return true;
      case 'error':
        if (frame.id === undefined) return false;
        this.#settle(frame.id)?.reject(ReactorError.fromData(frame.error));
        return true;
      case 'poke':
        this.pokes.next({ cursor: frame.cursor });
        return true;
      default:
        return true;
    }
  }

  /** Rejects one request at once (its answer could not be read). Returns false if it was not waiting. */
  fail(id: number, error: ReactorError): boolean {
    const pending = this.#settle(id);
    pending?.reject(error);
    return pending !== undefined;
  }

  /** Rejects every request in flight (the link went down or the channel closed). */
  failAll(error: ReactorError): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(error);
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    this.#clock.clearTimeout(pending.timer);
    return pending;
  }
}

/**
 * A channel whose calls go through an {@link RpcClient}. Answers are untrusted: the sync actor that
 * asked parses a pulled page op by op; a push answer is parsed here.
 */
export function rpcChannel(
  client: RpcClient,
  close: () => void | Promise<void>,
  extra: Partial<Channel> = {},
): Channel {
  return {
    async push(request: PushRequest) {
      return parsePushResponse(await client.request('push', request));
    },
    async pull(request: PullRequest) {
      return (await client.request('pull', request)) as PullResponse;
    },
    pokes: client.pokes,
    close,
    ...extra,
  };
}

/**
 * The serving side: runs request frames against an endpoint and answers each with a result or an
 * error frame. Tracks requests in flight so a shutdown can wait for them.
 */
export class RpcServer {
  readonly #endpoint: Endpoint;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
  }

  /** Requests being served. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Serves one request; `reply` gets the answer (never throws). `context` names the peer the
   * transport delivered it from: that, not the body's `from`, is the source of pushed ops.
   */
  handle(frame: RequestFrame, reply: (frame: ServerFrame) => void, context?: RequestContext): Promise<void> {
    const work = (async () => {
      try {
        const body =
          frame.type === 'push'
            ? await this.#endpoint.push(frame.body, context)
            : await this.#endpoint.pull(frame.body, context);
        reply({ v: PROTOCOL_VERSION, type: 'result', id: frame.id, body });
      } catch (error) {
        reply(errorFrameOf(classifyError(error).toData(), frame.id));
      }
    })();
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
    return work;
  }

  /** Resolves once every request being served has been answered. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }
}
