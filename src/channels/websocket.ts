import { BehaviorSubject } from 'rxjs';
import type { Clock } from '../model/clock.js';
import { ReactorError, type ReactorErrorData } from '../model/errors.js';
import { backoffDelay } from '../model/random.js';
import type {
  Channel,
  ConnectionSource,
  ConnectionState,
  PokeSource,
  PushRequest,
  PushResponse,
} from '../model/sync.js';
import { systemClock } from '../platform/clock.js';
import {
  byteLength,
  type ClientFrame,
  DEFAULT_MAX_FRAME_BYTES,
  FrameError,
  PROTOCOL_VERSION,
  readServerFrame,
} from './protocol.js';
import { RpcClient, rpcChannel } from './rpc.js';

/** The part of the WebSocket API used here; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket class. */
export type WebSocketClass = new (url: string) => WebSocketLike;

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

const OPEN = 1;

/** A request whose frame is over the server's limit (it was not sent). */
class FrameTooLarge extends ReactorError {
  constructor(message: string) {
    super('validation', message, { retryable: false });
  }
}

async function loadWebSocket(given: WebSocketClass | undefined): Promise<WebSocketClass> {
  if (given !== undefined) return given;
  const global = (globalThis as { WebSocket?: WebSocketClass }).WebSocket;
  if (global !== undefined) return global;
  // Node 20 has no global WebSocket: use `ws`. The specifier is a variable so bundlers leave it be.
  const specifier = 'ws';
  const module = (await import(/* @vite-ignore */ specifier)) as { WebSocket: WebSocketClass };
  return module.WebSocket;
}

/**
 * A channel to a switchboard (or any server speaking the protocol) over WebSocket. It connects at
 * once, says `hello` (with the token), and is `online` once welcomed. When the connection drops it
 * fails the requests in flight (retryably), goes `offline`, and reconnects with jittered
 * exponential backoff; once back it pokes the remote so sync resumes from its cursors at once. A
 * refused token (`auth`) or another protocol version stops reconnecting (`refused`): requests then
 * fail with that error, which stops the remote.
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
  const baseMs = options.reconnect?.baseMs ?? 250;
  const maxMs = options.reconnect?.maxMs ?? 10_000;
  const state$ = new BehaviorSubject<ConnectionState>('connecting');
  let socket: WebSocketLike | undefined;
  let serverId: string | undefined;
  let maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  let lastError: ReactorErrorData | undefined;
  let failures = 0;
  let reconnectTimer: unknown;
  let closed = false;
  let refusal: ReactorError | undefined;
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

  const client = new RpcClient(
    (frame: ClientFrame) => {
      const text = JSON.stringify(frame);
      const size = byteLength(text);
      if (size > maxFrameBytes) {
        throw new FrameTooLarge(
          `${url}: a ${frame.type} of ${size} bytes is over the server's frame limit of ${maxFrameBytes} bytes`,
        );
      }
      if (socket === undefined || socket.readyState !== OPEN || state$.value !== 'online') {
        throw new ReactorError('network', `${url}: not connected`, { retryable: true });
      }
      socket.send(text);
    },
    { label: url, ...(options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs }), clock },
  );

  const scheduleReconnect = () => {
    if (closed || refusal !== undefined) return;
    const delay = backoffDelay(failures, random(), baseMs, maxMs);
    failures += 1;
    reconnectTimer = clock.setTimeout(() => {
      reconnectTimer = undefined;
      open();
    }, delay);
  };

  const refuse = (error: ReactorError) => {
    refusal = error;
    lastError = error.toData();
    setState('refused');
    client.failAll(error);
    settleWaiters(error);
  };

  function open() {
    if (closed) return;
    setState('connecting');
    void loadWebSocket(options.WebSocket).then((WebSocketClass) => {
      if (closed) return;
      let ws: WebSocketLike;
      try {
        ws = new WebSocketClass(url);
      } catch (error) {
        lastError = new ReactorError('network', `${url}: ${String(error)}`).toData();
        setState('offline');
        settleWaiters(new ReactorError('network', `${url}: could not connect`, { retryable: true }));
        scheduleReconnect();
        return;
      }
      socket = ws;
      ws.onopen = () => {
        const hello: ClientFrame = {
          v: PROTOCOL_VERSION,
          type: 'hello',
          ...(options.clientId === undefined ? {} : { client: options.clientId }),
          ...(options.token === undefined ? {} : { token: options.token }),
        };
        ws.send(JSON.stringify(hello));
      };
      ws.onmessage = (event) => {
        let frame: ReturnType<typeof readServerFrame>;
        try {
          frame = readServerFrame(typeof event.data === 'string' ? event.data : String(event.data));
        } catch (error) {
          const failure = error instanceof FrameError ? error : new FrameError(String(error));
          lastError = failure.toData();
          // An unreadable answer to a request fails that request now, not at its timeout.
          if (failure.requestId !== undefined) client.fail(failure.requestId, failure);
          return;
        }
        if (frame.type === 'welcome') {
          serverId = frame.server;
          maxFrameBytes = frame.maxFrameBytes;
          failures = 0;
          lastError = undefined;
          setState('online');
          settleWaiters();
          // Wakes the remote: an offline region probes at once, pull fetches what it missed.
          client.pokes.next({ cursor: 0 });
          return;
        }
        if (!client.receive(frame) && frame.type === 'error') {
          const error = ReactorError.fromData(frame.error);
          lastError = frame.error;
          if (frame.error.kind === 'auth' || frame.error.kind === 'protocol') refuse(error);
        }
      };
      ws.onerror = () => {
        // A close event follows; it decides what happens next.
      };
      ws.onclose = (event) => {
        if (socket === ws) socket = undefined;
        const reason = event.reason === '' ? `code ${event.code}` : `${event.reason} (code ${event.code})`;
        const error = new ReactorError('network', `${url}: connection closed: ${reason}`, { retryable: true });
        client.failAll(error);
        if (closed) return;
        if (refusal !== undefined) return;
        lastError ??= error.toData();
        setState('offline');
        settleWaiters(error);
        scheduleReconnect();
      };
    });
  }

  /** Waits while a connection attempt is in progress; fails fast when offline or refused. */
  const ready = async () => {
    if (refusal !== undefined) throw refusal;
    if (closed) throw new ReactorError('network', `${url}: channel is closed`, { retryable: false });
    if (state$.value === 'online') return;
    if (state$.value !== 'connecting') throw new ReactorError('network', `${url}: offline`, { retryable: true });
    await new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
  };

  const base = rpcChannel(client, () => {
    if (closed) return;
    closed = true;
    if (reconnectTimer !== undefined) clock.clearTimeout(reconnectTimer);
    const error = new ReactorError('network', `${url}: channel is closed`, { retryable: false });
    client.failAll(error);
    settleWaiters(error);
    setState('closed');
    state$.complete();
    socket?.close(1000, 'closed by client');
  });

  const connection: ConnectionSource = {
    get state() {
      return state$.value;
    },
    subscribe: (observer) => state$.subscribe(observer),
  };

  /**
   * Pushes in as many frames as the server's limit needs: a batch too large for one frame is split
   * in halves (all parts carry the batch's cursor, which the server only echoes). An op too large
   * for any frame is reported back as rejected, so it becomes a dead letter instead of blocking sync.
   */
  const pushInFrames = async (request: PushRequest): Promise<PushResponse> => {
    try {
      return await base.push(request);
    } catch (error) {
      if (!(error instanceof FrameTooLarge)) throw error;
      const [op] = request.operations;
      if (request.operations.length === 1 && op !== undefined) {
        return {
          ...(serverId === undefined ? {} : { from: serverId }),
          accepted: 0,
          duplicates: 0,
          rejected: [{ id: op.id, reason: error.toData() }],
          cursor: request.cursor,
        };
      }
      const half = Math.ceil(request.operations.length / 2);
      const first = await pushInFrames({ ...request, operations: request.operations.slice(0, half) });
      const second = await pushInFrames({ ...request, operations: request.operations.slice(half) });
      return {
        ...(second.from === undefined ? {} : { from: second.from }),
        accepted: first.accepted + second.accepted,
        duplicates: first.duplicates + second.duplicates,
        rejected: [...first.rejected, ...second.rejected],
        cursor: request.cursor,
      };
    }
  };

  open();
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
    get serverId() {
      return serverId;
    },
    get lastError() {
      return lastError;
    },
  };
}
