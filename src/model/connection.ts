import type { ReactorErrorData } from './errors.js';
import type { ConnectionState } from './sync.js';

/**
 * The seam between a channel's connection statechart (src/machines) and the channel's IO
 * (src/channels). All of it is plain data except {@link ChannelLink}, which the channel keeps and a
 * reactor looks up by remote name: no function ever travels in an event or a context.
 */

/** Input of the WebSocket connection statechart (plain data; the token stays with the channel). */
export interface WebSocketConnectionInput {
  readonly url: string;
  readonly reconnect: { readonly baseMs: number; readonly maxMs: number };
  /** Seed of the jitter PRNG. */
  readonly seed: number;
  /** The remote whose child the statechart is; absent when the channel runs it itself. */
  readonly remote?: string;
  /** What an earlier statechart of this channel learned: a refusal or a close is for good. */
  readonly resume?: { readonly state: 'refused' | 'closed'; readonly lastError?: ReactorErrorData };
  readonly serverId?: string;
  readonly maxFrameBytes?: number;
}

/** What the WebSocket connection statechart tells its channel on each change (an event to `link`). */
export interface ConnectionReport {
  readonly type: 'connection.changed';
  readonly state: ConnectionState;
  readonly attempts: number;
  readonly serverId?: string;
  readonly maxFrameBytes?: number;
  readonly lastError?: ReactorErrorData;
}

/** Where a peer tab stands: not heard yet, heard lately, quiet for a while, taken for gone, closed. */
export type PeerState = 'unheard' | 'present' | 'silent' | 'gone' | 'closed';

/** Input of the peer statechart. */
export interface PeerConnectionInput {
  /** The other tab's reactor id. */
  readonly peerId: string;
  /** How often tabs say `here` (ms); 0: no heartbeats, a peer goes only by saying `bye`. */
  readonly heartbeatMs: number;
  readonly remote?: string;
  /** Where an earlier statechart of this peer left it. */
  readonly resume?: PeerState;
}

/** What the peer statechart tells its transport on each change. */
export interface PeerReport {
  readonly type: 'peer.changed';
  readonly state: PeerState;
}

/** Which connection statechart a channel has, and its input. */
export type LinkChart =
  | { readonly kind: 'websocket'; readonly input: WebSocketConnectionInput }
  | { readonly kind: 'peer'; readonly input: PeerConnectionInput };

/** What one IO actor of a connection statechart is handed: `fromCallback`'s arguments. */
export interface LinkIo {
  readonly input: unknown;
  sendBack(event: { readonly type: string }): void;
  receive(listener: (event: { readonly type: string }) => void): void;
}

/**
 * How a channel's connection statechart is run. A reactor runs it as the child `connection` of the
 * remote the channel is added to; a channel used on its own runs it itself. Either way its IO
 * actors call into the channel through this.
 */
export interface ChannelLink {
  /** The statechart to run and its input, as the channel stands now. */
  readonly chart: LinkChart;
  /** The `link` actor: the statechart hosting the channel from its start to its stop. Returns the cleanup. */
  host(io: LinkIo): () => void;
  /** The `socket` actor (WebSocket only): one connection attempt. Returns the cleanup. */
  socket?(io: LinkIo): () => void;
  /**
   * A reactor holds the channel without running it yet (a follower tab; its leader runs the
   * remotes): the channel does not connect on its own until a remote hosts it.
   */
  park?(): void;
}
