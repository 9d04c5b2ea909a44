import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import {
  answerToUnreadable,
  CLOSE_CODES,
  DEFAULT_MAX_FRAME_BYTES,
  errorFrameOf,
  PROTOCOL_VERSION,
  readClientFrame,
  type ServerFrame,
} from '../channels/protocol.js';
import { RpcServer } from '../channels/rpc.js';
import type { AnyDocumentModel } from '../model/documentModel.js';
import { classifyError, ReactorError } from '../model/errors.js';
import { createReactor } from '../reactor/createReactor.js';
import type { Reactor, ReactorOptions } from '../reactor/types.js';
import type { StorageOptions } from '../storage/schema.js';

/** Decides whether a client may connect. */
export type Authenticate = (
  token: string | undefined,
  client: { readonly clientId: string | undefined; readonly address: string | undefined },
) => boolean | Promise<boolean>;

/** Options of {@link createSwitchboard}. */
export interface SwitchboardOptions {
  /** Port to listen on; default 8787 (0 picks a free one). */
  readonly port?: number;
  /** Interface to listen on; default 127.0.0.1 (loopback only). */
  readonly host?: string;
  /** Where the hosted reactor keeps its data; the CLI's durable default is SQLite (`xstate-reactor/sqlite`). */
  readonly storage: StorageOptions;
  /** Models the switchboard folds; documents of other models are relayed unfolded. Default none. */
  readonly models?: readonly AnyDocumentModel[];
  /** The hosted reactor's id (persisted on first start). */
  readonly id?: string;
  /** A shared token every client must present; shorthand for an `authenticate` that compares it. */
  readonly token?: string;
  /** A token check; a client it refuses gets an `auth` error frame and is disconnected. */
  readonly authenticate?: Authenticate;
  /** The largest frame accepted (bytes); default 8 MiB. */
  readonly maxFrameBytes?: number;
  /** Further options of the hosted reactor. */
  readonly reactor?: Omit<ReactorOptions, 'models' | 'storage' | 'id' | 'relay'>;
  /** Where log lines go; default nowhere. */
  readonly log?: (line: string) => void;
}

/** A running switchboard. */
export interface Switchboard {
  /** `ws://host:port` to give `createWebSocketChannel`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The hosted reactor. */
  readonly reactor: Reactor;
  /** Clients connected and welcomed. */
  clients(): number;
  /**
   * Shuts down gracefully: stops accepting connections and requests, lets requests in flight
   * finish (their commits complete and are answered), disconnects clients, then stops the reactor.
   */
  close(): Promise<void>;
}

interface Connection {
  readonly socket: WebSocket;
  readonly address: string | undefined;
  clientId: string | undefined;
  /**
   * Who this connection is, as the source of the ops it pushes and the requester its pulls are
   * served to: the hello's client id, or a name of its own. Never what a request body claims.
   */
  peer: string;
  /** A hello arrived (the welcome may still wait for `authenticate`). */
  greeted: boolean;
  welcomed: boolean;
  pokes: { unsubscribe(): void } | undefined;
}

/**
 * Starts a switchboard: a Node server hosting one reactor whose endpoint serves every client that
 * connects over WebSocket (see `createWebSocketChannel`), in push, pull or ping-pong. The server
 * pokes connected clients when new ops are stored, so they pull at once. It is a relay: documents
 * of models it does not know are stored and served unfolded.
 */
export async function createSwitchboard(options: SwitchboardOptions): Promise<Switchboard> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8787;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ReactorError('validation', `createSwitchboard: "port" must be an integer from 0 to 65535, got ${port}`);
  }
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const log = options.log ?? (() => {});
  const authenticate: Authenticate | undefined =
    options.authenticate ?? (options.token === undefined ? undefined : (token) => token === options.token);

  const reactor = await createReactor({
    ...options.reactor,
    models: options.models ?? [],
    storage: options.storage,
    relay: true,
    ...(options.id === undefined ? {} : { id: options.id }),
  });
  const rpc = new RpcServer(reactor.endpoint);
  const connections = new Set<Connection>();
  let accepting = true;
  /** Connections that named no client id are told apart by a number. */
  let anonymous = 0;

  const http: Server = createServer((request, response) => {
    if (request.url === '/health') {
      const status = reactor.status();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: reactor.id,
          clients: countWelcomed(),
          ordinal: status.ordinal,
          accepting,
          protocol: PROTOCOL_VERSION,
        }),
      );
      return;
    }
    response.writeHead(426, { 'content-type': 'text/plain' });
    response.end('xstate-reactor switchboard: connect with a WebSocket (createWebSocketChannel)\n');
  });
  // `ws` itself cuts frames far over the limit; those up to 4x get a proper error frame from us.
  const wss = new WebSocketServer({ server: http, maxPayload: maxFrameBytes * 4 + 1024 });
  // The HTTP server's errors (EADDRINUSE, …) are re-emitted here; `listen` below reports them.
  wss.on('error', (error) => log(`server error: ${error.message}`));

  const countWelcomed = () => [...connections].filter((c) => c.welcomed).length;

  const send = (connection: Connection, frame: ServerFrame) => {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(frame));
  };

  const welcome = async (connection: Connection, token: string | undefined, clientId: string | undefined) => {
    connection.clientId = clientId;
    if (clientId !== undefined) connection.peer = clientId;
    if (authenticate !== undefined) {
      let allowed = false;
      try {
        allowed = await authenticate(token, { clientId, address: connection.address });
      } catch (error) {
        log(`authenticate threw for ${clientId ?? connection.address}: ${classifyError(error).message}`);
      }
      // The client may have gone (or the server begun shutting down) while the check ran.
      if (connection.socket.readyState !== connection.socket.OPEN || !accepting) return;
      if (!allowed) {
        log(`refused ${clientId ?? 'a client'} from ${connection.address}: bad token`);
        send(connection, errorFrameOf({ kind: 'auth', message: 'the token was refused', retryable: false }));
        connection.socket.close(CLOSE_CODES.auth, 'unauthorized');
        return;
      }
    }
    connection.welcomed = true;
    send(connection, { v: PROTOCOL_VERSION, type: 'welcome', server: reactor.id, maxFrameBytes });
    // A poke per commit, except for commits of only this client's own ops (pushed by it and made
    // by it: nothing new for it). A name alone does not count: anyone may claim it in a hello.
    connection.pokes = reactor.events$.subscribe((event) => {
      if (event.type !== 'operations.written') return;
      const fromElsewhere = event.operations.some(
        (op) => event.sources[op.id] !== connection.peer || op.origin !== connection.peer,
      );
      const cursor = event.operations.at(-1)?.ordinal;
      if (fromElsewhere && cursor !== undefined) send(connection, { v: PROTOCOL_VERSION, type: 'poke', cursor });
    });
    log(`client ${clientId ?? '(anonymous)'} connected from ${connection.address}`);
  };

  const onMessage = (connection: Connection, data: RawData, isBinary: boolean) => {
    if (isBinary) {
      send(
        connection,
        errorFrameOf({ kind: 'protocol', message: 'binary frames are not part of the protocol', retryable: false }),
      );
      return;
    }
    const text = data.toString();
    let frame: ReturnType<typeof readClientFrame>;
    try {
      frame = readClientFrame(text, maxFrameBytes);
    } catch (error) {
      const { frame: answer, close } = answerToUnreadable(error);
      send(connection, answer);
      if (close !== undefined && answer.type === 'error')
        connection.socket.close(close, answer.error.message.slice(0, 120));
      return;
    }
    if (frame.type === 'hello') {
      if (connection.greeted) {
        send(connection, errorFrameOf({ kind: 'protocol', message: 'hello was already said', retryable: false }));
        return;
      }
      connection.greeted = true;
      void welcome(connection, frame.token, frame.client);
      return;
    }
    if (!connection.welcomed) {
      send(
        connection,
        errorFrameOf({ kind: 'protocol', message: `send hello before ${frame.type}`, retryable: false }, frame.id),
      );
      return;
    }
    if (!accepting) {
      send(
        connection,
        errorFrameOf({ kind: 'stopped', message: 'the switchboard is shutting down', retryable: true }, frame.id),
      );
      return;
    }
    void rpc.handle(frame, (reply) => send(connection, reply), { peer: connection.peer });
  };

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    if (!accepting) {
      socket.close(CLOSE_CODES.goingAway, 'shutting down');
      return;
    }
    anonymous += 1;
    const connection: Connection = {
      socket,
      address: request.socket.remoteAddress,
      clientId: undefined,
      peer: `anonymous:${anonymous}`,
      greeted: false,
      welcomed: false,
      pokes: undefined,
    };
    connections.add(connection);
    socket.on('message', (data, isBinary) => onMessage(connection, data, isBinary));
    socket.on('close', () => {
      connection.pokes?.unsubscribe();
      connections.delete(connection);
      if (connection.welcomed) log(`client ${connection.clientId ?? '(anonymous)'} disconnected`);
    });
    socket.on('error', (error) => log(`socket error from ${connection.address}: ${error.message}`));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    wss.close();
    await reactor.stop({ drain: false });
    throw error;
  }
  const address = http.address() as AddressInfo;
  const url = `ws://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log(`switchboard ${reactor.id} listening on ${url}`);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      accepting = false;
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      // Requests in flight finish: a push is answered only once its ops are committed.
      await rpc.drain();
      for (const connection of connections) {
        connection.pokes?.unsubscribe();
        connection.socket.close(CLOSE_CODES.goingAway, 'switchboard shutting down');
      }
      // Sockets that do not answer the close handshake promptly are cut.
      const deadline = setTimeout(() => {
        for (const connection of connections) connection.socket.terminate();
      }, 2000);
      await stopped;
      clearTimeout(deadline);
      wss.close();
      await reactor.stop({ drain: true });
      log('switchboard stopped');
    })();
    return closing;
  };

  return { url, host, port: address.port, reactor, clients: countWelcomed, close };
}
