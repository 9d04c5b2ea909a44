import { BehaviorSubject } from 'rxjs';
import type { Clock } from '../model/clock.js';
import type { ChannelLink, ConnectionReport } from '../model/connection.js';
import { ReactorError, type ReactorErrorData } from '../model/errors.js';
import type { Channel, ConnectionSource, ConnectionState, PokeSource } from '../model/sync.js';
import { systemClock } from '../platform/clock.js';
import { FrameTooLarge, framedPush } from './framedPush.js';
import { LinkHost, linkedConnections } from './link.js';
import { byteLength, type ClientFrame, DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION } from './protocol.js';
import { RpcClient, rpcChannel } from './rpc.js';
import { OPEN, openSession, type SocketSlot, type WebSocketClass } from './websocketSession.js';

export type { WebSocketClass, WebSocketLike } from './websocketSession.js';

/** Options of {@link createWebSocketChannel}. */
export interface WebSocketChannelOptions {
  /** Sent in the `hello` frame; the switchboard's `authenticate` hook checks it. */
  readonly token?: string;
  /** This reactor's id, sent in `hello` (the server logs it). */
  readonly clientId?: string;
  /** The WebSocket class; default the global one (browsers), else the `ws` package (Node). */
  readonly WebSocket?: WebSocketClass;
  /** How long a request waits for its answer (ms); default 30,000. */
  readonly requestTimeoutMs?: number;
  /** Reconnect backoff: exponential from `baseMs`, capped at `maxMs`, jittered; default 250 / 10,000 ms. */
  readonly reconnect?: { readonly baseMs?: number; readonly maxMs?: number };
  readonly clock?: Clock;
  /** Jitter source; default Math.random. */
  readonly random?: () => number;
}

/** A channel to a switchboard over WebSocket, with its connection state. */
export interface WebSocketChannel extends Channel {
  /** The server's pokes (and one after each welcome). */
  readonly pokes: PokeSource;
  readonly connection: ConnectionSource;
  /** The server's reactor id, once welcomed. */
  readonly serverId: string | undefined;
  /** The last connection-level error (refused token, wrong version, …). */
  readonly lastError: ReactorErrorData | undefined;
}

/** A seed for the statechart's jitter PRNG. */
const seedFrom = (random: () => number) => Math.floor(random() * 0x100000000) | 0;

/**
 * A channel to a switchboard (or any server speaking the protocol) over WebSocket. Its connection
 * is a statechart (`connectionMachine`): run as the child `connection` of the remote it is added
 * to, or by the channel itself while it is used without a reactor. It connects at once, says
 * `hello` (with the token), and is `online` once welcomed. When the connection drops it fails the
 * requests in flight (retryably), goes `offline`, and reconnects with jittered exponential backoff;
 * once back it pokes the remote so sync resumes from its cursors at once. A refused token (`auth`)
 * or another protocol version stops reconnecting (`refused`): requests then fail with that error,
 * which stops the remote.
 */
export function createWebSocketChannel(url: string, options: WebSocketChannelOptions = {}): WebSocketChannel {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new Error('not ws: or wss:');
  } catch {
    throw new ReactorError('validation', `createWebSocketChannel: ${JSON.stringify(url)} is not a ws:// or wss:// URL`);
  }
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const reconnect = { baseMs: options.reconnect?.baseMs ?? 250, maxMs: options.reconnect?.maxMs ?? 10_000 };
  // What the statechart last reported: the channel decides nothing, it follows.
  const state$ = new BehaviorSubject<ConnectionState>('connecting');
  let serverId: string | undefined;
  let maxFrameBytes: number | undefined;
  let lastError: ReactorErrorData | undefined;
  let refusal: ReactorError | undefined;
  let closed = false;
  // The socket of the session that is open now (the statechart's `socket` actor owns it).
  const slot: SocketSlot = { socket: undefined };
  // Requests made while connecting wait for the outcome.
  let waiters: { resolve: () => void; reject: (error: ReactorError) => void }[] = [];

  const setState = (state: ConnectionState) => {
    if (state$.value !== state) state$.next(state);
  };
  const settleWaiters = (error?: ReactorError) => {
    const list = waiters;
    waiters = [];
    for (const waiter of list) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  };
  const closedError = () => new ReactorError('network', `${url}: channel is closed`, { retryable: false });
  const dropped = () =>
    lastError?.retryable === true
      ? ReactorError.fromData(lastError)
      : new ReactorError('network', `${url}: offline`, { retryable: true });

  const client = new RpcClient(
    (frame: ClientFrame) => {
      const text = JSON.stringify(frame);
      const size = byteLength(text);
      const limit = maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
      if (size > limit) {
        throw new FrameTooLarge(
          `${url}: a ${frame.type} of ${size} bytes is over the server's frame limit of ${limit} bytes`,
        );
      }
      const socket = slot.socket;
      if (socket === undefined || socket.readyState !== OPEN || state$.value !== 'online') {
        throw new ReactorError('network', `${url}: not connected`, { retryable: true });
      }
      socket.send(text);
    },
    { label: url, ...(options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs }), clock },
  );

  /** The end: every request fails, for good. */
  const finish = () => {
    if (state$.value === 'closed') return;
    closed = true;
    const error = closedError();
    client.failAll(error);
    settleWaiters(error);
    setState('closed');
    state$.complete();
  };

  /** Follows the statechart: what each state means for requests. */
  const follow = (report: ConnectionReport) => {
    if (state$.value === 'closed') return;
    serverId = report.serverId ?? serverId;
    maxFrameBytes = report.maxFrameBytes ?? maxFrameBytes;
    lastError = report.lastError;
    if (report.state === state$.value) return;
    switch (report.state) {
      case 'online':
        setState('online');
        settleWaiters();
        // Wakes the remote: an offline region probes at once, pull fetches what it missed.
        client.pokes.next({ cursor: 0 });
        return;
      case 'connecting':
        setState('connecting');
        return;
      case 'offline': {
        const error = dropped();
        setState('offline');
        client.failAll(error);
        settleWaiters(error);
        return;
      }
      case 'refused': {
        refusal = ReactorError.fromData(
          report.lastError ?? { kind: 'auth', message: `${url}: refused by the server`, retryable: false },
        );
        setState('refused');
        client.failAll(refusal);
        settleWaiters(refusal);
        return;
      }
      case 'closed':
        finish();
    }
  };

  const hello: ClientFrame = {
    v: PROTOCOL_VERSION,
    type: 'hello',
    ...(options.clientId === undefined ? {} : { client: options.clientId }),
    ...(options.token === undefined ? {} : { token: options.token }),
  };

  const link: ChannelLink = {
    get chart() {
      const resume =
        state$.value === 'closed'
          ? { state: 'closed' as const }
          : refusal === undefined
            ? undefined
            : { state: 'refused' as const, ...(lastError === undefined ? {} : { lastError }) };
      return {
        kind: 'websocket' as const,
        input: {
          url,
          reconnect,
          seed: seedFrom(random),
          ...(resume === undefined ? {} : { resume }),
          ...(serverId === undefined ? {} : { serverId }),
          ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }),
        },
      };
    },
    host(io) {
      io.receive((event) => {
        if (event.type === 'connection.changed' && hosting.isHost(io)) follow(event as ConnectionReport);
      });
      return hosting.attach(io);
    },
    socket: (io) =>
      openSession(io, {
        url,
        hello,
        client,
        slot,
        ...(options.WebSocket === undefined ? {} : { WebSocket: options.WebSocket }),
      }),
    park: () => hosting.park(),
  };

  const hosting: LinkHost = new LinkHost({
    logic: linkedConnections(() => link).websocketConnection,
    input: () => link.chart.input,
    clock,
    // The socket those requests went out on is being closed.
    onHandover: () =>
      client.failAll(new ReactorError('network', `${url}: connection handed over`, { retryable: true })),
    // The remote that ran the connection stopped, the channel did not: it runs the connection itself.
    onUnhosted: () => {
      if (closed) return;
      client.failAll(new ReactorError('network', `${url}: connection closed by its remote`, { retryable: true }));
      queueMicrotask(() => {
        if (!closed && !hosting.hosted) hosting.runStandalone();
      });
    },
  });

  /** Waits while a connection attempt is in progress; fails fast when offline or refused. */
  const ready = async () => {
    if (refusal !== undefined) throw refusal;
    if (closed) throw closedError();
    if (state$.value === 'online') return;
    if (state$.value !== 'connecting') throw new ReactorError('network', `${url}: offline`, { retryable: true });
    await new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
  };

  const base = rpcChannel(client, () => {
    if (closed) return;
    closed = true;
    // The statechart goes `closed` (and closes its socket); the channel is closed from now on.
    hosting.send({ type: 'connection.close' });
    finish();
  });

  const connection: ConnectionSource = {
    get state() {
      return state$.value;
    },
    subscribe: (observer) => state$.subscribe(observer),
  };

  const pushInFrames = framedPush(base.push, () => serverId);

  // Connects at once, unless a reactor takes the channel over first (`sync.add` right after this)
  // or parks it (a follower tab's `sync.add`: its leader tab connects).
  queueMicrotask(() => {
    if (!closed && !hosting.hosted) hosting.runStandalone();
  });
  return {
    push: async (request) => {
      await ready();
      return pushInFrames(request);
    },
    pull: async (request) => {
      await ready();
      return base.pull(request);
    },
    pokes: client.pokes,
    close: base.close,
    connection,
    link,
    get serverId() {
      return serverId;
    },
    get lastError() {
      return lastError;
    },
  };
}
