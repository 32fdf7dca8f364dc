// `leadrank worker --roles writeback,batch,scheduler[,sync][,privacy]`: the non-API processes of the topology
// (docs/operations.md). The scheduler role also runs the opportunity cycle (config/opportunity-batch.json). Every role coordinates through Redis (REDIS_URL), so any number of workers may run on
// any number of hosts: BullMQ hands each job to one worker, the cycle lease allows one cycle per region, and the
// schedulers are upserted under fixed ids (one schedule however many scheduler processes start).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { z } from 'zod';
import {
  BatchMetrics,
  loadOpportunityBatchConfig,
  loadRetrainSchedules,
  OPPORTUNITY_BATCH_FILE,
  openBatchQueues,
  scheduleCycles,
  scheduleOpportunityCycles,
  scheduleRetraining,
  startBatchWorkers,
  startOpportunityCycleWorker,
  startRetrainWorker,
} from '../batch/index.js';
import { openRegionMonitor, runtimeFor } from './batch.js';
import { buildOpportunityTrainingSet, opportunityScorerFromEnv } from './opportunities.js';
import { erasureFromEnv, startErasureConsumer } from '../privacy/index.js';
import { claimStoreTenant, createStoreFromEnv, orgIdFromEnv, type Region } from '../store/index.js';
import { startBullConsumer } from '../writeback/index.js';
import { startMetricsServer } from './metrics-server.js';
import { scheduleGovernance, startGovernanceWorker } from '../retention/index.js';
import { anchorFromEnv, retentionConfigFromEnv, runRetentionFromEnv } from './retention.js';
import { startSyncRole } from './sync-role.js';
import { parseDuration } from './sync.js';
import { writebackRuntimeFromEnv } from './writeback-runtime.js';

const ROOT = process.env.LEADRANK_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));
export const WORKER_ROLES = ['writeback', 'batch', 'scheduler', 'sync', 'privacy'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

export function parseRoles(value: string): WorkerRole[] {
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const bad = roles.find((r) => !(WORKER_ROLES as readonly string[]).includes(r));
  if (bad !== undefined || roles.length === 0)
    throw new Error(
      `--roles: "${bad ?? value}" is not a role; use a comma list of ${WORKER_ROLES.join(', ')}`,
    );
  return [...new Set(roles)] as WorkerRole[];
}

type Closer = () => Promise<unknown>;

/** How often a worker re-reads the newest calibration run (the daily job writes it to the shared history). */
const CALIBRATION_REFRESH_MS = 5 * 60_000;

export interface WorkerOptions {
  roles: WorkerRole[];
  region: Region;
  metricsPort: number;
  /** Pause between org sync pulls (sync role); default config/sync.json intervalMs. */
  syncIntervalMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

/** Starts the roles and /metrics; resolves once they run, with the metrics port and a stop function. */
export async function startWorker(o: WorkerOptions): Promise<{ metricsPort: number; stop(): Promise<void> }> {
  const env = o.env ?? process.env;
  const log = o.log ?? pino({ name: 'leadrank-worker', level: env.LOG_LEVEL ?? 'info' });
  const redisUrl = env.REDIS_URL?.trim();
  if (!redisUrl)
    throw new Error('leadrank worker needs REDIS_URL: its queues, leases and schedules are in Redis');
  const configDir = env.LEADRANK_CONFIG_DIR ?? join(ROOT, 'config');
  // The scheduler's opportunity cycle schedule, validated before anything starts (the error names file and field).
  const opportunityBatch = o.roles.includes('scheduler')
    ? loadOpportunityBatchConfig(join(configDir, OPPORTUNITY_BATCH_FILE))
    : null;
  // Tenancy: the namespace of the batch, the write-back guard and the dead letters belongs to one org.
  const orgId = orgIdFromEnv(env);
  if (orgId)
    await claimStoreTenant(
      redisUrl,
      env.LEADRANK_BATCH_PREFIX?.trim() || env.LEADRANK_REDIS_PREFIX?.trim() || 'lr',
      orgId,
    );
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'leadrank_worker_' });
  const closers: Closer[] = [];
  const lastClosers: Closer[] = [];
  const has = (r: WorkerRole) => o.roles.includes(r);
  try {
    // One monitor per worker, its gauges in the registry /metrics serves: the batch cycle's outcome, duration,
    // last success, API usage, drift, missing rates and prediction drift (set by the coordinator's BatchMonitor),
    // the write-back lag, and the calibration ECE of the newest calibration run (re-read periodically).
    const monitoring = await openRegionMonitor(o.region, registry, configDir);
    lastClosers.push(() => monitoring.close()); // after the roles that report to it
    const calibrationTimer = setInterval(
      () => void monitoring.monitor.publishLatestCalibration().catch(() => {}),
      CALIBRATION_REFRESH_MS,
    );
    calibrationTimer.unref();
    closers.push(async () => clearInterval(calibrationTimer));
    if (has('writeback')) {
      const wb = writebackRuntimeFromEnv({
        env,
        region: o.region,
        configDir,
        log,
        registry,
        onLag: (seconds) => monitoring.monitor.recordWritebackLag(o.region, seconds),
      });
      const consumer = startBullConsumer(wb.consumer, {
        redisUrl,
        region: o.region,
        ...(wb.bullPrefix ? { prefix: wb.bullPrefix } : {}),
        config: wb.config,
        deadLetters: wb.deadLetters,
        log,
        onPendingAge: (seconds) => wb.reportPendingAge(seconds),
      });
      closers.push(
        () => consumer.close(),
        () => wb.close(),
      );
    }
    if (has('batch') || has('scheduler')) {
      const rt = await runtimeFor(o.region, {
        metrics: new BatchMetrics(registry),
        monitor: monitoring.monitor,
      });
      closers.push(() => rt.close());
      if (has('batch')) {
        const workers = startBatchWorkers(rt, { tasks: true, coordinator: true });
        closers.unshift(() => workers.close());
      }
      if (has('scheduler')) {
        const queues = openBatchQueues(rt);
        try {
          await scheduleCycles(queues, rt.config.schedule.everyMs);
        } finally {
          await queues.close();
        }
        const schedules = loadRetrainSchedules(join(configDir, 'retraining.json'));
        await scheduleRetraining({ redisUrl, region: o.region, prefix: rt.keyPrefix, schedules });
        const retrain = startRetrainWorker({
          redisUrl,
          region: o.region,
          prefix: rt.keyPrefix,
          log,
          env,
          // A deal retraining reads the region's closed deals from the org, as `leadrank opportunities
          // training-set --region` does.
          buildDealSet: (out) => buildOpportunityTrainingSet(env, log, out, o.region),
        });
        closers.unshift(() => retrain.close());
        log.info(
          { everyMs: rt.config.schedule.everyMs, retrain: schedules },
          'cycle and retraining schedules upserted',
        );
        // The opportunity cycle: its own schedule and lease, run here (BullMQ hands each fire to one scheduler).
        if (opportunityBatch) {
          await scheduleOpportunityCycles(rt, opportunityBatch.schedule.everyMs);
          const dealScorer = await opportunityScorerFromEnv(env, o.region, configDir, log);
          closers.push(() => dealScorer.close());
          const deals = startOpportunityCycleWorker(rt, dealScorer, {
            collectionsMaxRows: opportunityBatch.write.collectionsMaxRows,
          });
          closers.unshift(() => deals.close());
          log.info(
            { everyMs: opportunityBatch.schedule.everyMs, modelVersion: dealScorer.currentVersion() },
            'opportunity cycle schedule upserted',
          );
        }
        // Governance: the daily retention run and, with the signing key here, the periodic audit anchoring.
        const retention = retentionConfigFromEnv(env);
        const anchor = Boolean(
          env.LEADRANK_AUDIT_SIGNING_KEY?.trim() && (env.LEADRANK_AUDIT_ANCHOR_DIR || env.REDIS_URL),
        );
        await scheduleGovernance({
          redisUrl,
          region: o.region,
          prefix: rt.keyPrefix,
          schedule: retention.schedule,
          anchor,
        });
        const governance = startGovernanceWorker({
          redisUrl,
          region: o.region,
          prefix: rt.keyPrefix,
          log,
          jobs: {
            retention: async () => {
              const report = await runRetentionFromEnv(o.region, { env, lease: false });
              return report.stores.map((s) => ({ store: s.store, removed: s.removed, skipped: s.skipped }));
            },
            ...(anchor ? { anchor: () => anchorFromEnv(env) } : {}),
          },
        });
        closers.unshift(() => governance.close());
        log.info(
          {
            retention: retention.schedule.retention,
            anchorEverySeconds: anchor ? retention.schedule.auditAnchor.everySeconds : null,
          },
          anchor
            ? 'retention and audit anchoring schedules upserted'
            : 'retention schedule upserted; audit anchoring not scheduled here (no LEADRANK_AUDIT_SIGNING_KEY)',
        );
      }
    }
    if (has('privacy')) {
      // Erasure requests of the org sync (deleted, merged, ShouldForget leads), erased with every target.
      const store = createStoreFromEnv(env, o.region, { logger: log });
      closers.push(() => store.close());
      const setup = await erasureFromEnv(env, o.region, { store });
      closers.push(() => setup.close());
      const bullPrefix = env.LEADRANK_BULLMQ_PREFIX?.trim() || undefined;
      const consumer = startErasureConsumer({
        redisUrl,
        region: o.region,
        ...(bullPrefix ? { prefix: bullPrefix } : {}),
        targets: setup.targets,
        receipts: setup.receipts,
        isLive: async (leadId) => (await store.getLeadStates([leadId]))[0] !== null,
        log: log.child({ role: 'privacy' }),
      });
      closers.unshift(() => consumer.close());
    }
    const served: Registry[] = [registry];
    if (has('sync')) {
      const sync = await startSyncRole({
        env,
        region: o.region,
        redisUrl,
        log,
        workerRegistry: registry,
        ...(o.syncIntervalMs ? { intervalMs: o.syncIntervalMs } : {}),
      });
      served.push(sync.registry);
      closers.unshift(() => sync.close());
    }
    // The sync keeps its own registry (its metrics carry a default region label); /metrics serves both.
    const metrics = await startMetricsServer(
      {
        contentType: registry.contentType,
        metrics: async () => (await Promise.all(served.map((r) => r.metrics()))).join('\n'),
      },
      o.metricsPort,
    );
    closers.unshift(() => metrics.close());
    log.info(
      { roles: o.roles, region: o.region, metricsPort: metrics.port, pid: process.pid },
      'worker started',
    );
    return {
      metricsPort: metrics.port,
      stop: async () => {
        for (const close of [...closers, ...lastClosers]) await close().catch(() => {});
      },
    };
  } catch (error) {
    for (const close of [...closers, ...lastClosers]) await close().catch(() => {});
    throw error;
  }
}

export function registerWorkerCommands(program: Command): void {
  program
    .command('worker')
    .description(
      'run worker roles: writeback (drain leadrank-writeback-<region>), batch (cycle tasks and coordinator), ' +
        'scheduler (4-hour cycle, the opportunity cycle, retraining, daily retention and audit anchoring schedules), ' +
        'sync (org sync), ' +
        'privacy (erase the leads the sync reports deleted, merged or forgotten); needs REDIS_URL',
    )
    .requiredOption('--roles <list>', `comma list of ${WORKER_ROLES.join(', ')}`)
    .option('--region <region>', 'US or EU (env REGION)')
    .option('--metrics-port <port>', '/metrics port (env LEADRANK_METRICS_PORT, default 9464; 0 = any free)')
    .option(
      '--sync-interval <duration>',
      'pause between org sync pulls, e.g. 60s (default: config/sync.json)',
    )
    .action(async (opts: { roles: string; region?: string; metricsPort?: string; syncInterval?: string }) => {
      const region = z.enum(['US', 'EU']).safeParse(opts.region ?? process.env.REGION);
      if (!region.success) throw new Error('set --region US|EU (or REGION)');
      const port = Number(opts.metricsPort ?? process.env.LEADRANK_METRICS_PORT ?? 9464);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new Error('--metrics-port must be a port number (0-65535)');
      const worker = await startWorker({
        roles: parseRoles(opts.roles),
        region: region.data,
        metricsPort: port,
        ...(opts.syncInterval ? { syncIntervalMs: parseDuration(opts.syncInterval, '--sync-interval') } : {}),
      });
      const stop = () => {
        worker.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
