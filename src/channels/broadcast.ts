import { BehaviorSubject, type Observable } from 'rxjs';
import type { PeerEvent } from '../machines/peer.js';
import type { Clock } from '../model/clock.js';
import type { ChannelLink, PeerReport, PeerState } from '../model/connection.js';
import { ReactorError } from '../model/errors.js';
import type { RemoteOptions } from '../model/remote.js';
import type { Channel, Endpoint, SyncMode } from '../model/sync.js';
import { systemClock } from '../platform/clock.js';
import { LinkHost, linkedConnections } from './link.js';
import {
  answerToUnreadable,
  FrameError,
  PROTOCOL_VERSION,
  readClientFrame,
  readServerFrame,
  type ServerFrame,
} from './protocol.js';
import { RpcClient, RpcServer, rpcChannel } from './rpc.js';

/** What the transport needs of a reactor (a `Reactor` is one). */
export interface BroadcastReactor {
  readonly id: string;
  readonly endpoint: Endpoint;
  readonly sync: {
    add(options: RemoteOptions): Promise<void>;
    remove(name: string): Promise<void>;
  };
}

/** Options of {@link createBroadcastTransport}. */
export interface BroadcastTransportOptions {
  /** The BroadcastChannel name shared by the tabs; default `xstate-reactor`. */
  readonly channelName?: string;
  /** How long a request waits for the other tab (ms); default 10,000. A closed tab never answers. */
  readonly requestTimeoutMs?: number;
  /**
   * Each tab says `here` this often (ms); a peer not heard from for three periods is gone (a tab
   * that crashed or was killed says no `bye`). Default 30,000: browsers may run a hidden tab's
   * timers only once a minute, and such a tab must not be taken for gone. 0 turns it off.
   */
  readonly heartbeatMs?: number;
  /** The BroadcastChannel class; default the global one. */
  readonly BroadcastChannel?: new (
    name: string,
  ) => BroadcastChannelLike;
  readonly clock?: Clock;
}

/** The part of `BroadcastChannel` used here. */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
}

/** Options of `syncWithPeers`: a remote's options without name and channel. */
export type PeerSyncOptions = Omit<RemoteOptions, 'name' | 'channel'> & {
  /** Remote names are this prefix plus the peer's reactor id; default `tab:`. */
  readonly prefix?: string;
};

/** Reactors of other tabs reached over one BroadcastChannel. */
export interface BroadcastTransport {
  /** Reactor ids of the other tabs seen on the channel. */
  peers(): readonly string[];
  readonly peers$: Observable<readonly string[]>;
  /** A channel to one peer's endpoint, for `reactor.sync.add`. */
  channelTo(peerId: string): Channel;
  /**
   * Adds a remote for every peer (now and as they appear) and removes it when the peer leaves.
   * Returns a function that stops following peers (the remotes it added stay until removed).
   */
  syncWithPeers(options?: PeerSyncOptions): () => void;
  /** Says goodbye, stops serving and fails every request in flight. */
  close(): void;
}

/** What the transport keeps of one other tab. */
interface Peer {
  readonly client: RpcClient;
  readonly link: ChannelLink;
  readonly hosting: LinkHost;
  /** What its statechart last reported. */
  state: PeerState;
}

type Message =
  | { readonly xr: 1; readonly kind: 'hello' | 'here' | 'bye'; readonly from: string }
  | { readonly xr: 1; readonly kind: 'frame'; readonly from: string; readonly to: string; readonly frame: unknown };

function isMessage(data: unknown): data is Message {
  const m = data as Partial<Message> | null;
  return typeof m === 'object' && m !== null && m.xr === 1 && typeof m.from === 'string' && typeof m.kind === 'string';
}

/**
 * Serves a reactor's endpoint to the other tabs of its origin over a BroadcastChannel, and reaches
 * theirs. Every message names its sender and (for frames) its addressee, because a
 * BroadcastChannel delivers to every other tab; pokes go to all. Tabs announce themselves with
 * `hello` (answered by `here`) and leave with `bye`, so each knows its peers. Each peer's
 * lifecycle is a statechart (`peerMachine`), run as the child `connection` of the remote its
 * channel is added to, else by the transport itself. Each tab needs its own database: two tabs on
 * one IndexedDB database would be one reactor twice.
 */
export function createBroadcastTransport(
  reactor: BroadcastReactor,
  options: BroadcastTransportOptions = {},
): BroadcastTransport {
  const Channel =
    options.BroadcastChannel ??
    (globalThis as { BroadcastChannel?: BroadcastTransportOptions['BroadcastChannel'] }).BroadcastChannel;
  if (Channel === undefined) {
    throw new ReactorError(
      'validation',
      'createBroadcastTransport: no BroadcastChannel here; pass options.BroadcastChannel',
    );
  }
  const name = options.channelName ?? 'xstate-reactor';
  const me = reactor.id;
  const bc = new Channel(name);
  const server = new RpcServer(reactor.endpoint);
  const peers$ = new BehaviorSubject<readonly string[]>([]);
  const clock = options.clock ?? systemClock;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  /** Every tab heard from or asked for: its requests and its statechart. */
  const peers = new Map<string, Peer>();
  let closed = false;

  const post = (message: Message) => {
    if (!closed) bc.postMessage(message);
  };
  const reply = (to: string) => (frame: ServerFrame) => post({ xr: 1, kind: 'frame', from: me, to, frame });
  const setPeers = (next: readonly string[]) => {
    if (next.length !== peers$.value.length || next.some((id, i) => id !== peers$.value[i])) peers$.next(next);
  };

  /** Follows a peer's statechart: the tabs present (or silent) are the peers; a gone one's requests fail. */
  const follow = (id: string, peer: Peer, state: PeerState) => {
    if (closed) return;
    peer.state = state;
    setPeers(
      [...peers]
        .filter(([, p]) => p.state === 'present' || p.state === 'silent')
        .map(([peerId]) => peerId)
        .sort(),
    );
    if (state === 'gone') {
      peer.client.failAll(
        new ReactorError('network', `tab "${id}" left the BroadcastChannel "${name}"`, { retryable: true }),
      );
    }
  };

  const peerOf = (id: string): Peer => {
    const known = peers.get(id);
    if (known !== undefined) return known;
    const client = new RpcClient(
      (frame) => {
        if (closed) throw new ReactorError('network', `BroadcastChannel "${name}" is closed`, { retryable: false });
        post({ xr: 1, kind: 'frame', from: me, to: id, frame });
      },
      {
        label: `tab "${id}"`,
        timeoutMs: options.requestTimeoutMs ?? 10_000,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      },
    );
    const link: ChannelLink = {
      get chart() {
        return { kind: 'peer' as const, input: { peerId: id, heartbeatMs, resume: peer.state } };
      },
      host(io) {
        io.receive((event) => {
          if (event.type === 'peer.changed' && hosting.isHost(io)) follow(id, peer, (event as PeerReport).state);
        });
        return hosting.attach(io);
      },
    };
    const hosting: LinkHost = new LinkHost({
      logic: linkedConnections(() => link).peerConnection,
      input: () => link.chart.input,
      clock,
      // The remote that followed this tab was removed: the transport follows it itself again.
      onUnhosted: () => {
        if (peer.state !== 'present' && peer.state !== 'silent') return;
        queueMicrotask(() => {
          if (!closed && !hosting.hosted) hosting.runStandalone();
        });
      },
    });
    const peer: Peer = { client, link, hosting, state: 'unheard' };
    peers.set(id, peer);
    return peer;
  };

  /** Tells a tab's statechart what it did, starting one to follow the tab when none does. */
  const tell = (id: string, event: PeerEvent) => {
    if (id === me) return;
    const peer = peerOf(id);
    if (peer.hosting.send(event)) return;
    if (event.type === 'peer.left' && peer.state !== 'present' && peer.state !== 'silent') return;
    peer.hosting.runStandalone();
    peer.hosting.send(event);
  };

  bc.onmessage = (event) => {
    const message = event.data;
    if (closed || !isMessage(message) || message.from === me) return;
    switch (message.kind) {
      case 'hello':
        tell(message.from, { type: 'peer.heard' });
        post({ xr: 1, kind: 'here', from: me });
        return;
      case 'here':
        tell(message.from, { type: 'peer.heard' });
        return;
      case 'bye':
        tell(message.from, { type: 'peer.left' });
        return;
      case 'frame':
        tell(message.from, { type: 'peer.heard' });
        if (message.to === me) receiveFrame(message.from, message.frame);
        else if (message.to === '*') receivePoke(message.from, message.frame);
    }
  };

  function receiveFrame(from: string, raw: unknown) {
    const kind = (raw as { type?: unknown } | null)?.type;
    if (kind === 'push' || kind === 'pull' || kind === 'hello') {
      let frame: ReturnType<typeof readClientFrame>;
      try {
        frame = readClientFrame(raw, Number.POSITIVE_INFINITY);
      } catch (error) {
        // Tabs share no connection to close: the answer is all.
        reply(from)(answerToUnreadable(error).frame);
        return;
      }
      // The source of pushed ops is the tab the message came from.
      if (frame.type !== 'hello') void server.handle(frame, reply(from), { peer: from });
      return;
    }
    const client = peers.get(from)?.client;
    try {
      client?.receive(readServerFrame(raw));
    } catch (error) {
      // An unreadable answer to a request fails that request now, not at its timeout.
      if (error instanceof FrameError && error.requestId !== undefined) client?.fail(error.requestId, error);
    }
  }

  function receivePoke(from: string, raw: unknown) {
    try {
      peers.get(from)?.client.receive(readServerFrame(raw));
    } catch {
      // A malformed poke is only a hint; ignore it.
    }
  }

  const pokes = reactor.endpoint.pokes.subscribe((poke) =>
    post({
      xr: 1,
      kind: 'frame',
      from: me,
      to: '*',
      frame: { v: PROTOCOL_VERSION, type: 'poke', cursor: poke.cursor },
    }),
  );
  post({ xr: 1, kind: 'hello', from: me });
  // Our own heartbeat; each peer's statechart times the others' silence.
  let heartbeat: unknown;
  const beat = () => {
    post({ xr: 1, kind: 'here', from: me });
    heartbeat = clock.setTimeout(beat, heartbeatMs);
  };
  if (heartbeatMs > 0) heartbeat = clock.setTimeout(beat, heartbeatMs);
  // A tab being closed or reloaded says goodbye; one restored from the back/forward cache says hello.
  const page = globalThis as {
    addEventListener?: typeof addEventListener;
    removeEventListener?: typeof removeEventListener;
  };
  const onPageHide = () => post({ xr: 1, kind: 'bye', from: me });
  const onPageShow = (event: Event) => {
    if ((event as { persisted?: boolean }).persisted === true) post({ xr: 1, kind: 'hello', from: me });
  };
  page.addEventListener?.('pagehide', onPageHide);
  page.addEventListener?.('pageshow', onPageShow);

  const transport: BroadcastTransport = {
    peers: () => peers$.value,
    peers$: peers$.asObservable(),
    channelTo(peerId: string): Channel {
      if (typeof peerId !== 'string' || peerId.length === 0 || peerId === me) {
        throw new ReactorError('validation', `channelTo: ${JSON.stringify(peerId)} is not another tab's reactor id`);
      }
      const peer = peerOf(peerId);
      // Closing one channel leaves the tab's other channels to that peer (which share the client) alone.
      let channelClosed = false;
      const refuse = () =>
        Promise.reject(new ReactorError('network', `the channel to tab "${peerId}" is closed`, { retryable: false }));
      const channel = rpcChannel(
        peer.client,
        () => {
          channelClosed = true;
        },
        { link: peer.link },
      );
      return {
        ...channel,
        push: (request) => (channelClosed ? refuse() : channel.push(request)),
        pull: (request) => (channelClosed ? refuse() : channel.pull(request)),
      };
    },
    syncWithPeers(syncOptions: PeerSyncOptions = {}) {
      const { prefix = 'tab:', ...remote } = syncOptions;
      const added = new Set<string>();
      const subscription = peers$.subscribe((ids) => {
        for (const id of ids) {
          if (added.has(id)) continue;
          added.add(id);
          const mode: SyncMode = remote.mode ?? 'ping-pong';
          void reactor.sync
            .add({ ...remote, mode, name: `${prefix}${id}`, channel: transport.channelTo(id) })
            .catch(() => {});
        }
        for (const id of [...added]) {
          if (ids.includes(id)) continue;
          added.delete(id);
          void reactor.sync.remove(`${prefix}${id}`).catch(() => {});
        }
      });
      return () => subscription.unsubscribe();
    },
    close() {
      if (closed) return;
      post({ xr: 1, kind: 'bye', from: me });
      closed = true;
      if (heartbeat !== undefined) clock.clearTimeout(heartbeat);
      page.removeEventListener?.('pagehide', onPageHide);
      page.removeEventListener?.('pageshow', onPageShow);
      pokes.unsubscribe();
      for (const peer of peers.values()) {
        peer.hosting.send({ type: 'connection.close' });
        peer.state = 'closed';
        peer.client.failAll(new ReactorError('network', `BroadcastChannel "${name}" is closed`, { retryable: false }));
      }
      bc.onmessage = null;
      bc.close();
      peers$.complete();
    },
  };
  return transport;
}
