import { describe, expect, it } from 'vitest';
import { createActor, type EventObject, fromCallback, SimulatedClock } from 'xstate';
import { type ConnectionEvent, connectionMachine } from '../../src/machines/connection.js';
import type { ConnectionReport, WebSocketConnectionInput } from '../../src/model/connection.js';
import type { ReactorErrorData } from '../../src/model/errors.js';
import { backoffDelay, nextRandom } from '../../src/model/random.js';

const reconnect = { baseMs: 100, maxMs: 1000 };

/**
 * The WebSocket connection statechart on a SimulatedClock, with fake IO: the `link` actor records
 * every report the statechart makes to its channel, and each `socket` actor (one per session) is a
 * handle the test uses to say what the socket did.
 */
function harness(input: Partial<WebSocketConnectionInput> = {}) {
  const clock = new SimulatedClock();
  const reports: ConnectionReport[] = [];
  const sockets: { url: string; tell: (event: ConnectionEvent) => void; stopped: boolean }[] = [];
  const link = { stopped: false };
  const machine = connectionMachine.provide({
    actors: {
      link: fromCallback<EventObject, { remote?: string }>(({ receive }) => {
        receive((event) => reports.push(event as ConnectionReport));
        return () => {
          link.stopped = true;
        };
      }),
      socket: fromCallback<EventObject, { url?: string }>(({ input: socketInput, sendBack }) => {
        const socket = { url: socketInput.url ?? '', tell: sendBack, stopped: false };
        sockets.push(socket);
        return () => {
          socket.stopped = true;
        };
      }),
    },
  });
  const actor = createActor(machine, { input: { url: 'ws://switchboard', reconnect, seed: 7, ...input }, clock });
  actor.start();

  const socket = () => {
    const last = sockets.at(-1);
    if (last === undefined) throw new Error('no socket was opened');
    return last;
  };
  const network = (message: string): ReactorErrorData => ({ kind: 'network', message, retryable: true });
  return {
    actor,
    clock,
    reports,
    sockets,
    link,
    socket,
    value: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
    /** The states reported to the channel, repeats in a row collapsed. */
    reported: () => reports.map((r) => r.state).filter((state, i, all) => state !== all[i - 1]),
    open: () => socket().tell({ type: 'socket.opened' }),
    welcome: (serverId = 'server-1') => {
      socket().tell({ type: 'socket.opened' });
      socket().tell({ type: 'socket.welcomed', serverId, maxFrameBytes: 4096 });
    },
    drop: (message = 'connection closed: code 1006') =>
      socket().tell({ type: 'socket.closed', error: network(message) }),
    serverError: (error: ReactorErrorData) => socket().tell({ type: 'socket.errorReceived', error }),
  };
}

describe('WebSocket connection statechart', () => {
  it('opens a socket, waits for the welcome, and is online', () => {
    const h = harness();
    expect(h.value()).toEqual({ session: 'connecting' });
    expect(h.sockets).toHaveLength(1);
    expect(h.socket().url).toBe('ws://switchboard');
    h.open();
    expect(h.value()).toEqual({ session: 'handshaking' });
    // Still `connecting` to the channel: requests wait until the server welcomes.
    expect(h.reported()).toEqual(['connecting']);
    h.socket().tell({ type: 'socket.welcomed', serverId: 'server-1', maxFrameBytes: 4096 });
    expect(h.value()).toEqual({ session: 'online' });
    expect(h.reports.at(-1)).toEqual({
      type: 'connection.changed',
      state: 'online',
      attempts: 0,
      serverId: 'server-1',
      maxFrameBytes: 4096,
    });
  });

  it('a drop backs off, then connects again on a new socket; a welcome resets the attempts', () => {
    const h = harness();
    h.welcome();
    h.drop();
    expect(h.value()).toBe('backingOff');
    expect(h.sockets[0]?.stopped).toBe(true);
    expect(h.reports.at(-1)).toMatchObject({
      state: 'offline',
      attempts: 1,
      lastError: { kind: 'network', message: 'connection closed: code 1006' },
    });
    const delay = h.context().delayMs;
    h.clock.increment(delay - 1);
    expect(h.sockets).toHaveLength(1);
    h.clock.increment(1);
    expect(h.value()).toEqual({ session: 'connecting' });
    expect(h.sockets).toHaveLength(2);
    h.welcome();
    expect(h.context()).toMatchObject({ attempts: 0, lastError: undefined });
    expect(h.reported()).toEqual(['connecting', 'online', 'offline', 'connecting', 'online']);
  });

  it('backs off exponentially from baseMs, capped at maxMs, jittered by the seeded PRNG in context', () => {
    const h = harness({ seed: 42 });
    let seed = 42;
    for (let attempt = 0; attempt < 8; attempt++) {
      h.socket().tell({ type: 'socket.failed', error: { kind: 'network', message: 'refused', retryable: true } });
      expect(h.value()).toBe('backingOff');
      const [draw, next] = nextRandom(seed);
      seed = next;
      const ceiling = Math.min(reconnect.maxMs, reconnect.baseMs * 2 ** attempt);
      const delay = h.context().delayMs;
      expect(delay).toBe(backoffDelay(attempt, draw, reconnect.baseMs, reconnect.maxMs));
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
      h.clock.increment(delay);
      expect(h.sockets).toHaveLength(attempt + 2);
    }
    expect(h.context().attempts).toBe(8);
    // After the cap, every delay stays within [maxMs / 2, maxMs].
    expect(h.context().delayMs).toBeLessThanOrEqual(reconnect.maxMs);
  });

  it('the same seed gives the same delays', () => {
    const delays = (seed: number) => {
      const h = harness({ seed });
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) {
        h.drop();
        seen.push(h.context().delayMs);
        h.clock.increment(h.context().delayMs);
      }
      return seen;
    };
    expect(delays(3)).toEqual(delays(3));
    expect(delays(3)).not.toEqual(delays(4));
  });

  it.each([
    ['auth', 'handshaking'],
    ['protocol', 'handshaking'],
    ['auth', 'online'],
    ['protocol', 'online'],
  ] as const)('a server %s error while %s is a refusal: no reconnecting', (kind, where) => {
    const h = harness();
    h.open();
    if (where === 'online') h.socket().tell({ type: 'socket.welcomed', serverId: 's', maxFrameBytes: 4096 });
    h.serverError({ kind, message: `${kind} says no`, retryable: false });
    expect(h.value()).toBe('refused');
    expect(h.socket().stopped).toBe(true);
    expect(h.reports.at(-1)).toMatchObject({ state: 'refused', lastError: { kind, message: `${kind} says no` } });
    h.clock.increment(60_000);
    expect(h.sockets).toHaveLength(1);
    expect(h.value()).toBe('refused');
  });

  it('other connection-level errors and unreadable frames are recorded, and the connection stays', () => {
    const h = harness();
    h.welcome();
    h.serverError({ kind: 'stopped', message: 'shutting down', retryable: true });
    expect(h.value()).toEqual({ session: 'online' });
    expect(h.reports.at(-1)).toMatchObject({ state: 'online', lastError: { kind: 'stopped' } });
    h.socket().tell({ type: 'socket.unreadable', error: { kind: 'protocol', message: 'not JSON', retryable: false } });
    expect(h.value()).toEqual({ session: 'online' });
    expect(h.context().lastError).toMatchObject({ kind: 'protocol', message: 'not JSON' });
    expect(h.sockets).toHaveLength(1);
  });

  it('a socket actor that fails counts as a failed attempt', () => {
    const machine = connectionMachine.provide({
      actors: {
        link: fromCallback(() => () => {}),
        socket: fromCallback(() => {
          throw new Error('no WebSocket here');
        }),
      },
    });
    const actor = createActor(machine, {
      input: { url: 'ws://switchboard', reconnect, seed: 1 },
      clock: new SimulatedClock(),
    });
    actor.start();
    expect(actor.getSnapshot().value).toBe('backingOff');
    expect(actor.getSnapshot().context).toMatchObject({ attempts: 1, lastError: { message: 'no WebSocket here' } });
    actor.stop();
  });

  const drive: Record<string, (h: ReturnType<typeof harness>) => void> = {
    connecting: () => {},
    handshaking: (h) => h.open(),
    online: (h) => h.welcome(),
    backingOff: (h) => h.drop(),
    refused: (h) => {
      h.open();
      h.serverError({ kind: 'auth', message: 'bad token', retryable: false });
    },
  };
  it.each(Object.keys(drive))('closes from %s: the statechart ends, its socket closed', (state) => {
    const h = harness();
    drive[state]?.(h);
    h.actor.send({ type: 'connection.close' });
    expect(h.value()).toBe('closed');
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.reports.at(-1)?.state).toBe('closed');
    expect(h.sockets.every((socket) => socket.stopped)).toBe(true);
    expect(h.link.stopped).toBe(true);
    h.clock.increment(60_000);
    expect(h.sockets.length).toBeLessThanOrEqual(1);
  });

  it('released (another statechart runs the channel now), it ends without a report', () => {
    const h = harness();
    h.welcome();
    const reported = h.reports.length;
    h.actor.send({ type: 'connection.release' });
    expect(h.value()).toBe('detached');
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.reports).toHaveLength(reported);
    expect(h.socket().stopped).toBe(true);
  });

  it('resumes where an earlier statechart of the channel ended: refused or closed stay so', () => {
    const lastError: ReactorErrorData = { kind: 'auth', message: 'bad token', retryable: false };
    const refused = harness({ resume: { state: 'refused', lastError } });
    expect(refused.value()).toBe('refused');
    expect(refused.sockets).toHaveLength(0);
    expect(refused.reports).toEqual([{ type: 'connection.changed', state: 'refused', attempts: 0, lastError }]);
    const closed = harness({ resume: { state: 'closed' } });
    expect(closed.value()).toBe('closed');
    expect(closed.actor.getSnapshot().status).toBe('done');
    expect(closed.sockets).toHaveLength(0);
    expect(closed.reports).toEqual([]);
  });
});
