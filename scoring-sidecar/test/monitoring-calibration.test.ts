// Calibration drift from real outcomes: a batch export with known probabilities (written by the batch's own
// Parquet writer), leads converted in the org simulator at those rates, read back through Bulk API 2.0 by the
// calibration job. Calibrated probabilities give a small ECE and bins on the diagonal; doubled ones cross the
// alert threshold. The EU job never reads US exports or US leads.
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type jsforce from 'jsforce';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { makeId } from '../../org-simulator/src/ids.js';
import type { ExportRow } from '../src/batch/cycle.js';
import { writeScoresParquet } from '../src/batch/runtime.js';
import {
  calibrationSummary,
  runCalibrationJob,
  type CalibrationJobResult,
} from '../src/monitoring/calibration-job.js';
import { loadMonitoringConfig } from '../src/monitoring/config.js';
import { MonitoringHistory } from '../src/monitoring/history.js';
import { MonitoringMetrics } from '../src/monitoring/metrics.js';
import { Monitor } from '../src/monitoring/monitor.js';
import { connectTo, seeded, startSimulator } from './batch-kit.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const config = loadMonitoringConfig(join(root, 'config', 'monitoring.json'));
/** The threshold of the LeadrankCalibrationDrift rule, as Prometheus evaluates it. */
const alertThreshold = (() => {
  const doc = parse(readFileSync(join(root, 'config', 'alerts', 'drift.yml'), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  const rule = doc.groups.flatMap((g) => g.rules).find((r) => r.alert === 'LeadrankCalibrationDrift')!;
  return Number(/leadrank_calibration_ece > ([\d.]+)/.exec(rule.expr)![1]);
})();

const SCORED_DAY = '2025-03-01';
const AS_OF = new Date('2025-03-31T06:00:00Z');
const EU_LEADS = 4000;

let sim: RunningOrgSimulator;
let conn: jsforce.Connection;
let exportsDir: string;
/** Model-scored EU leads with the probability they were given and whether they converted in the horizon. */
const truth: { id: string; p: number; converted: boolean }[] = [];
let euConvertedInWindow = 0;

const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

function lead(id: string, region: string, convertedOn: string | null) {
  return {
    Id: id,
    LastName: 'Calibration',
    Company: 'Synthetic',
    Data_Region__c: region,
    ...(convertedOn
      ? { IsConverted: true, ConvertedDate: convertedOn, Status: 'Closed - Converted' }
      : { Status: 'Working - Contacted' }),
  };
}

async function writeExport(
  dir: string,
  region: string,
  rows: ExportRow[],
  asOf = `${SCORED_DAY}T04:00:00.000Z`,
): Promise<void> {
  await writeScoresParquet(
    join(dir, region, asOf.slice(0, 10), 'scores.parquet'),
    {
      cycleId: `${region}-test`,
      asOf,
      model: { version: 'lr-test', dir: '' },
      ruleSetVersion: 'rules-1',
      shadow: null,
    },
    (async function* () {
      yield rows;
    })(),
  );
}

const modelRow = (id: string, p: number): ExportRow => [
  id,
  Math.round(p * 100),
  'B',
  'Model',
  1,
  p,
  null,
  null,
];

async function freshMonitor(given?: MonitoringHistory) {
  const history = given ?? (await MonitoringHistory.open(':memory:'));
  const registry = new Registry();
  return {
    registry,
    history,
    monitor: new Monitor({ metrics: new MonitoringMetrics(registry), history, config, baseline: null }),
  };
}

async function eceGauge(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('leadrank_calibration_ece')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.region), v.value]));
}

beforeAll(async () => {
  sim = await startSimulator();
  conn = await connectTo(sim);
  exportsDir = mkdtempSync(join(tmpdir(), 'calibration-exports-'));
  const rand = seeded(21);
  const leads = [];
  for (let i = 0; i < EU_LEADS; i++) {
    const id = makeId('00Q', i + 1);
    const p = 0.02 + 0.46 * rand();
    const converted = rand() < p;
    // Some of the others convert after the horizon: not a conversion within it.
    const late = !converted && rand() < 0.1;
    truth.push({ id, p, converted });
    const on = converted
      ? addDays(SCORED_DAY, Math.floor(rand() * 30))
      : late
        ? addDays(SCORED_DAY, 45)
        : null;
    leads.push(lead(id, 'EU', on));
    if (converted) euConvertedInWindow++;
  }
  // EU leads converted in the window that the export never scored (e.g. created after it): not judged.
  for (let i = 0; i < 200; i++) leads.push(lead(makeId('00Q', 50_000 + i), 'EU', addDays(SCORED_DAY, 3)));
  euConvertedInWindow += 200;
  // US leads, all converted in the window, with a US export of the same day.
  const us = Array.from({ length: 300 }, (_, i) => makeId('00Q', 100_000 + i));
  for (const id of us) leads.push(lead(id, 'US', addDays(SCORED_DAY, 5)));
  const inserted = sim.ctx.store.insert('Lead', leads, { keepIds: true });
  expect(inserted.filter((r) => !r.success)).toEqual([]);

  await writeExport(
    exportsDir,
    'US',
    us.map((id) => modelRow(id, 0.1)),
  );
}, 120_000);

afterAll(async () => {
  await sim?.close();
  if (exportsDir) await rm(exportsDir, { recursive: true, force: true });
});

async function runEu(
  dir: string,
  monitor: Monitor,
): Promise<Extract<CalibrationJobResult, { status: 'recorded' }>> {
  const result = await runCalibrationJob(monitor, async () => conn, {
    region: 'EU',
    asOf: AS_OF,
    horizonDays: 30,
    exportsDir: dir,
    bulk: { pollIntervalMs: 50 },
  });
  if (result.status !== 'recorded') throw new Error(calibrationSummary(result));
  return result;
}

describe('calibration job', () => {
  it('finds calibrated probabilities calibrated: small ECE, every decile near the diagonal, gauge and history written', async () => {
    const dir = mkdtempSync(join(exportsDir, 'calibrated-'));
    // A few rules scores (no probability) are left out of the pairs.
    const rules: ExportRow[] = Array.from({ length: 50 }, (_, i) => [
      makeId('00Q', 70_000 + i),
      40,
      'C',
      'Rules',
      0,
      null,
      null,
      null,
    ]);
    await writeExport(dir, 'EU', [...truth.map((t) => modelRow(t.id, t.p)), ...rules]);
    const { registry, history, monitor } = await freshMonitor();
    const r = await runEu(dir, monitor);

    expect(r.scoredDay).toBe(SCORED_DAY);
    expect(r.day).toBe('2025-03-31');
    expect(r.exported).toBe(EU_LEADS + 50);
    expect(r.modelRows).toBe(EU_LEADS);
    expect(r.converted).toBe(truth.filter((t) => t.converted).length);
    // Only EU conversions in the window were read: the 300 US ones never.
    expect(r.conversionsRead).toBe(euConvertedInWindow);
    expect(r.judged).toBe(true);
    expect(r.ece).toBeLessThan(config.calibration.maxEce);
    expect(r.alerting).toBe(false);
    expect(r.bins).toHaveLength(10);
    for (const b of r.bins) expect(Math.abs(b.observedRate - b.meanPredicted)).toBeLessThan(0.08);
    // Deciles rise with the prediction, as conversion does.
    expect(r.bins[9]!.observedRate).toBeGreaterThan(r.bins[0]!.observedRate + 0.25);

    expect((await eceGauge(registry)).EU).toBeCloseTo(r.ece, 10);
    const chart = await history.calibration('2025-03-01');
    expect(chart.filter((b) => b.region === 'EU')).toHaveLength(10);
    expect(calibrationSummary(r)).toMatch(
      /^calibration EU 2025-03-01→2025-03-31: 4000 model rows of 4050, \d+ converted; ECE 0\.0\d+ \(ok\)/,
    );
  }, 120_000);

  it('finds doubled probabilities miscalibrated: the ECE crosses the alert threshold, and a restarted sidecar publishes it', async () => {
    const dir = mkdtempSync(join(exportsDir, 'doubled-'));
    await writeExport(
      dir,
      'EU',
      truth.map((t) => modelRow(t.id, Math.min(1, 2 * t.p))),
    );
    const { history, monitor } = await freshMonitor();
    const r = await runEu(dir, monitor);

    expect(r.ece).toBeGreaterThan(config.calibration.maxEce);
    expect(r.ece).toBeGreaterThan(alertThreshold);
    expect(r.alerting).toBe(true);
    for (const b of r.bins) expect(b.observedRate).toBeLessThan(b.meanPredicted);
    expect(calibrationSummary(r)).toContain('(ALERT)');

    // The job runs in its own process: the sidecar's monitor publishes the gauge from the history it wrote.
    const restarted = await freshMonitor(history);
    await restarted.monitor.publishLatestCalibration(); // what its start (and then its timer) does
    expect((await eceGauge(restarted.registry)).EU).toBeCloseTo(r.ece, 10);
    await history.close();
  }, 120_000);

  it('skips with a clear message when the day has no export of the region, never reading another region’s', async () => {
    const dir = mkdtempSync(join(exportsDir, 'us-only-'));
    await writeExport(dir, 'US', [modelRow(makeId('00Q', 100_000), 0.2)]);
    const { registry, history, monitor } = await freshMonitor();
    const result = await runCalibrationJob(
      monitor,
      () => Promise.reject(new Error('the org is not asked without an export')),
      {
        region: 'EU',
        asOf: AS_OF,
        horizonDays: 30,
        exportsDir: dir,
      },
    );
    expect(result.status).toBe('no_export');
    expect(calibrationSummary(result)).toBe(
      `calibration EU: no export for ${SCORED_DAY} (${join(dir, 'EU', SCORED_DAY, 'scores.parquet')}); nothing to judge`,
    );
    expect(await history.calibration('2000-01-01')).toEqual([]);
    expect(await eceGauge(registry)).toEqual({});
  });

  it('leaves the gauge alone under the minimum of labelled rows, but keeps the bins for the chart', async () => {
    const dir = mkdtempSync(join(exportsDir, 'small-'));
    const few = truth.slice(0, config.calibration.minLabelledRows - 1);
    await writeExport(
      dir,
      'EU',
      few.map((t) => modelRow(t.id, Math.min(1, 3 * t.p))),
    );
    const { registry, history, monitor } = await freshMonitor();
    const r = await runEu(dir, monitor);
    expect(r.modelRows).toBe(few.length);
    expect(r.judged).toBe(false);
    expect(r.alerting).toBe(false);
    expect(await eceGauge(registry)).toEqual({});
    expect(await history.calibration('2025-03-01')).toHaveLength(10);
  }, 120_000);
});
