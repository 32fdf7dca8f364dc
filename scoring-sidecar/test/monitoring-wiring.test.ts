// The monitoring hooks of the running product: a batch cycle (org simulator, real model with its baseline)
// writes its cycle record, score counts, drift rows and API usage into the history; a failed cycle is recorded
// as failed; an extract ingested by the sidecar records its delivery, rows, age and range check.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import { createBatchRuntime } from '../src/batch/runtime.js';
import { BatchMonitor } from '../src/monitoring/batch-monitor.js';
import { loadBaseline } from '../src/monitoring/baseline.js';
import { loadMonitoringConfig } from '../src/monitoring/config.js';
import { MonitoringHistory } from '../src/monitoring/history.js';
import { MonitoringMetrics } from '../src/monitoring/metrics.js';
import { Monitor } from '../src/monitoring/monitor.js';
import { fixedModelSource } from '../src/scoring/model-source.js';
import { kitRuntime, repoRoot, seedLeads, startSimulator } from './batch-kit.js';
import { modelWithBaseline, startKitSidecar } from './monitoring-kit.js';

const config = loadMonitoringConfig(fileURLToPath(new URL('../../config/monitoring.json', import.meta.url)));
const SINCE = '2000-01-01';
let sim: RunningOrgSimulator;
let model: { dir: string; version: string; work: string };

beforeAll(async () => {
  model = await modelWithBaseline(2000);
  sim = await startSimulator();
  seedLeads(sim, 1200, { region: 'US', seed: 3 });
}, 120_000);

afterAll(async () => {
  await sim?.close();
  await rm(model.work, { recursive: true, force: true });
});

async function freshMonitor() {
  const registry = new Registry();
  const history = await MonitoringHistory.open(':memory:');
  const monitor = new Monitor({ metrics: new MonitoringMetrics(registry), history, config, baseline: null });
  return { registry, history, monitor };
}

describe('batch cycle monitoring', () => {
  it('writes the cycle record, score counts, drift per feature and API usage at the end of a cycle', async () => {
    const { registry, history, monitor } = await freshMonitor();
    const rt = await kitRuntime({ sim, region: 'US' });
    rt.monitor = new BatchMonitor({ monitor });
    try {
      const report = await runCycleInProcess(rt, { model: { version: model.version, dir: model.dir } });
      expect(report.leads.scored).toBe(1200);

      const cycles = await history.batchCycles(SINCE);
      expect(cycles).toHaveLength(1);
      expect(cycles[0]).toMatchObject({
        region: 'US',
        ok: true,
        leadsScored: report.leads.scored,
        changesWritten: report.leads.written,
        error: null,
      });
      expect(cycles[0]!.durationSeconds).toBeGreaterThan(0);

      const bands = await history.scoreBands(SINCE);
      expect(bands.reduce((s, b) => s + b.count, 0)).toBe(1200);
      expect(await history.scoreSources(SINCE)).toEqual([
        { day: bands[0]!.day, region: 'US', source: 'model', count: 1200 },
      ]);

      const baseline = await loadBaseline(join(model.dir, 'baseline-stats.json'));
      const drift = await history.drift(SINCE);
      // Every feature, and the model's score against its scores on the training set (the baseline has them).
      expect(baseline.score).not.toBeNull();
      expect(drift.map((d) => d.feature).sort()).toEqual(
        ['(score)', ...baseline.features.map((f) => f.name)].sort(),
      );
      expect(new Set(drift.map((d) => d.region))).toEqual(new Set(['US']));
      // 1,200 rows sampled (partitions of 500 are under the per-partition sample): every feature is judged.
      expect(drift.every((d) => d.status !== 'too_few_rows')).toBe(true);
      expect(drift.every((d) => Number.isFinite(d.psi) && d.psi >= 0)).toBe(true);

      const text = await registry.metrics();
      expect(text).toMatch(/leadrank_batch_cycles_total\{region="US",outcome="success"\} 1/);
      expect(text).toMatch(/leadrank_salesforce_api_usage_ratio\{limit="DailyApiRequests"\} 0\.\d+/);
      expect(text).toMatch(/leadrank_feature_psi\{feature="lead_source",region="US"\}/);
      expect(text).toMatch(/leadrank_prediction_psi\{region="US"\} \d/);
    } finally {
      await rt.close();
    }
  });

  it('records a failed cycle attempt with its error', async () => {
    const { registry, history, monitor } = await freshMonitor();
    const rt = await createBatchRuntime({
      region: 'US',
      rootDir: mkdtempSync(join(tmpdir(), 'batch-fail-')),
      configDir: join(repoRoot, 'config'),
      connect: () => Promise.reject(new Error('org unreachable')),
      featureStore: null,
      logger: pino({ level: 'silent' }),
    });
    rt.monitor = new BatchMonitor({ monitor });
    try {
      await expect(runCycleInProcess(rt, { model: null })).rejects.toThrow('org unreachable');
      expect(await history.batchCycles(SINCE)).toMatchObject([
        { region: 'US', ok: false, leadsScored: 0, error: 'org unreachable' },
      ]);
      expect(await registry.metrics()).toMatch(
        /leadrank_batch_cycles_total\{region="US",outcome="failure"\} 1/,
      );
    } finally {
      await rt.close();
    }
  });
});

describe('extract ingest monitoring', () => {
  it('records the delivery (rows, day, age) and flags out-of-range values', async () => {
    const kit = await startKitSidecar(
      {},
      { models: fixedModelSource(null), logger: pino({ level: 'silent' }) },
    );
    try {
      const today = new Date().toISOString().slice(0, 10);
      const rows = Array.from(
        { length: 40 },
        // products_held over 1,000 passes the row schema but not the plausible range: a unit change upstream.
        (_, i) => `ERP-${i},${today},true,125000,${i < 5 ? 5000 : 3},current,US`,
      );
      const csv = `erp_account_number,extract_date,is_customer,erp_revenue,products_held,payment_status,region\n${rows.join('\n')}\n`;
      const res = await kit.call('POST', '/v1/extracts/erp', csv, { 'content-type': 'text/csv' });
      expect(res.status).toBe(200);
      expect(res.json.rows).toBe(40);

      const deliveries = await kit.sidecar.monitoringHistory.extractDeliveries('erp');
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatchObject({ extract: 'erp', day: today, rows: 40, invalidRows: 0 });
      expect(deliveries[0]!.issues).toContain('range');

      const metrics = (await kit.call('GET', '/metrics')).text;
      expect(metrics).toMatch(/leadrank_extract_rows\{extract="erp"\} 40/);
      expect(metrics).toMatch(/leadrank_extract_age_seconds\{extract="erp"\} \d/);
      expect(metrics).toContain('leadrank_extract_check_failed{extract="erp",check="range"} 1');
      expect(metrics).toContain('leadrank_extract_check_failed{extract="erp",check="half_empty"} 0');

      // The freshness timer's check: today's ERP delivery is in, the marketing one is not judged missing
      // before it is due, and is once the day is over.
      const checks = await kit.sidecar.monitor.checkExtractFreshness(new Date(`${today}T23:59:00Z`));
      expect(checks.find((c) => c.extract === 'erp')!.issues.map((i) => i.code)).not.toContain('missing');
      expect(checks.find((c) => c.extract === 'marketing')!.issues.map((i) => i.code)).toContain('missing');
      expect((await kit.call('GET', '/metrics')).text).toContain(
        'leadrank_extract_check_failed{extract="marketing",check="missing"} 1',
      );
    } finally {
      await kit.stop();
    }
  });

  it('measures the event stream lag from the last events received', async () => {
    const kit = await startKitSidecar(
      {},
      { models: fixedModelSource(null), logger: pino({ level: 'silent' }) },
    );
    try {
      const later = new Date(Date.now() + 45 * 60_000);
      expect(kit.sidecar.monitor.checkEventStreamNow(later).stale).toBe(true);
      const res = await kit.call('POST', '/v1/events', {
        eventId: 'evt-monitoring-1',
        leadId: '00Q000000000001',
        region: 'US',
        type: 'web_visit',
        occurredAt: new Date().toISOString(),
      });
      expect(res.status, res.text).toBe(200);
      const lag = kit.sidecar.monitor.checkEventStreamNow(new Date(Date.now() + 60_000));
      expect(lag.stale).toBe(false);
      expect(lag.lagMinutes).toBeLessThan(2);
    } finally {
      await kit.stop();
    }
  });
});
