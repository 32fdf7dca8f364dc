// Every series an alert rule names is defined by a metrics module, and exported with a sample by a process of
// the topology after it did its usual work: the sidecar (`leadrank serve`, started in process by startServer)
// and `leadrank worker --roles writeback,batch,scheduler` (a real child process running a scheduled cycle with a
// model against the org simulator). Series that no process exports would be listed in NO_LIVE_SOURCE with the
// reason (issue 13, item 1): the test fails when a rule names another series nobody exports.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { ApiMetrics } from '../src/api/metrics.js';
import { BatchMetrics } from '../src/batch/metrics.js';
import { experimentDefinitionSchema } from '../src/experiments/definition.js';
import { MonitoringMetrics } from '../src/monitoring/metrics.js';
import { MonitoringHistory } from '../src/monitoring/history.js';
import { startServer } from '../src/server.js';
import { seeded, syntheticLead } from './api-test-kit.js';
import { CLIENT, FAST, REDIS_URL, seedLeads, startSimulator } from './batch-kit.js';
import { modelWithBaseline } from './monitoring-kit.js';
import { startWorkerProcess } from './support/worker-process.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const alertDir = join(root, 'config', 'alerts');

/**
 * Series the rules use that no process of the topology exports yet, and why. Empty: `leadrank serve` and
 * `leadrank worker` together export every series a rule names.
 */
const NO_LIVE_SOURCE: Record<string, string> = {};

const rules = readdirSync(alertDir)
  .filter((f) => f.endsWith('.yml'))
  .flatMap((f) => {
    const doc = parse(readFileSync(join(alertDir, f), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    return doc.groups.flatMap((g) => g.rules);
  });

/** Metric names a rule expression reads (histogram and summary series folded to their metric). */
function seriesOf(expr: string): string[] {
  return [
    ...new Set(
      (expr.match(/\bleadrank_[a-z0-9_]+\b/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    ),
  ];
}

const ruleSeries = new Set(rules.flatMap((r) => seriesOf(r.expr)));

describe('series named by the alert rules', () => {
  it('are each defined by a metrics module (api, monitoring or batch)', () => {
    const defined = new Set<string>();
    const api = new ApiMetrics();
    new MonitoringMetrics(api.registry);
    for (const m of api.registry.getMetricsAsArray()) defined.add(m.name);
    for (const m of new BatchMetrics().registry.getMetricsAsArray()) defined.add(m.name);
    expect(ruleSeries.size).toBeGreaterThan(10);
    for (const name of ruleSeries) expect(defined.has(name), `no registry defines ${name}`).toBe(true);
  });

  describe('exported by a process', () => {
    const SECRET = 'sources-secret';
    let stateDir: string;
    let sidecarMetrics: string;
    let workerMetrics = '';
    const prefix = `alertsrc-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

    /**
     * `leadrank worker --roles writeback,batch,scheduler` as a child process: the scheduler fires a cycle, which
     * scores the simulator's EU leads with a model that has a drift baseline; its write-back consumer samples the
     * queue's lag; the newest calibration run in the region's history is published. Scraped once the cycle's
     * success and drift are on its /metrics.
     */
    async function scrapeWorker(): Promise<string> {
      const sim = await startSimulator({ region: 'EU' });
      const model = await modelWithBaseline(1500);
      const configDir = join(stateDir, 'config');
      await cp(join(root, 'config'), configDir, { recursive: true });
      // Few leads in a test cycle: drift is measured from 20 rows (the shipped minimum is 500).
      const monitoring = JSON.parse(readFileSync(join(configDir, 'monitoring.json'), 'utf8')) as {
        drift: { minRows: number };
      };
      monitoring.drift.minRows = 20;
      await writeFile(join(configDir, 'monitoring.json'), JSON.stringify(monitoring));
      const workerState = join(stateDir, 'worker-state');
      await mkdir(workerState, { recursive: true });
      const history = await MonitoringHistory.open(join(workerState, 'monitoring.db'));
      await history.recordCalibrationRun(new Date().toISOString().slice(0, 10), 'EU', 5000, 0.03);
      await history.close();
      seedLeads(sim, 120, { region: 'EU', seed: 5 });
      const worker = await startWorkerProcess({
        roles: 'writeback,batch,scheduler',
        env: {
          REDIS_URL,
          LEADRANK_BATCH_PREFIX: prefix,
          LEADRANK_BULLMQ_PREFIX: `${prefix}-bull`,
          LEADRANK_BATCH_OVERRIDES: JSON.stringify({ ...FAST, schedule: { everyMs: 3000 } }),
          LEADRANK_CONFIG_DIR: configDir,
          LEADRANK_ROOT: stateDir,
          LEADRANK_STATE_DIR: workerState,
          LEADRANK_MODEL_DIR: model.dir,
          SF_LOGIN_URL: sim.url,
          SF_CLIENT_ID: CLIENT.clientId,
          SF_CLIENT_SECRET: CLIENT.clientSecret,
          DATABASE_URL: '',
        },
      });
      try {
        const deadline = Date.now() + 120_000;
        let text = await worker.metrics();
        while (Date.now() < deadline) {
          if (
            /leadrank_batch_cycles_total\{region="EU",outcome="success"\} [1-9]/.test(text) &&
            /leadrank_feature_psi\{/.test(text) &&
            /leadrank_writeback_lag_seconds\{/.test(text) &&
            /leadrank_opportunity_cycle_last_success_timestamp_seconds\{/.test(text)
          )
            break;
          await new Promise((r) => setTimeout(r, 500));
          text = await worker.metrics();
        }
        await worker.stop();
        expect(worker.child.exitCode).toBe(0);
        return text;
      } finally {
        await worker.stop();
        await sim.close();
        await rm(model.work, { recursive: true, force: true });
        const redis = new Redis(REDIS_URL);
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
        await redis.quit();
      }
    }

    beforeAll(async () => {
      stateDir = await mkdtemp(join(tmpdir(), 'alerts-sources-'));
      const { sidecar, port, stop } = await startServer(
        {
          REGION: 'US',
          PORT: '0',
          HOST: '127.0.0.1',
          LEADRANK_RULES_ONLY: '1',
          LEADRANK_MODEL_DIR: join(stateDir, 'no-model'),
          LEADRANK_CLIENTS: JSON.stringify([
            {
              clientId: 'apex-us',
              clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
              region: 'US',
              name: 'Apex',
            },
          ]),
          LEADRANK_TOKEN_SIGNING_KEY: 'sources-signing-key-0123456789abcdef0123',
          LEADRANK_AUDIT_DIR: join(stateDir, 'audit'),
          LEADRANK_AUDIT_FSYNC: 'none',
          LEADRANK_STATE_DIR: stateDir,
        },
        { logger: pino({ level: 'silent' }) },
      );
      try {
        const base = `http://127.0.0.1:${port}`;
        // The sidecar's usual work: scores answered, its timers (freshness, calibration publish), a live
        // experiment checked by the guardrail timer, a calibration run written by the calibration job.
        const token = (
          (await (
            await fetch(`${base}/oauth/token`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: `grant_type=client_credentials&client_id=apex-us&client_secret=${SECRET}`,
            })
          ).json()) as { access_token: string }
        ).access_token;
        const lead = syntheticLead(80_000, 'US', Date.now(), seeded(9));
        await sidecar.store.putLeads([lead]);
        const scored = await fetch(`${base}/v1/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ id: lead.Id }),
        });
        expect(scored.status).toBe(200);
        const now = new Date();
        await sidecar.monitoringHistory.recordCalibrationRun(
          now.toISOString().slice(0, 10),
          'US',
          5000,
          0.02,
        );
        await sidecar.monitor.publishLatestCalibration();
        await sidecar.monitor.checkExtractFreshness(now);
        sidecar.monitor.checkEventStreamNow(now);
        const definition = experimentDefinitionSchema.parse(
          JSON.parse(readFileSync(join(root, 'config', 'experiments', 'model-vs-rules.json'), 'utf8')),
        );
        await sidecar.experiments.create(definition, 'test');
        await sidecar.experiments.startCanary(definition.id, 'test');
        await sidecar.experiments.checkGuardrails(definition.id);
        sidecarMetrics = await (await fetch(`${base}/metrics`)).text();
      } finally {
        await stop();
      }
      workerMetrics = await scrapeWorker();
    }, 240_000);

    afterAll(async () => {
      await rm(stateDir, { recursive: true, force: true });
    });

    /** Metric names with at least one sample line in a /metrics text. */
    function sampled(text: string): Set<string> {
      return new Set(
        text
          .split('\n')
          .filter((l) => l.startsWith('leadrank_'))
          .map((l) => l.split(/[{ ]/)[0]!.replace(/_(bucket|sum|count)$/, '')),
      );
    }

    it('the worker exports the batch cycle, drift, API usage, write-back lag and calibration series', () => {
      for (const name of [
        'leadrank_batch_cycles_total',
        'leadrank_batch_cycle_duration_seconds',
        'leadrank_batch_last_success_timestamp_seconds',
        'leadrank_salesforce_api_usage_ratio',
        'leadrank_writeback_lag_seconds',
        'leadrank_feature_psi',
        'leadrank_feature_missing_rate_increase',
        'leadrank_prediction_psi',
        'leadrank_calibration_ece',
        // The scheduler role's opportunity cycle (no deals in this org: it completes with none).
        'leadrank_opportunity_cycles_total',
        'leadrank_opportunity_cycle_last_success_timestamp_seconds',
      ])
        expect(sampled(workerMetrics).has(name), `worker /metrics lacks ${name}`).toBe(true);
      expect(workerMetrics).toMatch(/leadrank_calibration_ece\{region="EU"\} 0\.03/);
    });

    it('every rule series has a sample on some process /metrics, except the listed gaps', () => {
      const exported = new Set([...sampled(sidecarMetrics), ...sampled(workerMetrics)]);
      const missing = [...ruleSeries].filter((n) => !exported.has(n)).sort();
      expect(missing).toEqual(Object.keys(NO_LIVE_SOURCE).sort());
    });
  });
});
