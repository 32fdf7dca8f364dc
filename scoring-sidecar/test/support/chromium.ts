// Debian's Chromium for the browser tests (the dashboard here, the LWC preview in preview/test): where it is,
// how it is started headless and offline, a clear error when it is missing, and the docs' screenshots.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless, sandbox-free (containers), and with every background network feature off (the machine is offline). */
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

export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
}

/** Where the docs' screenshots live (docs/img), relative to this file. */
export const DOCS_IMG = fileURLToPath(new URL('../../../docs/img/', import.meta.url));

/**
 * Takes a screenshot of the page as the browser tests see it. Written to docs/img/<name> only when
 * UPDATE_SCREENSHOTS=1 (so a test run never dirties the checkout); otherwise the PNG is taken and checked only.
 * Returns the PNG's size in bytes.
 */
export async function screenshot(
  page: { screenshot(options: { path?: string; fullPage?: boolean; type?: 'png' }): Promise<Buffer> },
  name: string,
  options: { fullPage?: boolean } = {},
): Promise<number> {
  const write = process.env.UPDATE_SCREENSHOTS === '1';
  if (write) mkdirSync(DOCS_IMG, { recursive: true });
  const png = await page.screenshot({
    type: 'png',
    fullPage: options.fullPage ?? false,
    ...(write ? { path: join(DOCS_IMG, name) } : {}),
  });
  // The PNG signature: the page rendered and was encoded.
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error(`screenshot ${name} is not a PNG`);
  return png.length;
}
