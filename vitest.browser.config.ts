import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/chromium.js';

// The browser suite: test/browser/ in headless Chromium on real IndexedDB. It uses the system
// Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH); Playwright never downloads a browser here.

export default defineConfig({
  // Pre-bundled at start: a dependency found mid-run makes Vite reload the page under a running test.
  optimizeDeps: { include: ['dexie', 'rxjs', 'xstate', '@xstate/store', 'valibot', '@statelyai/inspect'] },
  test: {
    include: ['test/browser/**/*.test.{ts,tsx}'],
    // A switchboard (in Node, on loopback) for the WebSocket tests.
    globalSetup: ['test/browser/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', ['json', { outputFile: '.vitest/browser.json' }]],
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          executablePath: CHROMIUM_PATH,
          args: [...CHROMIUM_ARGS],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
