// `leadrank sync run` (the continuous org sync, a long-running process with /metrics) and
// `leadrank store sync --full` (refill the shared store and worklists from the org, e.g. after Redis lost its data).
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import {
  OrgSync,
  SyncMetrics,
  loadSyncConfig,
  outcomeSummary,
  createErasureRequestQueue,
  redisWatermarkStore,
  runSyncLoop,
  type SyncConfig,
} from '../ingest/index.js';
import { loadSalesforceNames } from '../config/index.js';
import { createRedisWorklistIndex, loadRankingConfig } from '../ranking/index.js';
import { SalesforceClient, connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import { createStoreFromEnv } from '../store/index.js';

// commands/ sits at scoring-sidecar/src/commands: the repository root is three levels up.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** "60s", "5m", "500ms", "1h" or plain milliseconds; hand-written: five units do not need a dependency. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`${what}: "${text}" is not a duration (e.g. 60s, 5m, 500ms)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

export interface SyncRuntime {
  sync: OrgSync;
  config: SyncConfig;
  region: 'US' | 'EU';
  metrics: SyncMetrics;
  close(): Promise<void>;
}

/** Everything a sync process needs, from the environment (REGION, REDIS_URL, SF_*) and config/sync.json. */
export async function openSyncRuntime(
  env: NodeJS.ProcessEnv,
  log: Logger,
  opts: { defaultMetrics?: boolean } = {},
): Promise<SyncRuntime> {
  const region = z.enum(['US', 'EU']).safeParse(env.REGION);
  if (!region.success) throw new Error('REGION must be US or EU');
  const redisUrl = env.REDIS_URL?.trim();
  if (!redisUrl)
    throw new Error(
      'REDIS_URL is not set: the sync fills the shared store that `leadrank serve` and the batch read; ' +
        'an embedded store would live and die with this process',
    );
  const configDir = env.LEADRANK_CONFIG_DIR ?? join(ROOT, 'config');
  const config = loadSyncConfig(join(configDir, 'sync.json'));
  const ranking = loadRankingConfig(join(configDir, 'ranking.json'));
  const keyPrefix = env.LEADRANK_REDIS_PREFIX?.trim() || undefined;
  const names = loadSalesforceNames(configDir);
  const conn = await connectToOrg(orgAuthFromEnv(env));
  const client = new SalesforceClient(conn, { log, names });
  await client.verifyNamespace();
  const store = createStoreFromEnv(env, region.data, { logger: log });
  const worklistIndex = createRedisWorklistIndex(redisUrl, region.data, {
    closedStatuses: ranking.candidates.closedStatuses,
    ...(keyPrefix ? { keyPrefix } : {}),
    logger: log,
  });
  const watermarks = redisWatermarkStore(redisUrl, region.data, keyPrefix ? { keyPrefix } : {});
  // A worker serves its own process metrics; `sync run` alone serves them with the sync's.
  const metrics = new SyncMetrics(region.data, { defaultMetrics: opts.defaultMetrics ?? true });
  const leadFilter = env.LEADRANK_SYNC_LEAD_FILTER?.trim();
  // Deleted, merged and ShouldForget leads are queued for the worker's privacy role (docs/audit.md "Erasure").
  const bullPrefix = env.LEADRANK_BULLMQ_PREFIX?.trim() || undefined;
  const erasureRequests = createErasureRequestQueue(redisUrl, region.data, {
    ...(bullPrefix ? { prefix: bullPrefix } : {}),
    deleteDelayMs: config.eraseDeletedAfterDays * 86_400_000,
  });
  const sync = new OrgSync({
    client,
    region: region.data,
    store,
    worklistIndex,
    ranking,
    watermarks,
    config,
    log,
    ...(leadFilter ? { leadFilter } : {}),
    erasureRequests,
    onChangeApplied: (lagMs) => metrics.changeApplied(lagMs),
  });
  return {
    sync,
    config,
    region: region.data,
    metrics,
    close: async () => {
      await Promise.allSettled([
        store.close(),
        worklistIndex.close(),
        watermarks.close(),
        erasureRequests.close(),
      ]);
    },
  };
}

function serveMetrics(metrics: SyncMetrics, port: number, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      log.info({ port }, 'sync metrics on /metrics');
      resolve(server);
    });
  });
}

export function registerSyncCommands(program: Command): void {
  const log = pino({ name: 'leadrank-sync', level: process.env.LOG_LEVEL ?? 'info' });
  program
    .command('sync')
    .description('the org sync (env: REGION, REDIS_URL, SF_*; config/sync.json; see docs/ingest.md)')
    .command('run')
    .description('initial load, then incremental pulls by SystemModstamp until stopped (SIGINT/SIGTERM)')
    .option('--once', 'one pull (a full load if there is no watermark yet), then exit')
    .option('--interval <duration>', 'pause between pulls, e.g. 60s (default: config/sync.json intervalMs)')
    .option('--metrics-port <port>', 'port of /metrics (default: config/sync.json metricsPort; 0 = none)')
    .action(async (opts: { once?: boolean; interval?: string; metricsPort?: string }) => {
      const rt = await openSyncRuntime(process.env, log);
      const intervalMs = opts.interval ? parseDuration(opts.interval, '--interval') : rt.config.intervalMs;
      const port = opts.metricsPort !== undefined ? Number(opts.metricsPort) : rt.config.metricsPort;
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new Error(`--metrics-port: "${opts.metricsPort}" is not a port`);
      const server = port > 0 && !opts.once ? await serveMetrics(rt.metrics, port, log) : null;
      const stop = new AbortController();
      process.once('SIGTERM', () => stop.abort());
      process.once('SIGINT', () => stop.abort());
      try {
        const { pulls, failures } = await runSyncLoop({
          sync: rt.sync,
          intervalMs,
          once: opts.once ?? false,
          signal: stop.signal,
          log,
          metrics: rt.metrics,
        });
        log.info({ pulls, failures }, 'sync stopped');
      } finally {
        server?.close();
        await rt.close();
      }
    });

  program
    .command('store')
    .description('the shared online store')
    .command('sync')
    .description(
      'pull the org into the store and worklists once (--full: reload everything, e.g. after a Redis restart)',
    )
    .option('--full', 'load every open lead of the region and remove leads the org no longer has open')
    .action(async (opts: { full?: boolean }) => {
      const rt = await openSyncRuntime(process.env, log);
      try {
        const outcome = opts.full ? await rt.sync.full({ reconcile: true }) : await rt.sync.runOnce();
        // One JSON line on stdout: scripts (the demo) read it.
        console.log(JSON.stringify(outcomeSummary(outcome)));
      } finally {
        await rt.close();
      }
    });
}
