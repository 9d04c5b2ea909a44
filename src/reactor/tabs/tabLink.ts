import { classifyError, ReactorError } from '../../model/errors.js';
import { isTabMessage, type TabCall, type TabChannelLike, type TabMessage } from '../../model/tabs.js';

/** A message as a tab writes it: the tag and the sender are added. */
type Outgoing = TabMessage extends infer M ? (M extends TabMessage ? Omit<M, 'xt' | 'from'> : never) : never;

/**
 * One tab's end of the BroadcastChannel its database's tabs share. Every message names its
 * sender; a BroadcastChannel never delivers a tab its own messages.
 */
export class TabLink {
  readonly id: string;
  readonly #channel: TabChannelLike;
  readonly #handlers = new Set<(message: TabMessage) => void>();
  #closed = false;

  constructor(Channel: new (name: string) => TabChannelLike, name: string, id: string) {
    this.id = id;
    this.#channel = new Channel(name);
    this.#channel.onmessage = (event) => {
      const message = event.data;
      if (this.#closed || !isTabMessage(message) || message.from === this.id) return;
      for (const handler of this.#handlers) handler(message);
    };
  }

  post(message: Outgoing): void {
    if (this.#closed) return;
    this.#channel.postMessage({ xt: 1, from: this.id, ...message });
  }

  /** Calls `handler` with every message from another tab; returns the unsubscribe. */
  on(handler: (message: TabMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Closes this end; says `bye` unless the tab is to vanish as a crashed one would. */
  close(options: { silent?: boolean } = {}): void {
    if (this.#closed) return;
    if (options.silent !== true) this.post({ kind: 'bye' });
    this.#closed = true;
    this.#handlers.clear();
    this.#channel.onmessage = null;
    this.#channel.close();
  }
}

interface PendingCall {
  readonly call: TabCall;
  readonly body: unknown;
  readonly at: number;
  resolve(body: unknown): void;
  reject(error: ReactorError): void;
}

/** Serves a call in this tab (when it leads) instead of posting it. */
export type LocalServer = (call: TabCall, body: unknown) => Promise<unknown>;

/**
 * A follower's calls to the leader: numbered, answered by whichever tab leads, sent again to a
 * new leader (every call is idempotent: writes carry a write id), and served in this tab once it
 * leads itself.
 */
export class LeaderCalls {
  readonly #link: TabLink;
  readonly #pending = new Map<number, PendingCall>();
  readonly #now: () => number;
  #next = 0;
  #local: LocalServer | undefined;
  #closed: ReactorError | undefined;

  constructor(link: TabLink, now: () => number) {
    this.#link = link;
    this.#now = now;
    link.on((message) => {
      if (message.kind !== 'answer' || message.to !== link.id) return;
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      // A leader that lost its database (fenced) answers so; the call waits for the next one.
      if (message.moved === true) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.body);
      else
        pending.reject(
          ReactorError.fromData(message.error ?? { kind: 'internal', message: 'no answer', retryable: false }),
        );
    });
  }

  /** Calls waiting for an answer. */
  get waiting(): number {
    return this.#pending.size;
  }

  /** The time the oldest waiting call was made, if any. */
  get oldest(): number | undefined {
    let oldest: number | undefined;
    for (const pending of this.#pending.values()) if (oldest === undefined || pending.at < oldest) oldest = pending.at;
    return oldest;
  }

  call(call: TabCall, body: unknown): Promise<unknown> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const local = this.#local;
    if (local !== undefined) {
      // Served here; should this tab step down meanwhile, the call goes to the next leader.
      return local(call, body).catch((error: unknown) => {
        if (this.#local === local || this.#closed !== undefined) throw error;
        return this.call(call, body);
      });
    }
    this.#next += 1;
    const id = this.#next;
    return new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { call, body, at: this.#now(), resolve, reject });
      this.#link.post({ kind: 'call', id, call, body });
    });
  }

  /** Sends every waiting call again (a new leader took over). */
  resend(): void {
    for (const [id, pending] of this.#pending)
      this.#link.post({ kind: 'call', id, call: pending.call, body: pending.body });
  }

  /** This tab leads now: waiting calls, and later ones, are served here. */
  serveLocally(server: LocalServer | undefined): void {
    this.#local = server;
    if (server === undefined) return;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      server(pending.call, pending.body).then(pending.resolve, (error: unknown) =>
        pending.reject(classifyError(error)),
      );
    }
  }

  /** The tab stops: every waiting call fails with `error`, and so does every later one. */
  close(error: ReactorError): void {
    this.#closed = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
