/**
 * The browser benchmarks' harness (Node side): serves `bench/browser/` with Vite on loopback and
 * drives the system Chromium with playwright. Chromium is Debian's `/usr/bin/chromium` or
 * `CHROMIUM_PATH`; playwright is only the driver and never downloads a browser.
 */
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright';
import { createServer, type ViteDevServer } from 'vite';
import { BACKGROUND_TAB_ARGS, CHROMIUM_ARGS, CHROMIUM_PATH } from '../../test/chromium.js';
import { progress } from '../lib.js';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

/** A Vite server for the bench pages and a headless Chromium; `close()` ends both. */
export interface BenchBrowser {
  readonly browser: Browser;
  /** The URL of a page under `bench/browser/`, e.g. `pageUrl('index.html')`. */
  pageUrl(path: string): string;
  /** Opens a page in `context` (a fresh one by default) and waits until `ready` is a global of it. */
  open(path: string, ready: string, context?: BrowserContext): Promise<Page>;
  close(): Promise<void>;
}

/** Starts the server and the browser. */
export async function startBenchBrowser(): Promise<BenchBrowser> {
  const server: ViteDevServer = await createServer({
    configFile: false,
    root,
    cacheDir: `${repo}node_modules/.vite/bench-browser`,
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, fs: { allow: [repo] }, hmr: false },
    optimizeDeps: { include: ['dexie', 'rxjs', 'xstate', '@xstate/store', 'valibot'] },
  });
  await server.listen();
  const base = server.resolvedUrls?.local[0];
  if (base === undefined) throw new Error('the Vite server has no local URL');
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Background tabs would have their timers throttled: the B3 tabs are all "background". And a
    // full GC before each timed section, as in the Node benches.
    args: [...CHROMIUM_ARGS, ...BACKGROUND_TAB_ARGS, '--js-flags=--expose-gc'],
  });
  const pageUrl = (path: string) => new URL(path, base).href;
  return {
    browser,
    pageUrl,
    async open(path, ready, context) {
      const page = await (context ?? (await browser.newContext())).newPage();
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') progress(`page: ${message.text()}`);
      });
      page.on('pageerror', (error) => progress(`page error: ${error.message}`));
      await page.goto(pageUrl(path));
      await page.waitForFunction((name) => name in window, ready, { timeout: 60_000 });
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
