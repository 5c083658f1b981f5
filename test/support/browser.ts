import { access, constants } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

/** Debian's `chromium` package (installed by .ci/run); never a browser downloaded by Playwright. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

// Quiet and deterministic: no GPU in CI containers, no sandbox as root in a container, and no
// background traffic (updates, sync, QUIC probes) that could race the journeys or reach the network.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Debian's Chromium through playwright-core. `launch()` gives the browser a new, empty
 * user-data-dir of its own (removed again by `close()`); each `browser.newContext()` is a further
 * isolated profile with no cookies, so one browser serves several users.
 */
export async function launchChromium(): Promise<Browser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install chromium), as .ci/run does`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_FLAGS,
    timeout: 30_000,
  });
}
