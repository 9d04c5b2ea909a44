import { classifyError } from '../model/errors.js';
import { encodeHlc } from '../model/hlc.js';
import { operationId } from '../model/operationId.js';
import type { Channel, Poke, PullResponse, PushResponse } from '../model/sync.js';
import type { TestApi } from '../model/testApi.js';
import { CREATE_DOCUMENT, type OperationEnvelope } from '../model/types.js';
import { systemClock } from '../platform/clock.js';
import type { Reactor } from '../reactor/types.js';

export type { TestApi } from '../model/testApi.js';

/**
 * A serving reactor and the channels that reach it, for one test of the channel contract. Each
 * test opens its own place and closes it.
 */
export interface ChannelPlace {
  /**
   * The reactor whose endpoint the channels reach. It must fold the `counter` model (as
   * `counterModel` of `xstate-reactor/sim` does) or relay documents of unknown models (a switchboard).
   */
  readonly server: Pick<Reactor, 'id' | 'operations'>;
  /**
   * A channel to the server from a client named `clientId`: the transport must name that client
   * as the peer of its requests (the source of its pushes). Each client id is asked for once.
   */
  channel(clientId: string): Channel | Promise<Channel>;
  /**
   * Waits for a promise of the suite. A place on simulated time lets its clock run here (see
   * `runUntilSettled`); by default the promise is awaited, and fails the test after 10 s.
   */
  run?<T>(promise: Promise<T>): Promise<T>;
  /**
   * True when requests, answers and pokes may be lost or doubled (a faulty sim network): the suite
   * then retries calls that fail retryably, as a remote does, and checks that `accepted` and
   * `duplicates` add up rather than their exact split.
   */
  readonly lossy?: boolean;
  /** Closes what the place opened (channels, transports, the server). */
  close(): Promise<void>;
}

// Stamped well in the past: no reactor's clock is behind it, so no op is refused for clock drift.
const WALL = Date.UTC(2020, 0, 1);
const ORIGIN = 'contract-origin';

/** Ops of one document, made elsewhere (by `origin`), as a peer would send them. */
function documentOps(documentId: string, origin = ORIGIN) {
  let n = 0;
  const op = (content: Partial<Omit<OperationEnvelope, 'id'>>): OperationEnvelope => {
    n += 1;
    const full = {
      documentId,
      scope: 'global' as const,
      branch: 'main',
      type: 'INCREMENT',
      input: { by: n },
      timestamp: encodeHlc({ wall: WALL + n, logical: 0 }, origin),
      origin,
      ...content,
    };
    return { id: operationId(full), ...full };
  };
  return {
    create: () => op({ scope: 'document', type: CREATE_DOCUMENT, input: { model: 'counter' } }),
    increment: () => op({}),
    increments: (count: number) => Array.from({ length: count }, () => op({})),
    local: () => op({ scope: 'local' }),
  };
}

const idsOf = (operations: readonly { id: string }[]) => operations.map((operation) => operation.id);
const sorted = (ids: readonly string[]) => [...ids].sort();

/** Awaits a promise, failing after `ms` instead of hanging. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = systemClock.setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        systemClock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        systemClock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * The channel contract (see `Channel` in docs/sync.md): the suite every transport passes. It
 * defines one `describe` block of tests with the given test functions (vitest's or jest's); each
 * test opens a fresh place with `open()` and closes it afterwards. What it checks:
 *
 * - a push is answered once its ops are stored there, with the right `accepted`, `duplicates` and
 *   `rejected`, and its cursor;
 * - one bad op in a push is refused alone (a forged id, a `local` op), the rest is stored;
 * - a pull pages by cursor, `limit` at a time, with `hasMore` until the end, each op once;
 * - a pull leaves out the requester's own ops, made and pushed by it (the transport names the
 *   peer; the body's `from` does not count);
 * - pokes arrive after a push from elsewhere, and the pushed ops can be pulled by then;
 * - `close()` makes later calls fail without hanging, settles calls in flight, and leaves other
 *   channels to the server working.
 *
 * ```ts
 * import { afterEach, describe, expect, it } from 'vitest';
 * import { describeChannelContract } from 'xstate-reactor/sim';
 *
 * describeChannelContract('my transport', async () => ({ server, channel: (id) => …, close: … }), {
 *   describe, it, expect, afterEach,
 * });
 * ```
 */
export function describeChannelContract(name: string, open: () => Promise<ChannelPlace>, t: TestApi): void {
  const { describe, it, expect, afterEach } = t;

  describe(`channel contract: ${name}`, () => {
    let place: ChannelPlace | undefined;
    let documents = 0;
    afterEach(async () => {
      const opened = place;
      place = undefined;
      await opened?.close();
    });

    /** A fresh place, its `run`, and a call helper that retries lost requests on a lossy place. */
    const setUp = async () => {
      place = await open();
      const where = place;
      const run = <T>(promise: Promise<T>): Promise<T> =>
        where.run === undefined ? bounded(promise, 10_000) : where.run(promise);
      const call = async <T>(request: () => Promise<T>): Promise<T> => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await run(request());
          } catch (error) {
            if (where.lossy !== true || attempt >= 20 || !classifyError(error).retryable) throw error;
          }
        }
      };
      const channel = async (clientId: string) => run(Promise.resolve(where.channel(clientId)));
      documents += 1;
      const documentId = `contract-doc-${documents}`;
      return {
        place: where,
        run,
        call,
        channel,
        ops: documentOps(documentId),
        opsBy: (origin: string) => documentOps(documentId, origin),
      };
    };

    /** Checks a push answer: exact counts on a reliable place, their sum on a lossy one. */
    const expectCounts = (
      where: ChannelPlace,
      response: PushResponse,
      expected: { accepted: number; duplicates: number },
    ) => {
      if (where.lossy === true) {
        expect(response.accepted + response.duplicates).toBe(expected.accepted + expected.duplicates);
        expect(response.accepted).toBeLessThanOrEqual(expected.accepted);
      } else {
        expect({ accepted: response.accepted, duplicates: response.duplicates }).toEqual(expected);
      }
      if (response.from !== undefined) expect(response.from).toBe(where.server.id);
    };

    /** Pulls everything past `cursor`, page by page. */
    const pullAll = async (
      call: <T>(request: () => Promise<T>) => Promise<T>,
      channel: Channel,
      cursor = 0,
      limit = 100,
    ) => {
      const pages: PullResponse[] = [];
      let next = cursor;
      for (let page = 0; page < 100; page++) {
        const response = await call(() => channel.pull({ cursor: next, limit }));
        pages.push(response);
        next = response.cursor;
        if (!response.hasMore) break;
      }
      return { pages, cursor: next, operations: pages.flatMap((page) => page.operations) };
    };

    it('answers a push once its ops are stored there, counting accepted and duplicates', async () => {
      const { place, call, channel, ops } = await setUp();
      const writer = await channel('writer');
      const create = ops.create();
      const [first, second, third] = ops.increments(3) as [OperationEnvelope, OperationEnvelope, OperationEnvelope];
      const documentId = create.documentId;

      const answer = await call(() => writer.push({ from: 'writer', operations: [create, first, second], cursor: 3 }));
      expectCounts(place, answer, { accepted: 3, duplicates: 0 });
      expect(answer.rejected).toEqual([]);
      expect(answer.cursor).toBe(3);
      // Stored by the time the answer arrives.
      expect(idsOf(await place.server.operations(documentId, { scope: 'document' }))).toEqual([create.id]);
      expect(sorted(idsOf(await place.server.operations(documentId)))).toEqual(sorted([first.id, second.id]));

      const again = await call(() => writer.push({ from: 'writer', operations: [second, third], cursor: 5 }));
      expectCounts(place, again, { accepted: 1, duplicates: 1 });
      expect(again.rejected).toEqual([]);
      expect(again.cursor).toBe(5);
      const stored = idsOf(await place.server.operations(documentId));
      expect(sorted(stored)).toEqual(sorted([first.id, second.id, third.id]));
    });

    it('refuses a bad op in a push alone and stores the rest', async () => {
      const { place, call, channel, ops } = await setUp();
      const writer = await channel('writer');
      const create = ops.create();
      const good = ops.increment();
      const honest = ops.increment();
      const forged = { ...honest, input: { by: 1_000_000 } };
      const local = ops.local();

      const answer = await call(() =>
        writer.push({ from: 'writer', operations: [create, forged, good, local], cursor: 4 }),
      );
      expectCounts(place, answer, { accepted: 2, duplicates: 0 });
      expect(sorted(answer.rejected.map((refusal) => refusal.id))).toEqual(sorted([forged.id, local.id]));
      expect(answer.rejected.find((refusal) => refusal.id === forged.id)?.reason).toMatchObject({ kind: 'protocol' });
      expect(answer.rejected.find((refusal) => refusal.id === local.id)?.reason).toMatchObject({ kind: 'auth' });
      expect(idsOf(await place.server.operations(create.documentId))).toEqual([good.id]);
      expect(await place.server.operations(create.documentId, { scope: 'local' })).toEqual([]);
    });

    it('pages a pull by cursor, limit ops at a time, with hasMore until the end', async () => {
      const { call, channel, ops } = await setUp();
      const writer = await channel('writer');
      const reader = await channel('reader');
      const pushed = [ops.create(), ...ops.increments(6)];
      await call(() => writer.push({ from: 'writer', operations: pushed, cursor: pushed.length }));

      const { pages, cursor, operations } = await pullAll(call, reader, 0, 3);
      expect(sorted(idsOf(operations))).toEqual(sorted(idsOf(pushed)));
      expect(pages.length).toBeGreaterThanOrEqual(3);
      for (const [i, page] of pages.entries()) {
        expect(page.operations.length).toBeLessThanOrEqual(3);
        expect(page.hasMore).toBe(i < pages.length - 1);
        if (i > 0) expect(page.cursor).toBeGreaterThan((pages[i - 1] as PullResponse).cursor);
      }
      // Past the end: nothing, and the cursor stays.
      const end = await call(() => reader.pull({ cursor, limit: 3 }));
      expect(end).toMatchObject({ operations: [], cursor, hasMore: false });
    });

    it("leaves the requester's own ops (made and pushed by it) out of its pulls; the transport names the peer", async () => {
      const { call, channel, opsBy } = await setUp();
      const writer = await channel('writer');
      const reader = await channel('reader');
      const ops = opsBy('writer');
      const pushed = [ops.create(), ...ops.increments(2)];
      // The source of pushed ops is the peer the transport names, not what the body claims.
      await call(() => writer.push({ from: 'not-the-writer', operations: pushed, cursor: 3 }));
      const own = await pullAll(call, writer);
      expect(own.operations).toEqual([]);
      const theirs = await pullAll(call, reader);
      expect(sorted(idsOf(theirs.operations))).toEqual(sorted(idsOf(pushed)));
      expect(own.cursor).toBe(theirs.cursor);
    });

    it('pokes a client after a push from elsewhere; the pushed ops can be pulled by then', async () => {
      const { place, run, call, channel, ops } = await setUp();
      const writer = await channel('writer');
      const reader = await channel('reader');
      expect(reader.pokes).toBeDefined();
      const before = (await pullAll(call, reader)).cursor;
      const pokes: Poke[] = [];
      let poked: () => void = () => {};
      const firstPoke = new Promise<void>((resolve) => {
        poked = resolve;
      });
      const subscription = reader.pokes?.subscribe((poke) => {
        // A transport may poke once it (re)connects: only a poke past `before` tells of the push.
        if (poke.cursor <= before) return;
        pokes.push(poke);
        poked();
      });
      try {
        const pushed = [ops.create(), ...ops.increments(2)];
        await call(() => writer.push({ from: 'writer', operations: pushed, cursor: 3 }));
        // A lossy network may lose a poke: a few more pushes, until one gets through.
        for (let more = 0; place.lossy === true && pokes.length === 0 && more < 5; more++) {
          const extra = ops.increment();
          pushed.push(extra);
          await call(() => writer.push({ from: 'writer', operations: [extra], cursor: 3 + more + 1 }));
        }
        await run(firstPoke);
        const since = await pullAll(call, reader, before);
        expect(sorted(idsOf(since.operations))).toEqual(sorted(idsOf(pushed)));
        expect(since.cursor).toBeGreaterThanOrEqual((pokes[0] as Poke).cursor);
      } finally {
        subscription?.unsubscribe();
      }
    });

    it('after close(), calls fail without hanging; calls in flight settle; other channels still work', async () => {
      const { run, call, channel, ops } = await setUp();
      const closing = await channel('closing');
      const other = await channel('other');
      await call(() => closing.pull({ cursor: 0, limit: 10 }));

      const inFlight = closing.pull({ cursor: 0, limit: 10 }).then(
        () => 'resolved',
        () => 'rejected',
      );
      await run(Promise.resolve(closing.close()));
      expect(['resolved', 'rejected']).toContain(await run(inFlight));
      if (closing.connection !== undefined) expect(closing.connection.state).toBe('closed');

      const failed = async (request: () => Promise<unknown>) =>
        run(
          request().then(
            () => undefined,
            (error: unknown) => error,
          ),
        );
      const create = ops.create();
      expect(await failed(() => closing.push({ from: 'closing', operations: [create], cursor: 1 }))).toBeDefined();
      expect(await failed(() => closing.pull({ cursor: 0, limit: 10 }))).toBeDefined();
      // Closing twice is harmless.
      await run(Promise.resolve(closing.close()));

      const answer = await call(() => other.push({ from: 'other', operations: [create], cursor: 1 }));
      expect(answer.accepted + answer.duplicates).toBe(1);
    });
  });
}
