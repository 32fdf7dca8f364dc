// The RevOps dashboard in Debian's Chromium (playwright-core): served by a server started here on demo-like
// data, every chart renders with data, experiments show their decision and guardrails, and a screenshot is
// saved to docs/img/revops-dashboard.png.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoDashboardApp } from '../src/dashboard/demo.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../../docs/img/revops-dashboard.png', import.meta.url));
let server: Server;
let browser: Browser;
let base: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  const app = createDemoDashboardApp(new Date('2025-03-01T12:00:00Z'));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('RevOps dashboard', () => {
  it('serves JSON from the same data as the reports', async () => {
    const experiments = (await (await fetch(`${base}/dashboard/api/experiments`)).json()) as {
      experiments: { id: string; mode: string; decision: string; guardrails: { status: string }[] }[];
    };
    const byId = new Map(experiments.experiments.map((e) => [e.id, e]));
    expect(byId.get('model-vs-rules')?.decision).toBe('ship');
    expect(byId.get('challenger-canary')?.mode).toBe('halted');
    expect(byId.get('challenger-canary')?.guardrails.some((g) => g.status === 'breached')).toBe(true);
    const drift = (await (await fetch(`${base}/dashboard/api/drift`)).json()) as {
      latest: { features: { feature: string; status: string }[] }[];
    };
    expect(drift.latest[0]?.features[0]?.status).toBe('alert');
  });

  it('renders every chart with data and saves a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(`${base}/dashboard`);
    expect(page.url()).toBe(`${base}/dashboard/`);
    await page.waitForFunction(
      () => (window as unknown as { dashboardReady?: boolean }).dashboardReady === true,
      null,
      {
        timeout: 20_000,
      },
    );
    expect(errors).toEqual([]);
    const charts = await page.evaluate(() => {
      const ChartJs = (
        window as unknown as {
          Chart: {
            getChart(c: HTMLCanvasElement): { data: { datasets: { data: unknown[] }[] } } | undefined;
          };
        }
      ).Chart;
      return [...document.querySelectorAll('canvas')].map((c) => {
        const chart = ChartJs.getChart(c);
        return {
          id: c.id,
          width: c.width,
          points: chart ? chart.data.datasets.reduce((s, d) => s + d.data.length, 0) : 0,
        };
      });
    });
    const ids = charts.map((c) => c.id);
    for (const id of [
      'chart-bands',
      'chart-calibration',
      'chart-drift',
      'chart-fallback',
      'chart-batch',
      'chart-experiment-0',
      'chart-experiment-1',
    ])
      expect(ids).toContain(id);
    for (const c of charts) {
      expect(c.width, c.id).toBeGreaterThan(100);
      expect(c.points, c.id).toBeGreaterThan(0);
    }
    // Pixels were drawn: a canvas is not blank.
    const inked = await page.evaluate(() => {
      const c = document.getElementById('chart-bands') as HTMLCanvasElement;
      const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) n += 1;
      return n;
    });
    expect(inked).toBeGreaterThan(1000);
    await expect(page.locator('.guardrail.breached').first()).toBeTruthy();
    expect(await page.locator('.guardrail.breached').count()).toBeGreaterThan(0);
    expect(await page.locator('.decision.ship').count()).toBe(1);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    await page.close();
  });
});
