// Assembles one sidecar process from the environment: config, store, model, rules, reasons, audit log,
// write-back queue, worklist index, auth, HTTP app. `leadrank serve` (src/cli.ts) starts it.
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { createApp } from './api/app.js';
import { createAuthenticatorFromEnv } from './api/auth.js';
import { ApiMetrics } from './api/metrics.js';
import { featureHash, openAuditLog } from './audit/index.js';
import { loadRegionsConfig, loadScoringConfig, type ScoringConfig } from './config/index.js';
import { loadReasonCatalogue, reasonsFor } from './explain/index.js';
import { loadActionCatalogue, loadRuleSet } from './model/rules/index.js';
import {
  createInProcessWorklistIndex,
  createRedisWorklistIndex,
  loadRankingConfig,
  type ClosableWorklistIndex,
} from './ranking/index.js';
import { ModelHolder } from './model/model-holder.js';
import { ModelRegistry } from './model/registry.js';
import { holderModelSource, loadDirectoryModelSource, type ModelSource } from './scoring/model-source.js';
import { createScoringService, type AuditSink, type ReasonMaker } from './scoring/scoring-service.js';
import {
  createPublishedScoresFromEnv,
  createWritebackQueue,
  type PublishedScores,
  type WritebackQueue,
} from './scoring/writeback.js';
import { createStoreFromEnv, type OnlineFeatureStore, type Region } from './store/index.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SidecarOverrides {
  logger?: Logger;
  /** Replaces the model source built from LEADRANK_MODEL_DIR (tests, the registry-backed holder). */
  models?: ModelSource;
  store?: OnlineFeatureStore;
  worklistIndex?: ClosableWorklistIndex | null;
  audit?: AuditSink & { close?(): Promise<void> };
  writeback?: WritebackQueue;
  published?: PublishedScores;
  now?: () => Date;
}

export interface Sidecar {
  app: ReturnType<typeof createApp>;
  region: Region;
  config: ScoringConfig;
  store: OnlineFeatureStore;
  models: ModelSource;
  writeback: WritebackQueue;
  worklistIndex: ClosableWorklistIndex | null;
  metrics: ApiMetrics;
  close(): Promise<void>;
}

const regionSchema = z.enum(['US', 'EU']);

/**
 * LEADRANK_MODEL_DIR: that directory, loaded once. Otherwise the registry's champion (LEADRANK_REGISTRY_URL,
 * default var/registry), hot-swapped by ModelHolder, cached in LEADRANK_MODEL_CACHE_DIR (default var/model-cache).
 */
async function modelSourceFromEnv(
  env: Record<string, string | undefined>,
  logger: Logger,
): Promise<ModelSource> {
  if (env.LEADRANK_MODEL_DIR) return loadDirectoryModelSource(env.LEADRANK_MODEL_DIR);
  const cacheDir = env.LEADRANK_MODEL_CACHE_DIR ?? join(REPO_ROOT, 'var', 'model-cache');
  const holder = new ModelHolder({
    registry: ModelRegistry.open(env.LEADRANK_REGISTRY_URL),
    cacheDir,
    logger,
    ...(env.LEADRANK_MODEL_POLL_MS ? { pollIntervalMs: Number(env.LEADRANK_MODEL_POLL_MS) } : {}),
  });
  try {
    await holder.start();
  } catch (error) {
    logger.warn(
      { err: (error as Error).message },
      'model registry unavailable: scoring by rules until it answers',
    );
  }
  return holderModelSource(holder, cacheDir);
}

/**
 * Env: REGION (US|EU, required), REDIS_URL (+ LEADRANK_REDIS_PREFIX), LEADRANK_MODEL_DIR, LEADRANK_RULES_ONLY=1,
 * LEADRANK_CONFIG_DIR (default <repo>/config), LEADRANK_AUDIT_DIR (default <repo>/var/audit),
 * LEADRANK_AUDIT_FSYNC (batch|none), and the auth variables of api/auth.ts.
 */
export async function createSidecar(
  env: Record<string, string | undefined>,
  overrides: SidecarOverrides = {},
): Promise<Sidecar> {
  const region = regionSchema.safeParse(env.REGION);
  if (!region.success) throw new Error('REGION must be US or EU');
  const logger = overrides.logger ?? pino({ name: 'leadrank-sidecar', level: env.LOG_LEVEL ?? 'info' });
  const configDir = env.LEADRANK_CONFIG_DIR ?? join(REPO_ROOT, 'config');
  const config = loadScoringConfig(join(configDir, 'scoring.json'));
  const regions = loadRegionsConfig(join(configDir, 'regions.json'));
  const ruleSet = await loadRuleSet(join(configDir, 'rules', 'default.json'));
  const actions = await loadActionCatalogue(join(configDir, 'actions', 'catalogue.json'));
  const catalogue = loadReasonCatalogue(join(configDir, 'reasons', 'lead-conversion.json'));
  const ranking = loadRankingConfig(join(configDir, 'ranking.json'));
  const auth = await createAuthenticatorFromEnv(env, config.tokens.ttlSeconds);

  const redisUrl = env.REDIS_URL?.trim();
  const redisPrefix = env.LEADRANK_REDIS_PREFIX?.trim() || undefined;
  // Auto-pipelining folds the reads of concurrent requests into one round trip per event-loop turn.
  const redisOptions = { enableAutoPipelining: true };
  const store = overrides.store ?? createStoreFromEnv(env, region.data, { redisOptions, logger });
  const models = overrides.models ?? (await modelSourceFromEnv(env, logger));
  const rulesOnly = env.LEADRANK_RULES_ONLY === '1' || env.LEADRANK_RULES_ONLY === 'true';
  const audit =
    overrides.audit ??
    (await openAuditLog({
      dir: env.LEADRANK_AUDIT_DIR ?? join(REPO_ROOT, 'var', 'audit'),
      region: region.data,
      fsync: env.LEADRANK_AUDIT_FSYNC === 'none' ? 'none' : 'batch',
    }));
  const writeback = overrides.writeback ?? createWritebackQueue(env, region.data);
  const published = overrides.published ?? createPublishedScoresFromEnv(env, region.data);
  const worklistIndex =
    overrides.worklistIndex !== undefined
      ? overrides.worklistIndex
      : redisUrl
        ? createRedisWorklistIndex(redisUrl, region.data, {
            closedStatuses: ranking.candidates.closedStatuses,
            ...(redisPrefix ? { keyPrefix: redisPrefix } : {}),
            logger,
          })
        : createInProcessWorklistIndex(region.data, { closedStatuses: ranking.candidates.closedStatuses });

  const metrics = new ApiMetrics({ defaultMetrics: true });
  const reasons: ReasonMaker = (contributions, raw, spec, top) =>
    reasonsFor(contributions, raw, spec, catalogue, { top });
  const now = overrides.now ?? (() => new Date());
  const scoring = createScoringService({
    region: region.data,
    store,
    models,
    ruleSet,
    actions,
    config,
    regions,
    audit,
    featureHash,
    reasons,
    metrics,
    now,
  });
  const status = models.status();
  logger.info(
    {
      region: region.data,
      model: status.version,
      modelError: status.lastError,
      rulesOnly,
      redis: Boolean(redisUrl),
    },
    'sidecar configured',
  );

  const app = createApp({
    region: region.data,
    config,
    store,
    scoring,
    published,
    writeback,
    metrics,
    worklists: worklistIndex ? { index: worklistIndex, config: ranking } : null,
    now,
    currentVersion: () => models.current()?.version ?? ruleSet.version,
    auth,
    models,
    rulesOnly,
    ruleSetVersion: ruleSet.version,
    logger,
  });

  return {
    app,
    region: region.data,
    config,
    store,
    models,
    writeback,
    worklistIndex,
    metrics,
    close: async () => {
      await Promise.allSettled([
        audit.close?.(),
        writeback.close(),
        published.close(),
        worklistIndex?.close(),
        store.close(),
        models.close(),
      ]);
    },
  };
}

/** Listens on PORT (default 8080); resolves once listening. */
export async function startServer(
  env: Record<string, string | undefined>,
  overrides: SidecarOverrides = {},
): Promise<{ sidecar: Sidecar; server: Server; port: number; stop(): Promise<void> }> {
  const sidecar = await createSidecar(env, overrides);
  const port = Number(env.PORT ?? 8080);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = sidecar.app.listen(port, env.HOST ?? '0.0.0.0', (error?: Error) =>
      error ? reject(error) : resolve(s),
    );
  });
  server.keepAliveTimeout = 65_000; // longer than typical load-balancer idle timeouts
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    sidecar,
    server,
    port: actualPort,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections(); // keep-alive sockets would otherwise hold close() for keepAliveTimeout
      await closed;
      await sidecar.close();
    },
  };
}
