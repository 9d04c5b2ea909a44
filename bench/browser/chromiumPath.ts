/** Where the browser benchmarks look for Chromium, without loading playwright or Vite. */
import { accessSync, constants } from 'node:fs';

/** Debian's `/usr/bin/chromium`, or `CHROMIUM_PATH`. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Whether an executable Chromium is there. */
export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
