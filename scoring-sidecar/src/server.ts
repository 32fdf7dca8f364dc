// Assembles one sidecar process from the environment: config, store, model, rules, reasons, audit log,
// write-back queue, worklist index, auth, experiments, monitoring, the RevOps dashboard, HTTP app.
// `leadrank serve` (src/cli.ts) starts it.
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import {
  apiAccessFromEnv,
  ApiMetrics,
  createApp,
  createAuthenticatorFromEnv,
  type AppDeps,
  type RouteExperiments,
} from './api/index.js';
import { startTracing } from './tracing/index.js';
import { AUDIT_FSYNC_MODES, openAuditLog, refuseSigningKeyInWriter } from './audit/index.js';
import {
  eraseLead,
  erasureFromEnv,
  receiptIdOf,
  receiptStoreFromEnv,
  type ErasureSetup,
} from './privacy/index.js';
import {
  loadRegionsConfig,
  loadScoringConfig,
  REPO_ROOT,
  regionStateDir,
  type ScoringConfig,
} from './config/index.js';
import { createDashboardRouter, dashboardAccessFromEnv } from './dashboard/index.js';
import {
  armScorings,
  countingScores,
  ExperimentService,
  ExperimentStore,
  withShadowScoring,
} from './experiments/index.js';
import { loadReasonCatalogue } from './explain/index.js';
import {
  BASELINE_FILE,
  ExtractRowChecker,
  loadBaseline,
  loadMonitoringConfig,
  Monitor,
  MonitoringHistory,
  MonitoringMetrics,
  type Baseline,
} from './monitoring/index.js';
import { databaseUrlOf } from './shared-state/index.js';
import { loadActionCatalogue, loadRuleSet } from './model/index.js';
import {
  createInProcessWorklistIndex,
  createRedisWorklistIndex,
  loadRankingConfig,
  type ClosableWorklistIndex,
} from './ranking/index.js';
import { checkModelResidency, loadResidencyConfig, ModelRegistry } from './model/index.js';
import {
  createScoringService,
  loadDirectoryModelSource,
  loadDealConfig,
  opportunityModelSourceFromEnv,
  registryModelSource,
  OpportunityScorer,
  type AuditSink,
  type ModelSource,
} from './scoring/index.js';
import { writebackRuntimeFromEnv, type WritebackRuntime } from './commands/writeback-runtime.js';
import {
  createPublishedScoresFromEnv,
  createWritebackQueue,
  InProcessWritebackQueue,
  loadWritebackConfig,
  startInProcessDrainer,
  type PublishedScores,
  type WritebackQueue,
} from './writeback/index.js';
import {
  claimStoreTenant,
  createOpportunityStoreFromEnv,
  createStoreFromEnv,
  orgIdFromEnv,
  type OnlineFeatureStore,
  type OpportunityStore,
  type Region,
} from './store/index.js';
import { loadRetentionConfig } from './retention/index.js';

export interface SidecarOverrides {
  logger?: Logger;
  /** Traces to this exporter (tests: the SDK's InMemorySpanExporter); else OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  spanExporter?: SpanExporter;
  /** Replaces the model source built from LEADRANK_MODEL_DIR (tests, the registry-backed holder). */
  models?: ModelSource;
  store?: OnlineFeatureStore;
  /** Replaces the deal model source built from the environment (tests). */
  opportunityModels?: ModelSource;
  /** Replaces the opportunity store built from REDIS_URL (tests). */
  opportunityStore?: OpportunityStore;
  worklistIndex?: ClosableWorklistIndex | null;
  audit?: AuditSink & { close?(): Promise<void> };
  writeback?: WritebackQueue;
  published?: PublishedScores;
  now?: () => Date;
  /** Replaces the experiment service on <state dir>/experiments.db (tests, the demo). */
  experiments?: ExperimentService;
  /** Replaces the monitoring history on <state dir>/monitoring.db. */
  monitoringHistory?: MonitoringHistory;
}

export interface Sidecar {
  app: ReturnType<typeof createApp>;
  opportunities: { scorer: OpportunityScorer; store: OpportunityStore; audit: AuditSink };
  /** What the app was built from (the online bench serves the same routes on another framework with it). */
  appDeps: AppDeps;
  region: Region;
  config: ScoringConfig;
  store: OnlineFeatureStore;
  models: ModelSource;
  writeback: WritebackQueue;
  worklistIndex: ClosableWorklistIndex | null;
  metrics: ApiMetrics;
  experiments: ExperimentService;
  monitor: Monitor;
  monitoringHistory: MonitoringHistory;
  close(): Promise<void>;
}

const regionSchema = z.enum(['US', 'EU']);

/**
 * LEADRANK_MODEL_DIR: that directory, loaded once. Otherwise the registry's champion (LEADRANK_REGISTRY_URL,
 * default var/registry), hot-swapped by ModelHolder (registryModelSource), cached in LEADRANK_MODEL_CACHE_DIR
 * (default var/model-cache).
 */
async function modelSourceFromEnv(
  env: Record<string, string | undefined>,
  logger: Logger,
  alias: 'champion' | 'challenger' = 'champion',
): Promise<ModelSource> {
  // Residency: a deployment serves only its region's models (or pooled ones, when config/residency.json allows).
  const region = env.REGION === 'EU' ? 'EU' : 'US';
  const residency = loadResidencyConfig(
    join(env.LEADRANK_CONFIG_DIR ?? join(REPO_ROOT, 'config'), 'residency.json'),
  );
  if (env.LEADRANK_MODEL_DIR) {
    const dir = alias === 'champion' ? env.LEADRANK_MODEL_DIR : env.LEADRANK_CHALLENGER_MODEL_DIR;
    if (dir && existsSync(join(dir, 'model_card.json'))) await checkModelResidency(dir, region, residency);
    return loadDirectoryModelSource(dir);
  }
  return registryModelSource({
    registry: ModelRegistry.open(env.LEADRANK_REGISTRY_URL, region),
    cacheDir: env.LEADRANK_MODEL_CACHE_DIR ?? join(REPO_ROOT, 'var', 'model-cache'),
    check: (dir) => checkModelResidency(dir, region, residency),
    logger,
    alias,
    ...(env.LEADRANK_MODEL_POLL_MS ? { pollIntervalMs: Number(env.LEADRANK_MODEL_POLL_MS) } : {}),
  });
}

async function baselineOf(modelDir: string | undefined): Promise<Baseline | null> {
  const file = modelDir ? join(modelDir, BASELINE_FILE) : null;
  return file && existsSync(file) ? loadBaseline(file) : null;
}

/** LEADRANK_AUDIT_FSYNC: batch (default) | interval | none (docs/audit.md, "Writing, batching and durability"). */
function auditFsyncOf(value: string | undefined): (typeof AUDIT_FSYNC_MODES)[number] {
  const mode = value?.trim() || 'batch';
  if (!(AUDIT_FSYNC_MODES as readonly string[]).includes(mode))
    throw new Error(`LEADRANK_AUDIT_FSYNC must be one of ${AUDIT_FSYNC_MODES.join(', ')}; got "${mode}"`);
  return mode as (typeof AUDIT_FSYNC_MODES)[number];
}

/**
 * Env: REGION (US|EU, required), REDIS_URL (+ LEADRANK_REDIS_PREFIX), LEADRANK_MODEL_DIR, LEADRANK_RULES_ONLY=1,
 * LEADRANK_CONFIG_DIR (default <repo>/config), LEADRANK_AUDIT_DIR (default <repo>/var/audit),
 * LEADRANK_AUDIT_FSYNC (batch|interval|none), the auth variables of api/auth.ts, LEADRANK_METRICS_TOKEN (api/access.ts;
 * never LEADRANK_AUDIT_SIGNING_KEY); LEADRANK_STATE_DIR (default
 * <repo>/var/state/<REGION>: experiments.db, monitoring.db; or LEADRANK_EXPERIMENTS_DB, LEADRANK_MONITORING_DB),
 * LEADRANK_CHALLENGER_MODEL_DIR (with LEADRANK_MODEL_DIR; else the registry's challenger alias),
 * LEADRANK_DASHBOARD_USERS (dashboard/access.ts).
 */
export async function createSidecar(
  env: Record<string, string | undefined>,
  overrides: SidecarOverrides = {},
): Promise<Sidecar> {
  const region = regionSchema.safeParse(env.REGION);
  if (!region.success) throw new Error('REGION must be US or EU');
  refuseSigningKeyInWriter(env);
  const logger = overrides.logger ?? pino({ name: 'leadrank-sidecar', level: env.LOG_LEVEL ?? 'info' });
  const configDir = env.LEADRANK_CONFIG_DIR ?? join(REPO_ROOT, 'config');
  const config = loadScoringConfig(join(configDir, 'scoring.json'));
  const regions = loadRegionsConfig(join(configDir, 'regions.json'));
  const ruleSet = await loadRuleSet(join(configDir, 'rules', 'default.json'));
  const actions = await loadActionCatalogue(join(configDir, 'actions', 'catalogue.json'));
  const catalogue = loadReasonCatalogue(join(configDir, 'reasons', 'lead-conversion.json'));
  const ranking = loadRankingConfig(join(configDir, 'ranking.json'));
  const monitoringConfig = loadMonitoringConfig(join(configDir, 'monitoring.json'));
  const access = apiAccessFromEnv(env, configDir, region.data, logger);
  const auth = await createAuthenticatorFromEnv(
    env,
    config.tokens.ttlSeconds,
    access.config.callerTokens.maxLifetimeSeconds,
  );
  const dashboardAccess = dashboardAccessFromEnv(env);

  const redisUrl = env.REDIS_URL?.trim();
  const redisPrefix = env.LEADRANK_REDIS_PREFIX?.trim() || undefined;
  // Tenancy: the shared Redis namespace belongs to one org; another org's deployment on it is refused here.
  const orgId = orgIdFromEnv(env);
  if (redisUrl && orgId) await claimStoreTenant(redisUrl, redisPrefix ?? 'lr', orgId);
  // The Redis store auto-pipelines: the reads of concurrent requests share one round trip per event-loop turn.
  // Dated context history is kept as long as training sets are (config/retention.json), so a set can be rebuilt.
  const contextHistoryDays = loadRetentionConfig(join(configDir, 'retention.json')).days.trainingSets;
  const store = overrides.store ?? createStoreFromEnv(env, region.data, { logger, contextHistoryDays });
  const models = overrides.models ?? (await modelSourceFromEnv(env, logger));
  const rulesOnly = env.LEADRANK_RULES_ONLY === '1' || env.LEADRANK_RULES_ONLY === 'true';
  const audit =
    overrides.audit ??
    (await openAuditLog({
      dir: env.LEADRANK_AUDIT_DIR ?? join(REPO_ROOT, 'var', 'audit'),
      region: region.data,
      fsync: auditFsyncOf(env.LEADRANK_AUDIT_FSYNC),
      env,
    }));
  const writebackConfig = loadWritebackConfig(join(configDir, 'writeback.json'));
  const writeback =
    overrides.writeback ?? createWritebackQueue(env, region.data, {}, writebackConfig.inProcess.maxPending);
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
  const now = overrides.now ?? (() => new Date());

  const stateDir = regionStateDir({ ...env, REGION: region.data });
  const stateFile = (override: string | undefined, name: string) => {
    if (override) return override;
    mkdirSync(stateDir, { recursive: true });
    return join(stateDir, name);
  };
  // Shared state: the region's PostgreSQL database when DATABASE_URL is set (every replica and process agrees),
  // else one SQLite file per store in the state dir.
  const databaseUrl = databaseUrlOf(env);
  const monitoringHistory =
    overrides.monitoringHistory ??
    (await MonitoringHistory.open({
      databaseUrl,
      ...(databaseUrl ? {} : { sqliteFile: stateFile(env.LEADRANK_MONITORING_DB, 'monitoring.db') }),
    }));
  const monitor = new Monitor({
    metrics: new MonitoringMetrics(metrics.registry),
    history: monitoringHistory,
    config: monitoringConfig,
    baseline: await baselineOf(env.LEADRANK_MODEL_DIR).catch(() => null),
  });
  // Without Redis the write-back queue lives in this process: it is drained here when an org is configured
  // (SF_LOGIN_URL); with Redis the worker's write-back role drains it (docs/operations.md).
  let drainer: { close(): Promise<void> } | null = null;
  let drainerRuntime: WritebackRuntime | null = null;
  if (writeback instanceof InProcessWritebackQueue && env.SF_LOGIN_URL?.trim()) {
    const onLag = (seconds: number) => monitor.recordWritebackLag(region.data, seconds);
    drainerRuntime = writebackRuntimeFromEnv({ env, region: region.data, configDir, log: logger, onLag });
    drainer = startInProcessDrainer(drainerRuntime.consumer, writeback, {
      config: drainerRuntime.config,
      log: logger,
      onPendingAge: (seconds) => drainerRuntime?.reportPendingAge(seconds),
    });
  }
  const experiments =
    overrides.experiments ??
    (await ExperimentService.open(
      await ExperimentStore.open({
        databaseUrl,
        ...(databaseUrl ? {} : { sqliteFile: stateFile(env.LEADRANK_EXPERIMENTS_DB, 'experiments.db') }),
      }),
      { logger, now, onGuardrails: (report) => monitor.recordExperiment(report) },
    ));

  // Opportunity scoring (POST /v1/score with object Opportunity): the deal configuration, the deal model (the
  // registry's opportunity champion, hot-swapped; LEADRANK_OPPORTUNITY_MODEL_DIR overrides it; deal rules
  // without either) and the store the opportunity sync fills.
  const opportunities = {
    scorer: new OpportunityScorer({
      region: region.data,
      regions,
      bands: config.bands,
      topReasons: config.reasons.top,
      deal: await loadDealConfig(configDir),
      models: overrides.opportunityModels ?? (await opportunityModelSourceFromEnv(env, region.data, logger)),
    }),
    store:
      overrides.opportunityStore ??
      createOpportunityStoreFromEnv({ ...env, LEADRANK_REDIS_PREFIX: redisPrefix }, region.data),
    audit,
  };

  const scoringOptions = {
    region: region.data,
    store,
    ruleSet,
    actions,
    config,
    regions,
    audit,
    catalogue,
    metrics,
    now,
  };
  const championScoring = createScoringService({ ...scoringOptions, models });
  const scoring = countingScores(championScoring, monitor, region.data);
  const arms = armScorings(
    scoringOptions,
    championScoring,
    () => modelSourceFromEnv(env, logger, 'challenger'),
    monitor,
    region.data,
  );
  const shownScoring = withShadowScoring(scoring, experiments, arms.scoringFor, logger);
  const routeExperiments: RouteExperiments = {
    servingFor: (repId, teamId) => experiments.servingFor(repId, teamId),
    recordExposure: (e) => experiments.recordExposure(e),
    scoringFor: arms.scoringFor,
    logger,
  };
  const s = monitoringConfig.schedules;
  const stopTimers = [
    experiments.scheduleGuardrailChecks(s.guardrailCheckMinutes * 60_000),
    experiments.scheduleRefresh(s.experimentsRefreshSeconds * 1000),
    every(s.scoreFlushSeconds * 1000, () => monitor.flushScores(), logger),
    every(
      s.freshnessCheckSeconds * 1000,
      async () => {
        monitor.checkEventStreamNow(now());
        await monitor.checkExtractFreshness(now());
        // The calibration job runs in its own process: its latest result reaches /metrics from the history.
        await monitor.publishLatestCalibration();
      },
      logger,
    ),
  ];
  const mounts = [];
  if (dashboardAccess.kind === 'disabled') {
    logger.warn({ why: dashboardAccess.why }, 'RevOps dashboard not served');
  } else {
    const dashboard = createDashboardRouter({
      history: monitoringHistory,
      experiments,
      now,
      beforeRead: () => monitor.flushScores(),
    });
    mounts.push({ path: '/dashboard', handlers: [dashboardAccess.guard, dashboard] });
  }
  const status = models.status();
  logger.info(
    {
      region: region.data,
      model: status.version,
      modelError: status.lastError,
      rulesOnly,
      redis: Boolean(redisUrl),
      stateDir,
      dashboard: dashboardAccess.kind,
      experiment: (await experiments.refreshActive())?.id ?? null,
      sharedState: databaseUrl ? 'postgres' : 'sqlite',
    },
    'sidecar configured',
  );

  const appDeps: AppDeps = {
    region: region.data,
    config,
    store,
    scoring: shownScoring,
    published,
    writeback,
    metrics,
    worklists: worklistIndex ? { index: worklistIndex, config: ranking } : null,
    now,
    currentVersion: () => {
      try {
        return models.current()?.version ?? ruleSet.version;
      } catch {
        return ruleSet.version; // a broken model source scores by rules (see the scoring service)
      }
    },
    auth,
    access,
    models,
    rulesOnly,
    ruleSetVersion: ruleSet.version,
    logger,
    experiments: routeExperiments,
    monitoring: {
      eventsArrived: (at) => monitor.eventsArrived(at),
      extractDelivered: async (summary, at) => {
        // The extract is already stored: a failed history write is logged, not the caller's error.
        await monitor.recordExtractSummary(summary, at).catch((error: unknown) => {
          logger.error({ err: (error as Error).message }, 'could not record the extract delivery');
        });
      },
      extractRowChecker: (kind) => new ExtractRowChecker(kind),
    },
    mounts,
    opportunities,
  };
  // Erasure (privacy/): its other stores are opened on the first request, so a server that never erases opens none.
  const receipts = receiptStoreFromEnv(env);
  let erasure: Promise<ErasureSetup> | null = null;
  const erasureSetup = () =>
    (erasure ??= erasureFromEnv(env, region.data, { store, worklistIndex, published }).catch(
      (error: unknown) => {
        erasure = null;
        throw error;
      },
    ));
  appDeps.privacy = {
    erase: async (request) =>
      eraseLead(request, { region: region.data, targets: (await erasureSetup()).targets, receipts }),
    receiptIdOf: async (request) => receiptIdOf(await receipts.subjectHash(region.data, request.id)),
    receipt: (id) => receipts.get(id),
    ...(env.LEADRANK_ERASURE_WAIT_MS ? { waitMs: Number(env.LEADRANK_ERASURE_WAIT_MS) } : {}),
  };
  const app = createApp(appDeps);

  return {
    opportunities,
    app,
    appDeps,
    region: region.data,
    config,
    store,
    models,
    writeback,
    worklistIndex,
    metrics,
    experiments,
    monitor,
    monitoringHistory,
    close: async () => {
      for (const stop of stopTimers) stop();
      try {
        await monitor.flushScores();
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not flush the score counts');
      }
      try {
        await experiments.close(); // writes the queued exposures
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not write the queued exposures');
      }
      if (!overrides.experiments) await experiments.store.close();
      if (!overrides.monitoringHistory) await monitoringHistory.close();
      await drainer?.close();
      await drainerRuntime?.close();
      if (erasure) await (await erasure.catch(() => null))?.close();
      await Promise.allSettled([
        arms.close(),
        audit.close?.(),
        access.close(),
        writeback.close(),
        published.close(),
        worklistIndex?.close(),
        store.close(),
        models.close(),
        opportunities.scorer.close(),
        opportunities.store.close(),
      ]);
    },
  };
}

/** Runs `work` every `ms` without keeping the process alive; errors are logged, the timer goes on. */
function every(ms: number, work: () => unknown, logger: Logger): () => void {
  const timer = setInterval(() => {
    Promise.resolve()
      .then(work)
      .catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, 'scheduled monitoring task failed');
      });
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}

/** Listens on PORT (default 8080); resolves once listening. */
export async function startServer(
  env: Record<string, string | undefined>,
  overrides: SidecarOverrides = {},
): Promise<{ sidecar: Sidecar; server: Server; port: number; stop(): Promise<void> }> {
  const tracing = startTracing(env, overrides.spanExporter ? { exporter: overrides.spanExporter } : {});
  const sidecar = await createSidecar(env, overrides).catch(async (error: unknown) => {
    await tracing?.shutdown();
    throw error;
  });
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
      // Drain: no new connections; requests in flight are answered. A keep-alive socket becomes idle only once
      // its answer is sent, so idle sockets are closed until the last one has gone (else close() waits for the
      // client to hang up).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      try {
        await closed;
      } finally {
        clearInterval(sweep);
      }
      await sidecar.close();
      await tracing?.shutdown();
    },
  };
}
