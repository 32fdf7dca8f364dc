// Builds a process's BatchContext: config, cycle state (Redis when REDIS_URL is set, else in memory), the org
// connection, the scorer for a cycle's model, and where reports and Parquet exports are written.
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type jsforce from 'jsforce';
import { pino, type Logger } from 'pino';
import {
  loadRegionsConfig,
  loadSalesforceNames,
  loadScoringConfig,
  regionStateDir,
  type SalesforceNames,
} from '../config/index.js';
import { loadReasonCatalogue } from '../explain/index.js';
import { checkModelResidency, loadResidencyConfig, ModelRegistry } from '../model/index.js';
import { loadActionCatalogue, loadRuleSet } from '../model/index.js';
import {
  connectToOrg,
  orgAuthFromEnv,
  SalesforceClient,
  type SalesforceClientOptions,
} from '../salesforce/index.js';
import { loadServingModel } from '../scoring/index.js';
import { createRedisStore, type OnlineFeatureStore, type Region } from '../store/index.js';
import {
  createInMemoryLastWritten,
  createRedisLastWritten,
  type LastWrittenScores,
} from '../writeback/index.js';
import { BatchScorer } from './batch-scorer.js';
import { liveShadowExperiment } from './shadow.js';
import { loadBatchConfig, withOverrides, type BatchConfig, type BatchConfigOverrides } from './config.js';
import type { BatchContext, CycleMeta, CycleModel, CycleShadow, ExportRow } from './cycle.js';
import { createInProcessCycleLock, createRedisCycleLock, type CycleLock } from './cycle-lock.js';
import { loadExplanationKeyer } from './explanation-key.js';
import { BatchMetrics } from './metrics.js';
import { summaryLine, type CycleReport } from './report.js';
import {
  MemoryCycleStateStore,
  MemoryExplanationCache,
  RedisCycleStateStore,
  RedisExplanationCache,
  type CycleStateStore,
  type ExplanationCache,
} from './state-store.js';

/** The Salesforce client under the batch's settings: config/batch.json `http` retries, `bulkPoll`, `apiAllocation`. */
export function batchSalesforceClient(
  conn: jsforce.Connection,
  config: Pick<BatchConfig, 'http' | 'bulkPoll' | 'apiAllocation'>,
  log: Logger,
  onPause?: SalesforceClientOptions['onPause'],
  names?: SalesforceNames,
): SalesforceClient {
  return new SalesforceClient(conn, {
    retry: config.http,
    poll: config.bulkPoll,
    apiAllocation: config.apiAllocation,
    log,
    ...(onPause ? { onPause } : {}),
    ...(names ? { names } : {}),
  });
}

/** A client whose org was checked to hold the package under the configured namespace (once per client). */
export async function verifiedClient(client: SalesforceClient): Promise<SalesforceClient> {
  await client.verifyNamespace();
  return client;
}

export interface BatchRuntimeOptions {
  region: Region;
  /** Repository root: config/, var/ and exports/ are resolved from it. */
  rootDir: string;
  configDir?: string;
  overrides?: BatchConfigOverrides;
  /** Shared state and queue; absent = embedded (in-memory state, in-process runner only). */
  redisUrl?: string | null;
  /** Key and queue namespace (tests use a unique one). */
  keyPrefix?: string;
  /** An authorized connection (tests); else one from the SF_* environment. */
  connect?: () => Promise<jsforce.Connection>;
  /** The online feature store with events and extracts (default: the Redis store when redisUrl is set). */
  featureStore?: OnlineFeatureStore | null;
  logger?: Logger;
  metrics?: BatchMetrics;
  /**
   * The region's experiments.db (the sidecar's): a live shadow experiment with the challenger as treatment
   * makes every cycle shadow-score with it. Default <rootDir>/var/state/<region>/experiments.db; null: never.
   */
  experimentsDb?: string | null;
  /** The challenger model directory (default LEADRANK_CHALLENGER_MODEL_DIR, else the registry's alias). */
  challengerModelDir?: string;
  /** The package namespace's names layer (default: configDir's salesforce.json, checked against sfdx-project.json). */
  salesforceNames?: SalesforceNames;
  /**
   * The audit root the cycles' scores are appended to (`<auditDir>/batch/<region>`): default LEADRANK_AUDIT_DIR,
   * else <rootDir>/var/audit, as `leadrank serve`'s; null: the cycles are not audited.
   */
  auditDir?: string | null;
}

export interface BatchRuntime extends BatchContext {
  rootDir: string;
  keyPrefix: string;
  redisUrl: string | null;
  explanations: ExplanationCache;
  /** Events and extracts of the leads (null: CRM fields only). */
  featureStore: OnlineFeatureStore | null;
  metrics: BatchMetrics;
  /** One cycle per region at a time (cycle-lock.ts). */
  cycleLock: CycleLock;
  /** One opportunity cycle per region at a time (its own lease: it may run beside a lead cycle). */
  opportunityCycleLock: CycleLock;
  /** Writes a cycle's report to `<rootDir>/<output.reportsDir>/<region>/<cycleId>.json`; returns the file. */
  saveReport(cycleId: string, report: object): Promise<string>;
  ruleSetVersion: string;
  /** The champion model now (LEADRANK_MODEL_DIR, else the registry's champion alias); null = rules. */
  resolveModel(): Promise<CycleModel | null>;
  /** The live experiment's challenger when it runs in shadow now; null otherwise (or if it cannot load). */
  resolveShadow(): Promise<CycleShadow | null>;
  close(): Promise<void>;
}

export async function createBatchRuntime(o: BatchRuntimeOptions): Promise<BatchRuntime> {
  const configDir = o.configDir ?? join(o.rootDir, 'config');
  const config: BatchConfig = withOverrides(loadBatchConfig(join(configDir, 'batch.json')), o.overrides);
  const scoring = loadScoringConfig(join(configDir, 'scoring.json'));
  const regions = loadRegionsConfig(join(configDir, 'regions.json'));
  const ruleSet = await loadRuleSet(join(configDir, 'rules', 'default.json'));
  const actions = await loadActionCatalogue(join(configDir, 'actions', 'catalogue.json'));
  const catalogue = loadReasonCatalogue(join(configDir, 'reasons', 'lead-conversion.json'));
  const names = o.salesforceNames ?? loadSalesforceNames(configDir);
  const log = (o.logger ?? pino({ name: 'leadrank-batch', level: process.env.LOG_LEVEL ?? 'info' })).child({
    region: o.region,
  });
  const keyPrefix = o.keyPrefix ?? 'lr';
  const redisUrl = o.redisUrl ?? null;
  const retentionSeconds = Math.round(config.retention.cycleStateDays * 86_400);
  const state: CycleStateStore = redisUrl
    ? new RedisCycleStateStore(redisUrl, { keyPrefix, region: o.region, retentionSeconds })
    : new MemoryCycleStateStore();
  const explanations: ExplanationCache = redisUrl
    ? new RedisExplanationCache(redisUrl, {
        keyPrefix,
        region: o.region,
        buckets: config.explanationCache.buckets,
      })
    : new MemoryExplanationCache();
  const featureStore =
    o.featureStore !== undefined
      ? o.featureStore
      : redisUrl
        ? createRedisStore(redisUrl, o.region, { keyPrefix, logger: log })
        : null;
  const metrics = o.metrics ?? new BatchMetrics();
  // The same per-lead guard as the event write-back (same key): an older score never overwrites a newer one.
  const cycleLock: CycleLock = redisUrl
    ? createRedisCycleLock(redisUrl, o.region, keyPrefix, config.queue.lockDurationMs)
    : createInProcessCycleLock(o.region);
  const opportunityCycleLock: CycleLock = redisUrl
    ? createRedisCycleLock(redisUrl, o.region, keyPrefix, config.queue.lockDurationMs, 'opportunity-batch')
    : createInProcessCycleLock(o.region, 'opportunity-batch');
  const lastWritten: LastWrittenScores = redisUrl
    ? createRedisLastWritten(redisUrl, o.region, keyPrefix)
    : createInMemoryLastWritten();

  let client: Promise<SalesforceClient> | null = null;
  const salesforce = () => {
    client ??= (o.connect ?? (() => connectToOrg(orgAuthFromEnv())))()
      .then((conn) =>
        batchSalesforceClient(
          conn,
          config,
          log,
          async (paused, usage) => {
            metrics.allocationPaused(paused);
            const key = 'paused';
            if (paused)
              await state.set([
                [key, JSON.stringify({ since: new Date().toISOString(), ...usage, pid: process.pid })],
              ]);
            else await state.del([key]);
          },
          names,
        ),
      )
      .then(verifiedClient);
    client.catch(() => (client = null));
    return client;
  };

  const scorers = new Map<string, Promise<BatchScorer>>();
  const registryCache = join(o.rootDir, 'var', 'batch', 'models');
  const loadScorer = async (model: CycleModel | null): Promise<BatchScorer> => {
    let loaded: BatchScorerModel = null;
    if (model) {
      // Another machine may hold the recorded directory only: fetch the same version from the registry then.
      const dir = existsSync(model.dir)
        ? model.dir
        : await ModelRegistry.open(undefined, o.region).fetchVersion(model.version, registryCache);
      const serving = await loadServingModel(dir);
      if (serving.version !== model.version)
        throw new Error(`cycle model ${model.version} loaded as ${serving.version}`);
      loaded = { serving, keyer: loadExplanationKeyer(join(dir, 'model.json'), serving.version) };
    }
    return new BatchScorer({
      region: o.region,
      model: loaded,
      ruleSet,
      actions,
      regions,
      bands: scoring.bands,
      topReasons: scoring.reasons.top,
      catalogue,
      explanations,
      store: featureStore,
      batchRows: config.scoring.batchRows,
      explainYieldRows: config.scoring.explainYieldRows,
    });
  };
  const scorer = (model: CycleModel | null) => {
    const key = model?.version ?? 'rules';
    let s = scorers.get(key);
    if (!s) {
      s = loadScorer(model);
      s.catch(() => scorers.delete(key));
      scorers.set(key, s);
    }
    return s;
  };

  // Residency: a region's cycle scores only with its region's model (or a pooled one, when allowed).
  const residency = loadResidencyConfig(join(configDir, 'residency.json'));
  const resolveModel = async (): Promise<CycleModel | null> => {
    const explicit = process.env.LEADRANK_MODEL_DIR;
    try {
      if (explicit) {
        if (!existsSync(explicit)) throw new Error(`LEADRANK_MODEL_DIR ${explicit} does not exist`);
        await checkModelResidency(explicit, o.region, residency);
        return { version: await loadServingModelVersion(explicit), dir: explicit };
      }
      const registry = ModelRegistry.open(undefined, o.region);
      const champion = await registry.alias('champion');
      if (!champion) throw new Error('the registry has no champion');
      const dir = await registry.fetchVersion(champion.version, registryCache);
      await checkModelResidency(dir, o.region, residency);
      return { version: champion.version, dir };
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'no model at cycle start: the cycle scores with rules');
      return null;
    }
  };

  const experimentsDb =
    o.experimentsDb === undefined
      ? join(regionStateDir({ REGION: o.region }, o.rootDir), 'experiments.db')
      : o.experimentsDb;
  const resolveShadow = async (): Promise<CycleShadow | null> => {
    const live = experimentsDb ? await liveShadowExperiment(experimentsDb) : null;
    if (!live) return null;
    try {
      const explicit = o.challengerModelDir ?? process.env.LEADRANK_CHALLENGER_MODEL_DIR;
      if (explicit) {
        if (!existsSync(explicit)) throw new Error(`challenger model dir ${explicit} does not exist`);
        return {
          experimentId: live,
          model: { version: await loadServingModelVersion(explicit), dir: explicit },
        };
      }
      const registry = ModelRegistry.open(undefined, o.region);
      const challenger = await registry.alias('challenger');
      if (!challenger) throw new Error('the registry has no challenger');
      return {
        experimentId: live,
        model: {
          version: challenger.version,
          dir: await registry.fetchVersion(challenger.version, registryCache),
        },
      };
    } catch (error) {
      log.warn(
        { experimentId: live, err: (error as Error).message },
        'shadow experiment live but no challenger model: the cycle runs without shadow scores',
      );
      return null;
    }
  };

  const saveReport = async (cycleId: string, report: object): Promise<string> => {
    const reportsDir = join(o.rootDir, config.output.reportsDir, o.region);
    await mkdir(reportsDir, { recursive: true });
    const file = join(reportsDir, `${cycleId}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    return file;
  };

  const publish = async (
    report: CycleReport,
    meta: CycleMeta,
    rows: AsyncIterable<ExportRow[]>,
  ): Promise<string | null> => {
    let exportFile: string | null = null;
    if (config.output.exportParquet) {
      const date = meta.asOf.slice(0, 10);
      const dir = join(o.rootDir, config.output.exportsDir, o.region, date);
      exportFile = await writeScoresParquet(join(dir, 'scores.parquet'), meta, rows);
    }
    await saveReport(meta.cycleId, { ...report, exportFile });
    metrics.cycleFinished(report);
    log.info({ cycleId: meta.cycleId }, summaryLine(report));
    return exportFile;
  };

  const auditDir =
    o.auditDir === undefined
      ? (process.env.LEADRANK_AUDIT_DIR ?? join(o.rootDir, 'var', 'audit'))
      : o.auditDir;
  return {
    region: o.region,
    config,
    state,
    log,
    ...(auditDir ? { auditDir } : {}),
    rootDir: o.rootDir,
    keyPrefix,
    redisUrl,
    explanations,
    featureStore,
    metrics,
    lastWritten,
    cycleLock,
    opportunityCycleLock,
    saveReport,
    ruleSetVersion: ruleSet.version,
    salesforce,
    scorer,
    publish,
    resolveModel,
    resolveShadow,
    close: async () => {
      for (const s of scorers.values()) await s.then((x) => x.close()).catch(() => {});
      await Promise.allSettled([
        state.close(),
        explanations.close(),
        lastWritten.close(),
        cycleLock.close(),
        opportunityCycleLock.close(),
        o.featureStore === undefined ? featureStore?.close() : undefined,
      ]);
    },
  };
}

type BatchScorerModel = ConstructorParameters<typeof BatchScorer>[0]['model'];

async function loadServingModelVersion(dir: string): Promise<string> {
  const model = await loadServingModel(dir);
  const version = model.version;
  await model.onnx.close();
  return version;
}

/**
 * The cycle's BI export: one row group per partition batch, written under a temporary name and renamed when
 * complete. Columns: lead_id, score, band, source, model_version, written, cycle_id, scored_at, then
 * (nullable) probability, shadow_score, shadow_probability, shadow_model_version.
 */
export async function writeScoresParquet(
  file: string,
  meta: Pick<CycleMeta, 'cycleId' | 'asOf' | 'model' | 'ruleSetVersion' | 'shadow'>,
  batches: AsyncIterable<ExportRow[]>,
): Promise<string> {
  await mkdir(join(file, '..'), { recursive: true });
  const partial = `${file}.partial`;
  const str = (name: string) => ({
    name,
    type: 'BYTE_ARRAY' as const,
    converted_type: 'UTF8' as const,
    repetition_type: 'REQUIRED' as const,
  });
  const optional = (name: string, type: 'INT32' | 'DOUBLE') => ({
    name,
    type,
    repetition_type: 'OPTIONAL' as const,
  });
  // New columns are appended (optional), so readers of the first eight keep working.
  const schema = [
    { name: 'root', num_children: 12 },
    str('lead_id'),
    { name: 'score', type: 'INT32' as const, repetition_type: 'REQUIRED' as const },
    str('band'),
    str('source'),
    str('model_version'),
    { name: 'written', type: 'BOOLEAN' as const, repetition_type: 'REQUIRED' as const },
    str('cycle_id'),
    {
      name: 'scored_at',
      type: 'INT64' as const,
      converted_type: 'TIMESTAMP_MILLIS' as const,
      logical_type: { type: 'TIMESTAMP' as const, isAdjustedToUTC: true, unit: 'MILLIS' as const },
      repetition_type: 'REQUIRED' as const,
    },
    optional('probability', 'DOUBLE'),
    optional('shadow_score', 'INT32'),
    optional('shadow_probability', 'DOUBLE'),
    { ...str('shadow_model_version'), repetition_type: 'OPTIONAL' as const },
  ];
  const writer = new ParquetWriter({ writer: fileWriter(partial), schema });
  const version = meta.model?.version ?? meta.ruleSetVersion;
  const scoredAt = new Date(meta.asOf);
  const shadowVersion = meta.shadow?.model.version ?? null;
  for await (const b of batches) {
    if (b.length === 0) continue;
    await writer.write({
      columnData: [
        { name: 'lead_id', data: b.map((r) => r[0]) },
        { name: 'score', data: b.map((r) => r[1]) },
        { name: 'band', data: b.map((r) => r[2]) },
        { name: 'source', data: b.map((r) => r[3]) },
        { name: 'model_version', data: b.map(() => version) },
        { name: 'written', data: b.map((r) => r[4] === 1) },
        { name: 'cycle_id', data: b.map(() => meta.cycleId) },
        { name: 'scored_at', data: b.map(() => scoredAt) },
        { name: 'probability', data: b.map((r) => r[5] ?? null) },
        { name: 'shadow_score', data: b.map((r) => r[6] ?? null) },
        { name: 'shadow_probability', data: b.map((r) => r[7] ?? null) },
        // A partition whose shadow scoring failed has no shadow score: no version either.
        {
          name: 'shadow_model_version',
          data: b.map((r) => ((r[6] ?? null) === null ? null : shadowVersion)),
        },
      ],
      rowGroupSize: b.length,
    });
  }
  await writer.finish();
  await rename(partial, file);
  return file;
}
