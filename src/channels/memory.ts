import { Observable } from 'rxjs';
import { ReactorError } from '../model/errors.js';
import type { Channel, Endpoint, Poke, PullRequest, PushRequest } from '../model/sync.js';
import { createSimNetwork, type SimNetwork } from './simNetwork.js';

/** The side of a reactor a channel needs: its id and its endpoint. */
export interface Reachable {
  readonly id: string;
  readonly endpoint: Endpoint;
}

/**
 * An in-memory channel from `a` to `b`'s endpoint. Requests and responses cross `network` (a
 * perfect one by default) and are structured-cloned, as over a real transport; `b`'s pokes reach
 * `a` through it too.
 */
export function connect(a: Reachable, b: Reachable, options: { network?: SimNetwork } = {}): Channel {
  const network = options.network ?? createSimNetwork();
  let closed = false;
  const ensureOpen = () => {
    if (closed)
      throw new ReactorError('network', `channel from "${a.id}" to "${b.id}" is closed`, { retryable: false });
  };
  const pokes = new Observable<Poke>((subscriber) => {
    const subscription = b.endpoint.pokes.subscribe((poke) => {
      if (!closed) network.notify(b.id, a.id, () => subscriber.next(poke));
    });
    return () => subscription.unsubscribe();
  });
  return {
    async push(request: PushRequest) {
      ensureOpen();
      const copy = structuredClone(request);
      return network.deliver(a.id, b.id, () => b.endpoint.push(copy, { peer: a.id }));
    },
    async pull(request: PullRequest) {
      ensureOpen();
      const copy = structuredClone(request);
      return network.deliver(a.id, b.id, () => b.endpoint.pull(copy, { peer: a.id }));
    },
    pokes,
    close() {
      closed = true;
    },
  };
}
