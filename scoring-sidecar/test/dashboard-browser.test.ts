// The RevOps dashboard in Debian's Chromium (playwright-core), served by a sidecar assembled like `leadrank
// serve` (startServer) on data its own calls produced: a batch cycle against the org simulator (cycle record,
// band counts, drift against the model's baseline), scored requests, and worklists of a live canary experiment
// (exposures). Every chart renders with data; with UPDATE_SCREENSHOTS=1 the screenshot is saved to
// docs/img/revops-dashboard.png (support/chromium.ts). Also who may
// open it: loopback without users, HTTP Basic with LEADRANK_DASHBOARD_USERS, not served otherwise.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import { bucketOf } from '../src/experiments/assignment.js';
import { experimentDefinitionSchema } from '../src/experiments/definition.js';
import { BatchMonitor } from '../src/monitoring/batch-monitor.js';
import { fixedModelSource } from '../src/scoring/model-source.js';
import { repoRoot, seeded, syntheticLead, worklistLeadOf } from './api-test-kit.js';
import { CHROMIUM, CHROMIUM_ARGS, requireChromium, screenshot } from './support/chromium.js';
import { kitRuntime, seedLeads, startSimulator } from './batch-kit.js';
import { modelWithBaseline, startKitSidecar, type KitSidecar } from './monitoring-kit.js';

const silent = pino({ level: 'silent' });
let browser: Browser;
let sim: RunningOrgSimulator;
let model: { dir: string; version: string; work: string };
let kit: KitSidecar;

const repId = (n: number) => `005${String(n).padStart(12, '0')}`;

beforeAll(async () => {
  requireChromium();
  model = await modelWithBaseline(2000);
  sim = await startSimulator();
  seedLeads(sim, 1500, { region: 'US', seed: 4 });
  kit = await startKitSidecar({ LEADRANK_MODEL_DIR: model.dir }, { logger: silent });

  // A batch cycle reporting to the sidecar's monitor (the same history the dashboard reads).
  const rt = await kitRuntime({ sim, region: 'US' });
  rt.monitor = new BatchMonitor({ monitor: kit.sidecar.monitor });
  await runCycleInProcess(rt, { model: { version: model.version, dir: model.dir } });
  await rt.close();

  // A live canary at 50 %, and reps' worklists served under it.
  const definition = experimentDefinitionSchema.parse(
    JSON.parse(readFileSync(`${repoRoot}config/experiments/model-vs-rules.json`, 'utf8')),
  );
  const experiments = kit.sidecar.experiments;
  await experiments.create(definition, 'dashboard-test');
  await experiments.startCanary(definition.id, 'dashboard-test');
  while ((await experiments.require(definition.id)).share < 0.5)
    await experiments.widen(definition.id, 'dashboard-test');
  const rand = seeded(9);
  const leads = Array.from({ length: 80 }, (_, i) => syntheticLead(70_000 + i, 'US', Date.now(), rand));
  await kit.sidecar.store.putLeads(leads);
  const reps = Array.from({ length: 8 }, (_, i) => repId(i + 1));
  const worklist = leads.map((l, i) => worklistLeadOf(l, reps[i % reps.length]!));
  await kit.sidecar.worklistIndex!.upsert(worklist);
  for (const rep of reps) expect((await kit.call('GET', `/v1/worklists/${rep}`)).status).toBe(200);
  expect(reps.some((r) => bucketOf(definition.salt, r) < 0.5)).toBe(true);
  const scored = await kit.call('POST', '/v1/score', {
    leads: leads.slice(0, 40).map((l) => ({ id: l.Id })),
  });
  expect(scored.status).toBe(200);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await kit?.stop();
  await sim?.close();
  if (model) await rm(model.work, { recursive: true, force: true });
});

describe('RevOps dashboard on the running sidecar', () => {
  it('serves JSON from the live history and experiments', async () => {
    const get = async (path: string) => (await fetch(`${kit.base}/dashboard/api/${path}`)).json();
    const bands = (await get('score-bands')) as { days: string[]; counts: Record<string, number[]> };
    const total = Object.values(bands.counts)
      .flat()
      .reduce((s, n) => s + n, 0);
    // 1,500 batch scores + 80 worklist scores + 40 scored by request (the in-memory tally is flushed on read).
    expect(total).toBe(1500 + 80 + 40);
    // Control reps see the rules ranking by design: not counted as rules fallback.
    const fallback = (await get('fallback')) as { share: number[] };
    expect(fallback.share).toEqual([0]);
    const cycles = (await get('batch-cycles')) as { cycles: { ok: boolean; leadsScored: number }[] };
    expect(cycles.cycles).toMatchObject([{ ok: true, leadsScored: 1500 }]);
    const drift = (await get('drift')) as { latest: { region: string; features: { status: string }[] }[] };
    expect(drift.latest[0]?.region).toBe('US');
    expect(drift.latest[0]!.features.length).toBeGreaterThan(10);
    expect(drift.latest[0]!.features.every((f) => f.status !== 'too_few_rows')).toBe(true);
    const experiments = (await get('experiments')) as {
      experiments: { id: string; mode: string; units: { control: number; treatment: number } }[];
    };
    expect(experiments.experiments).toHaveLength(1);
    expect(experiments.experiments[0]).toMatchObject({ id: 'model-vs-rules', mode: 'canary' });
    const units = experiments.experiments[0]!.units;
    expect(units.control + units.treatment).toBe(8);
  });

  it('renders every chart with data, and takes the screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(`${kit.base}/dashboard`);
    expect(page.url()).toBe(`${kit.base}/dashboard/`);
    await page.waitForFunction(
      () => (window as unknown as { dashboardReady?: boolean }).dashboardReady === true,
      null,
      { timeout: 20_000 },
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
          firstDataset: chart?.data.datasets[0]?.data.length ?? 0,
        };
      });
    });
    const byId = new Map(charts.map((c) => [c.id, c]));
    for (const id of ['chart-bands', 'chart-drift', 'chart-fallback', 'chart-batch', 'chart-experiment-0']) {
      expect(byId.get(id), id).toBeDefined();
      expect(byId.get(id)!.width, id).toBeGreaterThan(100);
      // The data series itself has points (not only a threshold line).
      expect(byId.get(id)!.firstDataset, id).toBeGreaterThan(0);
    }
    // Calibration needs 30-day labels, which a fresh deployment does not have yet: only the reference line.
    expect(byId.get('chart-calibration')).toBeDefined();
    const inked = await page.evaluate(() => {
      const c = document.getElementById('chart-bands') as HTMLCanvasElement;
      const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) n += 1;
      return n;
    });
    expect(inked).toBeGreaterThan(1000);
    expect(await page.locator('.experiment h3').first().textContent()).toBe('model-vs-rules');
    expect(await page.locator('.decision.keep').count()).toBe(1);
    expect(await screenshot(page, 'revops-dashboard.png', { fullPage: true })).toBeGreaterThan(10_000);
    await page.close();
  });
});

describe('dashboard access', () => {
  it('asks for HTTP Basic credentials when LEADRANK_DASHBOARD_USERS is set', async () => {
    const password = 'revops-test-password';
    const users = [{ user: 'revops', passwordSha256: createHash('sha256').update(password).digest('hex') }];
    const guarded = await startKitSidecar(
      { LEADRANK_DASHBOARD_USERS: JSON.stringify(users) },
      { models: fixedModelSource(null), logger: silent },
    );
    try {
      const anonymous = await fetch(`${guarded.base}/dashboard/api/batch-cycles`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
      const basic = (u: string, p: string) => ({
        authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
      });
      expect(
        (await fetch(`${guarded.base}/dashboard/api/batch-cycles`, { headers: basic('revops', 'x') })).status,
      ).toBe(401);
      // An API bearer token does not open it.
      const bearer = { authorization: `Bearer ${guarded.token}` };
      expect((await fetch(`${guarded.base}/dashboard/api/batch-cycles`, { headers: bearer })).status).toBe(
        401,
      );
      const ok = await fetch(`${guarded.base}/dashboard/api/batch-cycles`, {
        headers: basic('revops', password),
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ cycles: [] });
    } finally {
      await guarded.stop();
    }
  });

  it('is not served on a non-loopback address without configured users', async () => {
    const exposed = await startKitSidecar(
      { HOST: '0.0.0.0' },
      { models: fixedModelSource(null), logger: silent },
    );
    try {
      expect((await fetch(`${exposed.base}/dashboard/`)).status).toBe(404);
    } finally {
      await exposed.stop();
    }
  });
});
