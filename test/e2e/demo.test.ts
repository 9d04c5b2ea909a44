import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page, type Route } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable, warnNoChromium } from '../chromium.js';

// The demo app (demo/, `npm run demo`) driven in headless Chromium: Debian's, never a download.
const hasChromium = chromiumAvailable();
if (!hasChromium) warnNoChromium('test/e2e/demo.test.ts');

const repo = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = `${repo}test-artifacts`;

/** Generous: the link retries with backoff, and the network may drop messages. */
const poll = { timeout: 20_000, interval: 100 };

/** The item texts on one side, in the order shown. */
const itemsOf = (page: Page, side: 'alice' | 'bob') =>
  page.getByTestId(`list-${side}`).getByTestId('item').locator('.text').allTextContents();

/** Item texts marked done on one side. */
const doneOf = (page: Page, side: 'alice' | 'bob') =>
  page.getByTestId(`list-${side}`).locator('[data-testid="item"][data-done="true"] .text').allTextContents();

async function addItem(page: Page, side: 'alice' | 'bob', text: string) {
  await page.getByRole('textbox', { name: `New item for ${side === 'alice' ? 'Alice' : 'Bob'}` }).fill(text);
  await page.getByTestId(`add-${side}`).click();
}

/** Stands in for stately.ai/inspect: says it is connected, as the real one does, and keeps what it receives. */
const FAKE_INSPECTOR = `<!doctype html><title>inspector</title><script>
  window.received = [];
  window.addEventListener('message', (event) => window.received.push(event.data));
  window.opener.postMessage({ type: '@statelyai.connected' }, '*');
</script>`;

interface Received {
  readonly type: string;
  readonly name?: string;
  readonly sessionId: string;
  readonly rootId?: string;
}

describe.skipIf(!hasChromium)('the demo app in Chromium', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    server = await createServer({
      configFile: `${repo}demo/vite.config.ts`,
      server: { port: 0, host: '127.0.0.1' },
      logLevel: 'error',
    });
    await server.listen();
    const local = server.resolvedUrls?.local[0];
    if (local === undefined) throw new Error('the Vite dev server did not report its URL');
    url = local;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A fresh profile (both reactors start on empty databases) with the demo open. */
  async function openDemo(inspector: (route: Route) => Promise<void>) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    await context.route(/^https:\/\/stately\.ai\//, inspector);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    // Alice creates the list; it reaches Bob by sync.
    await page.getByTestId('list-alice').waitFor();
    await page.getByTestId('list-bob').waitFor();
    return { context, page, pageErrors };
  }

  it('syncs a shared list both ways, keeps both sides working through a partition, and converges on heal', async () => {
    // No internet here (nor in CI): the Stately inspector's page cannot load, as when offline.
    const inspectorRequests: string[] = [];
    const { context, page, pageErrors } = await openDemo((route) => {
      inspectorRequests.push(route.request().url());
      return route.abort('internetdisconnected');
    });

    // The inspector opens in its own window; offline it cannot load, and the app does not mind.
    const popup = context.waitForEvent('page');
    await page.getByRole('button', { name: 'Open the Stately inspector' }).click();
    const inspectorWindow = await popup;
    await expect.poll(() => inspectorRequests[0]).toMatch(/^https:\/\/stately\.ai\/inspect/);
    await expect.poll(() => page.getByTestId('open-inspector').textContent()).toBe('Inspector ↗');
    await inspectorWindow.close();
    // Items added on Alice's side show up on Bob's.
    await addItem(page, 'alice', 'Milk');
    await addItem(page, 'alice', 'Bread');
    await expect.poll(() => itemsOf(page, 'bob'), poll).toEqual(['Milk', 'Bread']);
    await expect.poll(() => itemsOf(page, 'alice')).toEqual(['Milk', 'Bread']);
    await expect.poll(() => page.getByTestId('convergence').textContent(), poll).toBe('in sync');

    // Cut the link. Both sides keep working on their own copy.
    await page.getByTestId('partition').click();
    await expect.poll(() => page.getByTestId('link-state').textContent()).toBe('partitioned');
    await addItem(page, 'alice', 'Eggs');
    await addItem(page, 'bob', 'Coffee');
    await page.getByTestId('list-bob').getByRole('checkbox', { name: 'Done: Milk' }).click();
    await expect.poll(() => itemsOf(page, 'alice')).toEqual(['Milk', 'Bread', 'Eggs']);
    await expect.poll(() => itemsOf(page, 'bob')).toEqual(['Milk', 'Bread', 'Coffee']);
    await expect.poll(() => doneOf(page, 'bob')).toEqual(['Milk']);

    // Alice's status shows her op waiting and the link failing; the two sides differ.
    await expect.poll(() => page.getByTestId('pending-alice').textContent(), poll).not.toBe('0');
    await expect
      .poll(() => page.getByTestId('status-alice').getAttribute('data-phase'), poll)
      .toMatch(/^(backingOff|offline)$/);
    expect(await page.getByTestId('convergence').textContent()).toBe('diverged');
    expect(await itemsOf(page, 'alice')).not.toContain('Coffee');
    expect(await itemsOf(page, 'bob')).not.toContain('Eggs');
    expect(await doneOf(page, 'alice')).toEqual([]);
    await page.screenshot({ path: `${artifacts}/demo-e2e-partitioned.png`, fullPage: true });

    // A slow, lossy link, then heal: both sides end up with the same list, holding both sides' edits.
    await page.getByTestId('latency').selectOption('50');
    await page.getByTestId('drop').selectOption('0.1');
    await page.getByTestId('heal').click();
    await expect.poll(() => page.getByTestId('link-state').textContent()).toBe('connected');
    await expect.poll(() => page.getByTestId('convergence').textContent(), poll).toBe('in sync');
    const alice = await itemsOf(page, 'alice');
    expect(alice).toHaveLength(4);
    expect([...alice].sort()).toEqual(['Bread', 'Coffee', 'Eggs', 'Milk']);
    expect(await itemsOf(page, 'bob')).toEqual(alice);
    expect(await doneOf(page, 'alice')).toEqual(['Milk']);
    expect(await doneOf(page, 'bob')).toEqual(['Milk']);
    expect(await page.getByTestId('hash-alice').textContent()).toBe(await page.getByTestId('hash-bob').textContent());
    expect(await page.getByTestId('pending-alice').textContent()).toBe('0');
    expect(await page.getByTestId('pending-bob').textContent()).toBe('0');

    await page.screenshot({ path: `${artifacts}/demo-e2e.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 90_000);

  it('opens the inspector on both reactors’ whole actor systems, then streams their events', async () => {
    const { context, page, pageErrors } = await openDemo((route) =>
      route.fulfill({ contentType: 'text/html', body: FAKE_INSPECTOR }),
    );
    const popup = context.waitForEvent('page');
    await page.getByTestId('open-inspector').click();
    const inspector = await popup;
    const received = () => inspector.evaluate(() => (window as unknown as { received: Received[] }).received);

    // Every live actor of both systems is registered: two roots, each with its children.
    await expect
      .poll(async () => (await received()).filter((event) => event.type === '@xstate.actor').length)
      .toBeGreaterThanOrEqual(14);
    const actors = (await received()).filter((event) => event.type === '@xstate.actor');
    const roots = actors.filter((event) => event.name === 'reactor');
    expect(roots).toHaveLength(2);
    for (const root of roots) {
      const names = actors.filter((event) => event.rootId === root.sessionId).map((event) => event.name);
      expect(names).toEqual(
        expect.arrayContaining(['reactor', 'queue', 'jobExecutor', 'operationsStore', 'documentView', 'syncManager']),
      );
      expect(names.filter((name) => name?.startsWith('remote:'))).toHaveLength(1);
    }

    // From then on, what the reactors do reaches the inspector live.
    const before = (await received()).length;
    await addItem(page, 'alice', 'Tea');
    await expect.poll(() => itemsOf(page, 'bob'), poll).toEqual(['Tea']);
    await expect
      .poll(async () => (await received()).slice(before).filter((event) => event.type === '@xstate.event').length)
      .toBeGreaterThan(0);
    await page.screenshot({ path: `${artifacts}/demo-e2e-inspector.png`, fullPage: true });

    // Reset empties both databases and starts again with an empty list.
    await page.getByTestId('reset').click();
    await expect.poll(() => itemsOf(page, 'alice'), poll).toEqual([]);
    await expect.poll(() => itemsOf(page, 'bob'), poll).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 90_000);
});
