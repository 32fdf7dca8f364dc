// `leadrank batch …`: run a cycle in the foreground, run queue workers, schedule cycles, read status and failures.
// Env: REGION (US|EU), SF_* (org credentials, see salesforce/org-connection.ts), REDIS_URL (shared state and
// queues; without it the cycle runs embedded with in-memory state), LEADRANK_BATCH_PREFIX (key namespace),
// LEADRANK_MODEL_DIR or LEADRANK_REGISTRY_URL (the champion), LEADRANK_CHALLENGER_MODEL_DIR (the shadow
// challenger, else the registry's alias), LEADRANK_EXPERIMENTS_DB (default <state dir>/experiments.db), LEADRANK_ROOT (default: the repository; var/ and
// exports/ go there), LEADRANK_CONFIG_DIR (default <root>/config), LEADRANK_STATE_DIR (default <root>/var/state/<region>:
// monitoring.db, the cycle history the RevOps dashboard shows).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { z } from 'zod';
import {
  BatchMonitor,
  loadMonitoringConfig,
  Monitor,
  MonitoringHistory,
  MonitoringMetrics,
} from '../monitoring/index.js';
import { overridesFromEnv, regionStateDir } from '../config/index.js';
import type { Region } from '../store/index.js';
import {
  createBatchRuntime,
  cycleFailures,
  cycleReport,
  enqueueCycle,
  getJson,
  listCycles,
  loadMeta,
  openBatchQueues,
  runCycleInProcess,
  scheduleCycles,
  startBatchWorkers,
  failedRowShare,
  summaryLine,
  type BatchConfigOverrides,
  type BatchMetrics,
  type BatchRuntime,
  type Phase,
} from '../batch/index.js';
import { databaseUrlOf } from '../shared-state/index.js';

const ROOT = process.env.LEADRANK_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));

function regionOf(flag: string | undefined): Region {
  const parsed = z.enum(['US', 'EU']).safeParse(flag ?? process.env.REGION);
  if (!parsed.success) throw new Error('set --region US|EU (or REGION)');
  return parsed.data;
}

/**
 * The batch runtime of a region from the environment (the worker's batch and scheduler roles use it too).
 * LEADRANK_BATCH_OVERRIDES: JSON merged over config/batch.json section by section (ops and tests).
 */
export async function runtimeFor(
  region: Region,
  o: { metrics?: BatchMetrics; monitor?: Monitor } = {},
): Promise<BatchRuntime> {
  const overrides = overridesFromEnv(process.env, 'LEADRANK_BATCH_OVERRIDES') as BatchConfigOverrides;
  const configDir = process.env.LEADRANK_CONFIG_DIR ?? join(ROOT, 'config');
  // The region's state: monitoring.db (the cycle history the dashboard shows) and experiments.db (a live
  // shadow experiment), the same files the region's sidecar uses.
  const stateDir = regionStateDir({ ...process.env, REGION: region }, ROOT);
  const rt = await createBatchRuntime({
    region,
    rootDir: ROOT,
    configDir,
    redisUrl: process.env.REDIS_URL?.trim() || null,
    keyPrefix: process.env.LEADRANK_BATCH_PREFIX?.trim() || 'lr',
    overrides,
    experimentsDb: process.env.LEADRANK_EXPERIMENTS_DB ?? join(stateDir, 'experiments.db'),
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  if (o.monitor) {
    // The worker's monitor: its metrics are in the worker's registry, which its /metrics serves.
    rt.monitor = new BatchMonitor({ monitor: o.monitor });
    return rt;
  }
  const { monitor, close: closeMonitor } = await openRegionMonitor(region, new Registry(), configDir);
  rt.monitor = new BatchMonitor({ monitor });
  const close = rt.close.bind(rt);
  rt.close = async () => {
    await close();
    await closeMonitor();
  };
  return rt;
}

/**
 * The region's monitor over its monitoring history (DATABASE_URL, else <state dir>/monitoring.db), its gauges
 * registered in `registry`. A worker passes the registry its /metrics serves; `batch run` a private one.
 */
export async function openRegionMonitor(
  region: Region,
  registry: Registry,
  configDir = process.env.LEADRANK_CONFIG_DIR ?? join(ROOT, 'config'),
): Promise<{ monitor: Monitor; close(): Promise<void> }> {
  const stateDir = regionStateDir({ ...process.env, REGION: region }, ROOT);
  mkdirSync(stateDir, { recursive: true });
  const history = await MonitoringHistory.open({
    databaseUrl: databaseUrlOf(process.env),
    sqliteFile: process.env.LEADRANK_MONITORING_DB ?? join(stateDir, 'monitoring.db'),
  });
  const monitor = new Monitor({
    metrics: new MonitoringMetrics(registry),
    history,
    config: loadMonitoringConfig(join(configDir, 'monitoring.json')),
    baseline: null, // the cycle's model dir holds the baseline; BatchMonitor reads it from there
  });
  return {
    monitor,
    close: async () => {
      await monitor.flushScores().catch(() => {});
      await history.close();
    },
  };
}

/** A progress bar on a TTY (partitions, leads/s, ETA); structured logs otherwise. */
function progressReporter():
  | ((p: {
      phase: Phase;
      partitions: number;
      scored: number;
      extracted: number;
      extractDone: boolean;
    }) => void)
  | undefined {
  if (!process.stderr.isTTY) return undefined;
  const bar = new SingleBar(
    {
      format:
        '{phase} |{bar}| {value}/{total} partitions | {leads} leads | {rate} leads/s | ETA {eta_formatted}',
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  return (p) => {
    if (!running) {
      bar.start(Math.max(1, p.partitions), 0, { phase: p.phase, leads: 0, rate: 0 });
      running = true;
    }
    bar.setTotal(Math.max(1, p.partitions));
    const rate = Math.round(p.extracted / Math.max(1, (Date.now() - started) / 1000));
    bar.update(p.phase === 'extract' ? 0 : p.scored, {
      phase: p.extractDone ? 'scoring' : 'extracting',
      leads: p.extracted,
      rate,
    });
    if (p.extractDone && p.scored >= p.partitions) bar.stop();
  };
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

export function registerBatchCommands(program: Command): void {
  const batch = program
    .command('batch')
    .description('rescoring cycles: extract, score, write back through Bulk API 2.0');

  batch
    .command('run')
    .description(
      'run one cycle in the foreground (embedded runner; state in Redis when REDIS_URL is set, so --cycle-id resumes it)',
    )
    .option('--region <region>', 'US or EU (env REGION)')
    .option('--limit <n>', 'extract at most n leads')
    .option('--incremental', 'only leads modified since the last completed cycle (SystemModstamp)')
    .option('--cycle-id <id>', 'resume (or name) this cycle')
    .action(async (opts: { region?: string; limit?: string; incremental?: boolean; cycleId?: string }) => {
      const region = regionOf(opts.region);
      const rt = await runtimeFor(region);
      const onProgress = progressReporter();
      if (onProgress) rt.onProgress = onProgress;
      try {
        const report = await runCycleInProcess(rt, {
          ...(opts.cycleId ? { cycleId: opts.cycleId } : {}),
          mode: opts.incremental ? 'incremental' : 'full',
          limit: opts.limit ? Number(opts.limit) : null,
        });
        process.stdout.write(`${summaryLine(report)}\n`);
        const failed = failedRowShare(report, rt.config.failures.maxRowShare);
        if (failed.overLimit) {
          process.stderr.write(`leadrank batch run: ${failed.message}\n`);
          process.exitCode = 1;
        }
      } finally {
        await rt.close();
      }
    });

  batch
    .command('worker')
    .description(
      'take score and write tasks from the region queue (REDIS_URL); --coordinator also drives cycles',
    )
    .option('--region <region>', 'US or EU (env REGION)')
    .option('--coordinator', 'also run the cycle coordinator')
    .option('--no-tasks', 'coordinator only')
    .action(async (opts: { region?: string; coordinator?: boolean; tasks: boolean }) => {
      const rt = await runtimeFor(regionOf(opts.region));
      const workers = startBatchWorkers(rt, { tasks: opts.tasks, coordinator: Boolean(opts.coordinator) });
      rt.log.info({ pid: process.pid, coordinator: Boolean(opts.coordinator) }, 'batch worker started');
      const stop = () => {
        workers
          .close()
          .then(() => rt.close())
          .then(
            () => process.exit(0),
            () => process.exit(1),
          );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });

  batch
    .command('enqueue')
    .description('queue one cycle for the workers')
    .option('--region <region>', 'US or EU (env REGION)')
    .option('--limit <n>', 'extract at most n leads')
    .option('--incremental', 'only leads modified since the last completed cycle')
    .action(async (opts: { region?: string; limit?: string; incremental?: boolean }) => {
      const region = regionOf(opts.region);
      const rt = await runtimeFor(region);
      const queues = openBatchQueues(rt);
      try {
        const cycleId = await enqueueCycle(queues, region, {
          mode: opts.incremental ? 'incremental' : 'full',
          limit: opts.limit ? Number(opts.limit) : null,
        });
        print({ cycleId });
      } finally {
        await queues.close();
        await rt.close();
      }
    });

  batch
    .command('schedule')
    .description('create or replace the repeatable cycle (config/batch.json schedule.everyMs)')
    .option('--region <region>', 'US or EU (env REGION)')
    .action(async (opts: { region?: string }) => {
      const rt = await runtimeFor(regionOf(opts.region));
      const queues = openBatchQueues(rt);
      try {
        await scheduleCycles(queues, rt.config.schedule.everyMs);
        print({ scheduled: true, everyMs: rt.config.schedule.everyMs });
      } finally {
        await queues.close();
        await rt.close();
      }
    });

  batch
    .command('status')
    .description('recent cycles: phase, progress, pause state, and the last report summary')
    .option('--region <region>', 'US or EU (env REGION)')
    .option('--last <n>', 'how many cycles', '5')
    .action(async (opts: { region?: string; last: string }) => {
      const rt = await runtimeFor(regionOf(opts.region));
      try {
        const ids = (await listCycles(rt.state)).slice(-Number(opts.last));
        const cycles = [];
        for (const id of ids.reverse()) {
          const meta = await loadMeta(rt.state, id).catch(() => null);
          const report = await cycleReport(rt.state, id);
          cycles.push({
            cycleId: id,
            phase: meta?.phase ?? 'expired',
            model: meta?.model?.version ?? (meta ? 'rules' : null),
            extracted: meta?.extract.rows ?? null,
            partitions: meta?.extract.partitions ?? null,
            retryRound: meta?.round ?? null,
            summary: report ? summaryLine(report) : null,
          });
        }
        print({ region: rt.region, paused: await getJson(rt.state, 'paused'), cycles });
      } finally {
        await rt.close();
      }
    });

  batch
    .command('failures <cycleId>')
    .description("a cycle's dead-letter list: lead Id, Salesforce error code, message, stage")
    .option('--region <region>', 'US or EU (env REGION)')
    .action(async (cycleId: string, opts: { region?: string }) => {
      const rt = await runtimeFor(regionOf(opts.region));
      try {
        const failures = await cycleFailures(rt.state, cycleId);
        if (failures === null)
          throw new Error(`no failures recorded for ${cycleId} (unknown, unfinished or expired cycle)`);
        print({ cycleId, count: failures.length, failures });
      } finally {
        await rt.close();
      }
    });
}
