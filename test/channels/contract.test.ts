import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BroadcastReactor,
  type BroadcastTransport,
  type Channel,
  connect,
  createBroadcastTransport,
  createReactor,
  createSimNetwork,
  createWebSocketChannel,
  type Endpoint,
  type Reactor,
  type SimNetworkFaults,
} from '../../src/index.js';
import { createSwitchboard } from '../../src/server/index.js';
import {
  type ChannelPlace,
  counterModel,
  describeChannelContract,
  freshFakeStorage,
  runUntilSettled,
  SimClock,
} from '../../src/sim/index.js';

/** Every transport runs the channel contract suite exported from `xstate-reactor/sim`. */
const t = { describe, it, expect, afterEach };

const T0 = Date.UTC(2026, 0, 1);
let servers = 0;

/** A serving reactor on its own fake IndexedDB. */
function serve(options: { clock?: SimClock } = {}): Promise<Reactor> {
  servers += 1;
  return createReactor({
    id: 'server',
    models: [counterModel],
    storage: freshFakeStorage(`contract-server-${servers}`),
    ...options,
  });
}

/** A client's side of a transport: it serves nothing (the suite only calls out from it). */
const serveNothing: Endpoint = {
  push: () => Promise.reject(new Error('a contract client serves nothing')),
  pull: () => Promise.reject(new Error('a contract client serves nothing')),
  pokes: { subscribe: () => ({ unsubscribe() {} }) },
};

describeChannelContract(
  'connect (in memory)',
  async () => {
    const server = await serve();
    const channels: Channel[] = [];
    return {
      server,
      channel: (clientId) => {
        const channel = connect({ id: clientId, endpoint: serveNothing }, server);
        channels.push(channel);
        return channel;
      },
      close: async () => {
        for (const channel of channels) await channel.close();
        await server.stop();
      },
    };
  },
  t,
);

/** `connect` across a sim network on a SimClock, which the place's `run` lets run. */
function overSimNetwork(faults: SimNetworkFaults, seed: number) {
  return async (): Promise<ChannelPlace> => {
    const clock = new SimClock(T0);
    const network = createSimNetwork({ seed, clock, ...faults });
    const run = <T>(promise: Promise<T>) => runUntilSettled(clock, promise, { limitMs: 60_000 });
    const server = await run(serve({ clock }));
    const lossy = (faults.drop ?? 0) > 0 || (faults.duplicate ?? 0) > 0;
    return {
      server,
      channel: (clientId) => connect({ id: clientId, endpoint: serveNothing }, server, { network }),
      run,
      lossy,
      close: () => run(server.stop()),
    };
  };
}

describeChannelContract(
  'connect over a sim network, no faults (latency and jitter)',
  overSimNetwork({ latency: 5, jitter: 10 }, 11),
  t,
);

describeChannelContract(
  'connect over a sim network with faults (drop, duplicate, reorder)',
  overSimNetwork({ latency: 5, jitter: 10, drop: 0.2, duplicate: 0.2, reorder: 0.3 }, 12),
  t,
);

describeChannelContract(
  'createBroadcastTransport(…).channelTo',
  async () => {
    const channelName = `contract-${randomUUID()}`;
    const server = await serve();
    const transports: BroadcastTransport[] = [createBroadcastTransport(server, { channelName })];
    return {
      server,
      channel: (clientId) => {
        const tab: BroadcastReactor = {
          id: clientId,
          endpoint: serveNothing,
          sync: { add: async () => {}, remove: async () => {} },
        };
        const transport = createBroadcastTransport(tab, { channelName });
        transports.push(transport);
        return transport.channelTo(server.id);
      },
      close: async () => {
        for (const transport of transports) transport.close();
        await server.stop();
      },
    };
  },
  t,
);

describeChannelContract(
  'createWebSocketChannel to a switchboard',
  async () => {
    servers += 1;
    const board = await createSwitchboard({ port: 0, storage: freshFakeStorage(`contract-board-${servers}`) });
    const channels: Channel[] = [];
    return {
      server: board.reactor,
      channel: (clientId) => {
        const channel = createWebSocketChannel(board.url, { clientId, reconnect: { baseMs: 10, maxMs: 100 } });
        channels.push(channel);
        return channel;
      },
      close: async () => {
        for (const channel of channels) await channel.close();
        await board.close();
      },
    };
  },
  t,
);
