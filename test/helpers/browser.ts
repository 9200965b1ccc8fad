/**
 * Real Chromium for browser tests and the browser bench, through playwright-core and the system's Chromium
 * (Debian's `chromium` package; `.ci/run` installs it). No browser is downloaded.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/** The Chromium executable: `$CHROMIUM_PATH`, else the first of the usual system paths that exists. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p));
}

/** The Chromium for a browser test file; when there is none, says why its browser tests are skipped. */
export function chromiumForTests(suite: string): string | undefined {
  const path = findChromium();
  if (!path) {
    console.warn(
      `[modelship tests] SKIPPING ${suite}: no Chromium at $CHROMIUM_PATH or ${CANDIDATES.join(', ')}. Install it with \`apt-get install -y chromium\` (.ci/run does).`,
    );
  }
  return path;
}

/**
 * Headless Chromium that does not call home. `--no-sandbox` because CI runs as root; every launch gets a
 * fresh temporary profile, so no cache survives from an earlier run.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath)
    throw new Error('No Chromium found: install it (apt-get install -y chromium) or set CHROMIUM_PATH.');
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}
