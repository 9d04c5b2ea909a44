import type { ConnectionEvent } from '../machines/connection.js';
import type { LinkIo } from '../model/connection.js';
import { ReactorError } from '../model/errors.js';
import { type ClientFrame, FrameError, readServerFrame } from './protocol.js';
import type { RpcClient } from './rpc.js';

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

const CONNECTING = 0;
/** `readyState` of an open socket. */
export const OPEN = 1;

/** Where the socket of the session open now is kept, for requests to go out on. */
export interface SocketSlot {
  socket: WebSocketLike | undefined;
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
 * The `socket` actor of the connection statechart: one session's socket. Opens it, says `hello`,
 * hands answers and pokes to the RpcClient and reports to the statechart what the socket did.
 * Returns the cleanup, which closes the socket.
 */
export function openSession(
  io: LinkIo,
  options: {
    readonly url: string;
    readonly WebSocket?: WebSocketClass;
    readonly hello: ClientFrame;
    readonly client: RpcClient;
    readonly slot: SocketSlot;
  },
): () => void {
  const { url, client, slot } = options;
  let stopped = false;
  let ws: WebSocketLike | undefined;
  const report = (event: ConnectionEvent) => {
    if (!stopped) io.sendBack(event);
  };
  const failed = (error: unknown) =>
    report({ type: 'socket.failed', error: new ReactorError('network', `${url}: ${String(error)}`).toData() });
  loadWebSocket(options.WebSocket).then((WebSocketClass) => {
    if (stopped) return;
    try {
      ws = new WebSocketClass(url);
    } catch (error) {
      failed(error);
      return;
    }
    const current = ws;
    slot.socket = current;
    current.onopen = () => {
      current.send(JSON.stringify(options.hello));
      report({ type: 'socket.opened' });
    };
    current.onmessage = (event) => {
      let frame: ReturnType<typeof readServerFrame>;
      try {
        frame = readServerFrame(typeof event.data === 'string' ? event.data : String(event.data));
      } catch (error) {
        const failure = error instanceof FrameError ? error : new FrameError(String(error));
        // An unreadable answer to a request fails that request now, not at its timeout.
        if (failure.requestId !== undefined) client.fail(failure.requestId, failure);
        report({ type: 'socket.unreadable', error: failure.toData() });
        return;
      }
      if (frame.type === 'welcome') {
        report({ type: 'socket.welcomed', serverId: frame.server, maxFrameBytes: frame.maxFrameBytes });
        return;
      }
      if (!client.receive(frame) && frame.type === 'error')
        report({ type: 'socket.errorReceived', error: frame.error });
    };
    current.onerror = () => {
      // A close event follows; it decides what happens next.
    };
    current.onclose = (event) => {
      if (slot.socket === current) slot.socket = undefined;
      const reason = event.reason === '' ? `code ${event.code}` : `${event.reason} (code ${event.code})`;
      const error = new ReactorError('network', `${url}: connection closed: ${reason}`, { retryable: true });
      report({ type: 'socket.closed', error: error.toData() });
    };
  }, failed);
  return () => {
    stopped = true;
    if (ws === undefined) return;
    if (slot.socket === ws) slot.socket = undefined;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    if (ws.readyState === CONNECTING || ws.readyState === OPEN) ws.close(1000, 'closed by client');
  };
}
