/**
 * The browser benchmarks: B1 (local writes on real IndexedDB) and B3 across tabs (propagation
 * over BroadcastChannel), in headless Chromium driven by playwright, pages served by Vite. Run
 * with `npm run bench:browser`; `BENCH_BROWSER_SECTIONS=b1,b3` picks sections.
 */

import { CHROMIUM_PATH, chromiumAvailable } from '../../test/chromium.js';
import { progress } from '../lib.js';
import { runB1 } from './b1.js';
import { runB3Tabs } from './b3.js';
import { startBenchBrowser } from './chromium.js';

const SECTIONS = (process.env.BENCH_BROWSER_SECTIONS ?? 'b1,b3').split(',').map((section) => section.trim());

async function main(): Promise<void> {
  if (!chromiumAvailable()) {
    console.error(
      `No Chromium at ${CHROMIUM_PATH}: the browser benchmarks need it. ` +
        'Install it with `sudo apt-get update && sudo apt-get install -y chromium`, or set CHROMIUM_PATH.',
    );
    process.exitCode = 1;
    return;
  }
  const harness = await startBenchBrowser();
  let missed = 0;
  try {
    if (SECTIONS.includes('b1')) {
      const page = await harness.open('index.html', 'b1');
      missed += await runB1(page, harness);
      await page.context().close();
    }
    if (SECTIONS.includes('b3')) missed += await runB3Tabs(harness);
  } finally {
    await harness.close();
  }
  if (missed > 0) progress(`${missed} browser target(s) not met`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
