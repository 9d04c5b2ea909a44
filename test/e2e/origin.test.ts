import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKGROUND_TAB_ARGS, CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, warnNoChromium } from '../chromium.js';
import { healthUntil, killAllServers, startServer } from '../server/serverProcess.js';

// The app open in several tabs: pages of one Chromium context (one origin, so one IndexedDB, one
// Web Locks manager, one BroadcastChannel space), each calling createReactor on the default
// database as every tab of an app does. Debian's Chromium, never a download.
const hasChromium = chromiumAvailable();
if (!hasChromium) warnNoChromium('test/e2e/origin.test.ts');

const repo = fileURLToPath(new URL('../..', import.meta.url));
const poll = { timeout: 20_000, interval: 50 };
const LEADER_LOCK = 'xstate-reactor:leader:xstate-reactor';

describe.skipIf(!hasChromium)('the app open in several tabs of one origin (real Chromium)', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let url: string;
  let context: BrowserContext;
  /** Writes acknowledged to their page, by tag, as each page reported them. */
  let acked: Map<string, number>;

  beforeAll(async () => {
    server = await createServer({
      configFile: false,
      root: fileURLToPath(new URL('./origin/', import.meta.url)),
      cacheDir: `${repo}node_modules/.vite/e2e-origin`,
      logLevel: 'error',
      server: { host: '127.0.0.1', port: 0, fs: { allow: [repo] }, hmr: false },
      optimizeDeps: { include: ['dexie', 'rxjs', 'xstate', '@xstate/store', 'valibot', '@noble/hashes/sha2.js'] },
    });
    await server.listen();
    const local = server.resolvedUrls?.local[0];
    if (local === undefined) throw new Error('the Vite dev server did not report its URL');
    url = local;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS, ...BACKGROUND_TAB_ARGS],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await killAllServers();
  });

  afterEach(async () => {
    await context?.close();
  });

  /** A fresh browser profile: its IndexedDB starts empty. */
  async function freshProfile() {
    context = await browser.newContext();
    acked = new Map();
    await context.exposeFunction('reportAck', (tag: string) => {
      acked.set(tag, (acked.get(tag) ?? 0) + 1);
    });
  }

  /** A page with the app loaded but no reactor opened yet. */
  async function loadPage(): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => {
      throw new Error(`page error: ${error.message}`);
    });
    await page.goto(url);
    await page.waitForFunction(() => window.app !== undefined);
    return page;
  }

  /** A tab of the app: the page, with its reactor open. */
  async function openTab(options: { server?: string; leaderTimeoutMs?: number } = {}): Promise<Page> {
    const page = await loadPage();
    await page.evaluate((o) => window.app!.open(o), options);
    return page;
  }

  const roleOf = (page: Page) => page.evaluate(() => window.app!.role());
  const countIn = (page: Page, id: string) => page.evaluate((doc) => window.app!.count(doc), id);
  const tagsIn = (page: Page, id: string) => page.evaluate((doc) => window.app!.tags(doc), id);
  const failuresIn = (page: Page) => page.evaluate(() => window.app!.failures());
  /** Holders of the leader lock in this profile, as the browser's lock manager reports them. */
  const leaderHolders = (page: Page) =>
    page.evaluate(
      async (name) => (await navigator.locks.query()).held?.filter((lock) => lock.name === name).length ?? 0,
      LEADER_LOCK,
    );
  async function leadersAmong(pages: readonly Page[]): Promise<number> {
    const roles = await Promise.all(pages.map(roleOf));
    return roles.filter((role) => role === 'leader').length;
  }
  const tags = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

  /** Each tag of `wanted` is in `log` exactly once. */
  function expectOnce(log: readonly string[], wanted: Iterable<string>) {
    const seen = new Map<string, number>();
    for (const tag of log) seen.set(tag, (seen.get(tag) ?? 0) + 1);
    const missing = [...wanted].filter((tag) => seen.get(tag) !== 1);
    expect(missing, 'acknowledged writes missing or doubled').toEqual([]);
    expect(new Set(log).size, 'an op appears twice').toBe(log.length);
  }

  it('three tabs on the default database write into one document at once: one leader, every write once in every tab', async () => {
    await freshProfile();
    const pages = [await openTab(), await openTab(), await openTab()];
    expect(await Promise.all(pages.map(roleOf))).toEqual(['leader', 'follower', 'follower']);
    expect(new Set(await Promise.all(pages.map((page) => page.evaluate(() => window.app!.id())))).size).toBe(1);

    await pages[1]!.evaluate(() => window.app!.createDocument('shared'));
    const sampled: number[] = [];
    await Promise.all([
      ...pages.map((page, i) => page.evaluate((t) => window.app!.increment('shared', t), tags(`p${i}`, 40))),
      (async () => {
        for (let i = 0; i < 5; i += 1) sampled.push(await leaderHolders(pages[0]!));
      })(),
    ]);
    expect(sampled.every((holders) => holders === 1)).toBe(true);
    expect(await leadersAmong(pages)).toBe(1);
    for (const page of pages) await expect.poll(() => countIn(page, 'shared'), poll).toBe(120);
    const log = await tagsIn(pages[0]!, 'shared');
    expectOnce(log, [...tags('p0', 40), ...tags('p1', 40), ...tags('p2', 40)]);
    for (const page of pages.slice(1)) expect(await tagsIn(page, 'shared')).toEqual(log);
    // One database for the origin: the default one.
    const names = await pages[0]!.evaluate(async () => (await indexedDB.databases()).map((db) => db.name));
    expect(names).toEqual(['xstate-reactor']);
  }, 90_000);

  it('the leader tab closes mid-burst: the others carry on, and every acknowledged write is there once', async () => {
    await freshProfile();
    const [a, b, c] = [await openTab(), await openTab(), await openTab()];
    await a!.evaluate(() => window.app!.createDocument('doc'));
    for (const [page, prefix] of [
      [a, 'a'],
      [b, 'b'],
      [c, 'c'],
    ] as const) {
      await page!.evaluate((p) => window.app!.startBurst('doc', p, 150), prefix);
    }
    await expect.poll(() => [...acked.keys()].filter((tag) => tag.startsWith('b-')).length, poll).toBeGreaterThan(20);
    await a!.close({ runBeforeUnload: false });
    for (const page of [b, c]) await expect.poll(() => page!.evaluate(() => window.app!.burstsDone()), poll).toBe(true);
    expect(await failuresIn(b!)).toEqual([]);
    expect(await failuresIn(c!)).toEqual([]);
    expect(await leadersAmong([b!, c!])).toBe(1);
    const log = await tagsIn(b!, 'doc');
    // The survivors' writes all resolved; the closed tab's acknowledged ones are kept too.
    expectOnce(log, [...tags('b', 150), ...tags('c', 150), ...[...acked.keys()].filter((tag) => tag.startsWith('a-'))]);
    expect([...acked.values()].every((times) => times === 1)).toBe(true);
    await expect.poll(() => countIn(c!, 'doc'), poll).toBe(log.length);
    expect(await tagsIn(c!, 'doc')).toEqual(log);
  }, 90_000);

  it('the leader tab crashes holding writes not yet pushed: the new leader pushes them, the switchboard has each once', async () => {
    await freshProfile();
    // The switchboard is down while the tabs write (nothing listens on its port yet).
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), 'origin-e2e-'));
    try {
      const address = `ws://127.0.0.1:${port}`;
      const a = await openTab({ server: address });
      const b = await openTab({ server: address });
      expect(await roleOf(a)).toBe('leader');
      await a.evaluate(() => window.app!.createDocument('doc'));
      await a.evaluate((t) => window.app!.increment('doc', t), tags('a', 20));
      await b.evaluate((t) => window.app!.increment('doc', t), tags('b', 10));
      expect(await a.evaluate(() => window.app!.remote()?.pending)).toBeGreaterThan(0);

      const cdp = await context.newCDPSession(a);
      const crashed = new Promise<void>((done) => a.once('crash', () => done()));
      void cdp.send('Page.crash').catch(() => {});
      await crashed;
      await expect.poll(() => roleOf(b), poll).toBe('leader');

      const board = await startServer({ data, port });
      // The create and all 30 increments, each stored once.
      await healthUntil(board.port, (health) => health.ordinal >= 31, 20_000);
      await b.evaluate(() => window.app!.settled());
      expect((await board.health()).ordinal).toBe(31);
      expect(await b.evaluate(() => window.app!.remote()?.pending)).toBe(0);
      await board.kill('SIGTERM');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  }, 90_000);

  it('a leader whose lock is taken away cannot commit: it follows, and its writes land once through the next leader', async () => {
    await freshProfile();
    const a = await openTab();
    const b = await openTab();
    await a.evaluate(() => window.app!.createDocument('doc'));
    await a.evaluate((t) => window.app!.increment('doc', t), tags('before', 3));
    // Another page of the origin takes the lock by force and holds it.
    const thief = await loadPage();
    await thief.evaluate(
      (name) =>
        new Promise<void>((granted) => {
          void navigator.locks.request(name, { steal: true }, () => {
            granted();
            return new Promise<void>((release) => {
              (window as unknown as { release: () => void }).release = release;
            });
          });
        }),
      LEADER_LOCK,
    );
    await expect.poll(() => roleOf(a), poll).toBe('follower');
    // Writes made now wait: no tab leads, so nothing commits.
    const writes = Promise.all([
      a.evaluate((t) => window.app!.increment('doc', t), tags('a', 5)),
      b.evaluate((t) => window.app!.increment('doc', t), tags('b', 5)),
    ]);
    expect(await thief.evaluate(() => window.app!.rawOperationCount())).toBe(4);
    await thief.evaluate(() => (window as unknown as { release: () => void }).release());
    await writes;
    expect(await leadersAmong([a, b])).toBe(1);
    const log = await tagsIn(a, 'doc');
    expectOnce(log, [...tags('before', 3), ...tags('a', 5), ...tags('b', 5)]);
    for (const page of [a, b]) await expect.poll(() => countIn(page, 'doc'), poll).toBe(13);
  }, 90_000);

  it('a hung leader is replaced; when it wakes it cannot commit, follows, and its writes in flight land once through the new leader', async () => {
    await freshProfile();
    const a = await openTab({ leaderTimeoutMs: 500 });
    const b = await openTab({ leaderTimeoutMs: 500 });
    await a.evaluate(() => window.app!.createDocument('doc'));
    // The leader starts three writes, then its main thread hangs for 3 s (a frozen tab): it
    // holds the lock but neither commits nor answers.
    const hung = a.evaluate(() => {
      window.app!.startBurst('doc', 'a-hung', 3, 3);
      const until = performance.now() + 3_000;
      while (performance.now() < until) {
        // busy
      }
    });
    // b waits for an answer, takes the lock over after 500 ms, and commits its writes itself.
    await b.evaluate((t) => window.app!.increment('doc', t), tags('b', 3));
    expect(await roleOf(b)).toBe('leader');
    await hung;
    // Awake, a finds its lock gone (or its commit fenced): it follows and commits nothing itself.
    await expect.poll(() => roleOf(a), poll).toBe('follower');
    await expect.poll(() => a.evaluate(() => window.app!.burstsDone()), poll).toBe(true);
    // The writes it had in flight went on to b under their write ids: each resolved, applied once.
    expect(await failuresIn(a)).toEqual([]);
    await a.evaluate((t) => window.app!.increment('doc', t), tags('a', 3));
    const log = await tagsIn(b, 'doc');
    expectOnce(log, [...tags('b', 3), ...tags('a', 3), ...tags('a-hung', 3)]);
    expect(await leadersAmong([a, b])).toBe(1);
    for (const page of [a, b]) await expect.poll(() => countIn(page, 'doc'), poll).toBe(log.length);
  }, 90_000);

  it('a tab opened later shows the same state, and reloading every tab keeps the database working', async () => {
    await freshProfile();
    const a = await openTab();
    const b = await openTab();
    await a.evaluate(() => window.app!.createDocument('doc'));
    await b.evaluate((t) => window.app!.increment('doc', t), tags('b', 4));
    const later = await openTab();
    expect(await countIn(later, 'doc')).toBe(4);
    // Reload the leader first, then the rest; each reopens the reactor (this used to brick the database).
    for (const page of [a, b, later]) {
      await page.reload();
      await page.waitForFunction(() => window.app !== undefined);
      await page.evaluate(() => window.app!.open());
    }
    expect(await leadersAmong([a, b, later])).toBe(1);
    for (const [i, page] of [a, b, later].entries()) {
      await page.evaluate((t) => window.app!.increment('doc', t), tags(`after${i}`, 2));
    }
    for (const page of [a, b, later]) await expect.poll(() => countIn(page, 'doc'), poll).toBe(10);
    expectOnce(await tagsIn(later, 'doc'), [
      ...tags('b', 4),
      ...tags('after0', 2),
      ...tags('after1', 2),
      ...tags('after2', 2),
    ]);
  }, 90_000);
});

/** A TCP port nothing listens on now (on 127.0.0.1). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject()));
    });
  });
}
