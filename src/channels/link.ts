import { type AnyStateMachine, createActor, type EventObject, fromCallback } from 'xstate';
import { connectionMachine } from '../machines/connection.js';
import { peerMachine } from '../machines/peer.js';
import type { Clock } from '../model/clock.js';
import type { ChannelLink, LinkIo } from '../model/connection.js';
import { ReactorError } from '../model/errors.js';

/**
 * The connection statecharts with their IO actors provided: each calls into the channel that
 * `resolve` finds for the remote named in its input (a reactor looks it up by name; a channel that
 * runs its statechart itself always answers with its own link).
 */
export function linkedConnections(resolve: (remote: string | undefined) => ChannelLink | undefined) {
  const delegate = (part: 'host' | 'socket') =>
    fromCallback<EventObject, { remote?: string }>(({ input, sendBack, receive }) => {
      const link = resolve(input.remote);
      if (link === undefined) {
        throw new ReactorError('network', `remote "${input.remote}" has no channel attached; call sync.add again`, {
          retryable: true,
        });
      }
      const io: LinkIo = { input, sendBack, receive };
      if (part === 'host') return link.host(io);
      if (link.socket === undefined) throw new ReactorError('internal', 'this channel has no socket to open');
      return link.socket(io);
    });
  return {
    websocketConnection: connectionMachine.provide({ actors: { link: delegate('host'), socket: delegate('socket') } }),
    peerConnection: peerMachine.provide({ actors: { link: delegate('host') } }),
  };
}

/** Options of {@link LinkHost}. */
export interface LinkHostOptions {
  /** The statechart with this channel's IO, for running it without a reactor. */
  readonly logic: AnyStateMachine;
  /** The input of a statechart started now. */
  readonly input: () => unknown;
  readonly clock: Clock;
  /** Another statechart took the channel over: the old one's socket is gone. */
  readonly onHandover?: () => void;
  /** No statechart runs the channel any more (its remote stopped, or it reached its end). */
  readonly onUnhosted?: () => void;
}

/**
 * Who runs a channel's connection statechart right now: the remote the channel was added to (its
 * `connection` child attached here through its `link` actor) or, while no reactor does, the channel
 * itself in an actor of its own. One at a time: a statechart that attaches takes over, and the one
 * before is told `connection.release` (it ends, `detached`, closing its socket).
 */
export class LinkHost {
  readonly #options: LinkHostOptions;
  #host: LinkIo | undefined;
  #parked = false;

  constructor(options: LinkHostOptions) {
    this.#options = options;
  }

  /** Whether a statechart runs the channel now. */
  get hosted(): boolean {
    return this.#host !== undefined;
  }

  /** Whether `io` is the link actor of the statechart running the channel. */
  isHost(io: LinkIo): boolean {
    return this.#host === io;
  }

  /** A statechart's `link` actor started: it runs the channel from now on. Returns its cleanup. */
  attach(io: LinkIo): () => void {
    const previous = this.#host;
    this.#host = io;
    this.#parked = false;
    if (previous !== undefined) {
      previous.sendBack({ type: 'connection.release' });
      this.#options.onHandover?.();
    }
    return () => {
      if (this.#host !== io) return;
      this.#host = undefined;
      this.#options.onUnhosted?.();
    };
  }

  /** Sends an event to the statechart running the channel; false when none does. */
  send(event: { readonly type: string }): boolean {
    if (this.#host === undefined) return false;
    this.#host.sendBack(event);
    return true;
  }

  /**
   * A reactor holds the channel but does not run it now (a follower tab: its leader runs the
   * remotes): the channel's own statechart, if it runs, ends, and none starts until a reactor's
   * remote attaches.
   */
  park(): void {
    this.#parked = true;
    this.#host?.sendBack({ type: 'connection.release' });
  }

  /** Runs the statechart in an actor of the channel's own, unless one runs the channel already or it is parked. */
  runStandalone(): void {
    if (this.#host !== undefined || this.#parked) return;
    const actor = createActor(this.#options.logic, { input: this.#options.input(), clock: this.#options.clock });
    // The statechart records its IO's failures itself; nothing is left to report here.
    actor.subscribe({ error: () => {} });
    actor.start();
  }
}
