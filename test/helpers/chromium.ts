/**
 * Real headless Chromium for report tests: Debian's /usr/bin/chromium driven by playwright-core,
 * with a throwaway profile. withPage guarantees the browser is closed and the profile removed.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Quiet, offline, reproducible: nothing phones home, so any request the page makes is the page's own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why browser tests cannot run here, or undefined when they can. */
export function chromiumSkipReason(): string | undefined {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return undefined;
  } catch {
    return `${CHROMIUM_PATH} not found (apt-get install chromium)`;
  }
}

/**
 * Runs `fn` with a fresh page in a fresh Chromium; closes the browser and deletes the
 * temporary profile whether `fn` succeeds or throws.
 */
export async function withPage<T>(fn: (page: Page, context: BrowserContext) => Promise<T>): Promise<T> {
  const reason = chromiumSkipReason();
  if (reason) throw new Error(`cannot start Chromium: ${reason}`);
  const profile = await mkdtemp(join(tmpdir(), 'regtest-harness-chromium-'));
  let context: BrowserContext | undefined;
  try {
    // A persistent context is how Playwright takes a --user-data-dir of our choosing.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 900 },
      deviceScaleFactor: 1,
      timeout: 30_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return await fn(page, context);
  } finally {
    await context?.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  }
}
