import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKGROUND_TAB_ARGS, CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, warnNoChromium } from '../chromium.js';

// Tabs of one browser syncing over BroadcastChannel: pages of one Chromium context (Debian's,
// never a download), each serving test/e2e/tabs/ with its own reactor and IndexedDB database.
const hasChromium = chromiumAvailable();
if (!hasChromium) warnNoChromium('test/e2e/tabs.test.ts');

const repo = fileURLToPath(new URL('../..', import.meta.url));
const poll = { timeout: 15_000, interval: 50 };

type Shown = { count: number; revision: number; hash: string } | undefined;

describe.skipIf(!hasChromium)('tabs of one browser, over BroadcastChannel', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let url: string;
  let context: BrowserContext;
  let channelName: string;
  let runs = 0;

  beforeAll(async () => {
    server = await createServer({
      configFile: false,
      root: fileURLToPath(new URL('./tabs/', import.meta.url)),
      cacheDir: `${repo}node_modules/.vite/e2e-tabs`,
      logLevel: 'error',
      server: { host: '127.0.0.1', port: 0, fs: { allow: [repo] }, hmr: false },
      optimizeDeps: { include: ['dexie', 'rxjs', 'xstate', '@xstate/store', 'valibot'] },
    });
    await server.listen();
    const local = server.resolvedUrls?.local[0];
    if (local === undefined) throw new Error('the Vite dev server did not report its URL');
    url = local;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      // Every tab but one is in the background; their timers must not be throttled.
      args: [...CHROMIUM_ARGS, ...BACKGROUND_TAB_ARGS],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  afterEach(async () => {
    await context?.close();
  });

  /** A tab with its reactor `id` open on its own database, following the other tabs. */
  async function openTab(id: string): Promise<Page> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    await page.waitForFunction(() => window.tab !== undefined);
    await page.evaluate((options) => window.tab!.open(options), { id, dbName: `tabs-${id}`, channelName });
    expect(errors).toEqual([]);
    return page;
  }

  const documentIn = (page: Page, id: string): Promise<Shown> => page.evaluate((doc) => window.tab!.document(doc), id);
  const peersOf = (page: Page) => page.evaluate(() => window.tab!.peers());
  const remotesOf = (page: Page) => page.evaluate(() => window.tab!.remotes());

  async function freshContext() {
    runs += 1;
    channelName = `xstate-reactor-e2e-${runs}`;
    context = await browser.newContext();
  }

  it('syncs a document written in both tabs, each tab on its own database, to the same state', async () => {
    await freshContext();
    const a = await openTab('alice');
    const b = await openTab('bob');
    await expect.poll(() => peersOf(a), poll).toEqual(['bob']);
    await expect.poll(() => peersOf(b), poll).toEqual(['alice']);
    // Each tab follows the other with a ping-pong remote named after it.
    await expect.poll(() => remotesOf(a), poll).toEqual([{ name: 'tab:bob', mode: 'ping-pong', phase: 'idle' }]);
    await expect.poll(() => remotesOf(b), poll).toEqual([{ name: 'tab:alice', mode: 'ping-pong', phase: 'idle' }]);

    await a.evaluate(() => window.tab!.createDocument('shared'));
    await expect.poll(() => documentIn(b, 'shared'), poll).toMatchObject({ count: 0 });
    // Both write at once: alice 1 + 2 + 3, bob 10 + 20.
    await Promise.all([
      a.evaluate(() => window.tab!.increment('shared', [1, 2, 3])),
      b.evaluate(() => window.tab!.increment('shared', [10, 20])),
    ]);
    await expect.poll(() => documentIn(a, 'shared'), poll).toMatchObject({ count: 36, revision: 5 });
    await expect.poll(() => documentIn(b, 'shared'), poll).toMatchObject({ count: 36, revision: 5 });
    expect(await documentIn(b, 'shared')).toEqual(await documentIn(a, 'shared'));

    // The same log on both sides, each op once, from both writers.
    const log = await a.evaluate(() => window.tab!.log('shared'));
    expect(new Set(log).size).toBe(5);
    expect(await b.evaluate(() => window.tab!.log('shared'))).toEqual(log);
    const origins = await a.evaluate(() => window.tab!.origins('shared'));
    expect(origins.filter((origin) => origin === 'alice')).toHaveLength(3);
    expect(origins.filter((origin) => origin === 'bob')).toHaveLength(2);
    // Two databases in the origin's IndexedDB, one per tab.
    const names = await a.evaluate(async () => (await indexedDB.databases()).map((db) => db.name));
    expect(names).toEqual(expect.arrayContaining(['tabs-alice', 'tabs-bob']));
  }, 60_000);

  it('brings a tab opened later up to date, and drops a tab’s remote when that tab leaves', async () => {
    await freshContext();
    const a = await openTab('ann');
    const b = await openTab('ben');
    await expect.poll(() => peersOf(a), poll).toEqual(['ben']);
    await a.evaluate(() => window.tab!.createDocument('notes'));
    await a.evaluate(() => window.tab!.increment('notes', [5, 6]));
    await expect.poll(() => documentIn(b, 'notes'), poll).toMatchObject({ count: 11 });

    // A third tab opens afterwards and catches up on what was written before it existed.
    const c = await openTab('cat');
    await expect.poll(() => peersOf(c), poll).toEqual(['ann', 'ben']);
    await expect.poll(() => documentIn(c, 'notes'), poll).toMatchObject({ count: 11, revision: 2 });
    await c.evaluate(() => window.tab!.increment('notes', [100]));
    for (const page of [a, b, c])
      await expect.poll(() => documentIn(page, 'notes'), poll).toMatchObject({ count: 111 });

    // ben leaves: the others stop following it, and keep syncing with each other.
    await b.evaluate(() => window.tab!.close());
    await expect.poll(() => peersOf(a), poll).toEqual(['cat']);
    await expect.poll(() => remotesOf(a).then((list) => list.map((r) => r.name)), poll).toEqual(['tab:cat']);
    await expect.poll(() => remotesOf(c).then((list) => list.map((r) => r.name)), poll).toEqual(['tab:ann']);
    await a.evaluate(() => window.tab!.increment('notes', [1_000]));
    await expect.poll(() => documentIn(c, 'notes'), poll).toMatchObject({ count: 1_111 });
  }, 60_000);
});
