/**
 * The system Chromium for everything that drives a browser (the browser suite, the end-to-end
 * tests, the browser benchmarks): Debian's `/usr/bin/chromium`, or `CHROMIUM_PATH`. Playwright is
 * only the driver here and never downloads a browser. Loads neither playwright nor Vite.
 */
import { accessSync, constants } from 'node:fs';

/** Where Chromium is looked for. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** How to install it, for messages. */
export const CHROMIUM_INSTALL = 'sudo apt-get update && sudo apt-get install -y chromium';

/** Launch flags: headless in a container, with nothing reaching out to the network. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Containers often have a small /dev/shm; Debian's launcher only sometimes adds this itself.
  '--disable-dev-shm-usage',
];

/** Extra flags for pages that run in the background (other tabs): their timers are not throttled. */
export const BACKGROUND_TAB_ARGS: readonly string[] = [
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/** Whether an executable Chromium is there. */
export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Says loudly that `what` is skipped for want of Chromium, and how to install it. */
export function warnNoChromium(what: string): void {
  const bar = '!'.repeat(76);
  console.warn(
    [
      '',
      bar,
      `!!! ${what} SKIPPED: no Chromium at ${CHROMIUM_PATH}`,
      `!!! Install it with:  ${CHROMIUM_INSTALL}`,
      '!!! (or point CHROMIUM_PATH at a Chromium binary)',
      bar,
      '',
    ].join('\n'),
  );
}
