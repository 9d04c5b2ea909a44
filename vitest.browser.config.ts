import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

// The browser suite: test/browser/ in headless Chromium on real IndexedDB. It uses the system
// Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH); Playwright never downloads a browser here.
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  // Pre-bundled at start: a dependency found mid-run makes Vite reload the page under a running test.
  optimizeDeps: { include: ['dexie', 'rxjs', 'xstate', '@xstate/store', 'zod', '@statelyai/inspect'] },
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
          executablePath,
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            // Containers often have a small /dev/shm; Debian's launcher only sometimes adds this itself.
            '--disable-dev-shm-usage',
          ],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
