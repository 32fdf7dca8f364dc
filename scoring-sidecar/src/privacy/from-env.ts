// The erasure targets of a deployment, from the same environment the server, the worker and the batch read
// (so an erasure reaches the stores they write): REDIS_URL and LEADRANK_REDIS_PREFIX (online store, worklist index,
// published scores, last written), LEADRANK_BATCH_PREFIX (batch state and explanation cache), DATABASE_URL or
// LEADRANK_EXPERIMENTS_DB (experiments), LEADRANK_ROOT (exports under <root>/<batch.json output.exportsDir>), LEADRANK_TRAINING_DIR
// (default <root>/data/training-sets), LEADRANK_BULLMQ_PREFIX (the write-back queue), LEADRANK_AUDIT_DIR / LEADRANK_AUDIT_KEY_DIR (audit keys), SF_* (the org,
// for Score_History__c; without it that step fails and the receipt says so), LEADRANK_PRIVACY_DIR (receipts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { subjectKeyStoreFromEnv } from '../audit/index.js';
import { loadBatchConfig, RedisExplanationCache } from '../batch/index.js';
import { REPO_ROOT, regionStateDir } from '../config/index.js';
import { ExperimentStore } from '../experiments/index.js';
import { redisWatermarkStore } from '../ingest/index.js';
import { createRedisWorklistIndex, type WorklistIndex } from '../ranking/index.js';
import { connectToOrg, orgAuthFromEnv, SalesforceClient } from '../salesforce/index.js';
import { databaseUrlOf } from '../shared-state/index.js';
import { createStoreFromEnv, type OnlineFeatureStore, type Region } from '../store/index.js';
import {
  createPublishedScoresFromEnv,
  createRedisLastWritten,
  type PublishedScores,
} from '../writeback/index.js';
import { openReceiptStore, type ReceiptStore } from './receipts.js';
import {
  auditTarget,
  batchStateTarget,
  experimentsTarget,
  explanationCacheTarget,
  featureStoreTarget,
  filesTarget,
  lastWrittenTarget,
  publishedScoresTarget,
  scoreHistoryTarget,
  worklistTarget,
  writebackLeftoversTarget,
  syncWatermarkTarget,
  type ErasureTarget,
} from './targets.js';

export interface ErasureSetup {
  targets: ErasureTarget[];
  receipts: ReceiptStore;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** The receipt store: LEADRANK_PRIVACY_DIR, default <root>/var/privacy. */
export function receiptStoreFromEnv(env: Env): ReceiptStore {
  const root = env.LEADRANK_ROOT ?? REPO_ROOT;
  return openReceiptStore(env.LEADRANK_PRIVACY_DIR ?? join(root, 'var', 'privacy'));
}

export async function erasureFromEnv(
  env: Env,
  region: Region,
  reuse: {
    store?: OnlineFeatureStore;
    worklistIndex?: WorklistIndex | null;
    published?: PublishedScores;
  } = {},
): Promise<ErasureSetup> {
  const root = env.LEADRANK_ROOT ?? REPO_ROOT;
  const redisUrl = env.REDIS_URL?.trim();
  const prefix = env.LEADRANK_REDIS_PREFIX?.trim() || 'lr';
  const batchPrefix = env.LEADRANK_BATCH_PREFIX?.trim() || 'lr';
  const closers: (() => Promise<unknown>)[] = [];
  const targets: ErasureTarget[] = [];
  const where = redisUrl ? `redis ${prefix}:{${region}}` : 'this process (embedded)';
  const batchConfig = loadBatchConfig(join(env.LEADRANK_CONFIG_DIR ?? join(root, 'config'), 'batch.json'));

  const store = reuse.store ?? createStoreFromEnv(env, region);
  if (!reuse.store) closers.push(() => store.close());
  targets.push(featureStoreTarget(store, where));
  if (reuse.worklistIndex) targets.push(worklistTarget(reuse.worklistIndex, where));
  else if (redisUrl && reuse.worklistIndex === undefined) {
    const index = createRedisWorklistIndex(redisUrl, region, { keyPrefix: prefix, closedStatuses: [] });
    closers.push(() => index.close());
    targets.push(worklistTarget(index, where));
  }
  const published = reuse.published ?? createPublishedScoresFromEnv(env, region);
  if (!reuse.published) closers.push(() => published.close());
  targets.push(publishedScoresTarget(published, where));
  if (redisUrl) {
    const written = createRedisLastWritten(redisUrl, region, prefix);
    closers.push(() => written.close());
    targets.push(lastWrittenTarget(written, where));
    const bullPrefix = env.LEADRANK_BULLMQ_PREFIX?.trim() || undefined;
    const watermarks = redisWatermarkStore(redisUrl, region, { keyPrefix: prefix });
    closers.push(() => watermarks.close());
    targets.push(syncWatermarkTarget(watermarks, where));
    // The dead letters live under the batch's shared prefix (commands/writeback-runtime.ts sharedKeyPrefix).
    const deadPrefix = env.LEADRANK_BATCH_PREFIX?.trim() || env.LEADRANK_REDIS_PREFIX?.trim() || 'lr';
    targets.push(
      writebackLeftoversTarget(redisUrl, region, {
        keyPrefix: deadPrefix,
        ...(bullPrefix ? { bullPrefix } : {}),
      }),
    );
    const buckets = batchConfig.explanationCache.buckets;
    const xcache = new RedisExplanationCache(redisUrl, { keyPrefix: batchPrefix, region, buckets });
    closers.push(() => xcache.close());
    targets.push(explanationCacheTarget(xcache, `redis ${batchPrefix}:{${region}}`));
    targets.push(batchStateTarget(redisUrl, batchPrefix, region));
  }
  const databaseUrl = databaseUrlOf(env);
  let sqliteFile = env.LEADRANK_EXPERIMENTS_DB;
  if (!databaseUrl && !sqliteFile) {
    const stateDir = regionStateDir({ ...env, REGION: region }, root);
    mkdirSync(stateDir, { recursive: true });
    sqliteFile = join(stateDir, 'experiments.db');
  }
  const experiments = await ExperimentStore.open(databaseUrl ? { databaseUrl } : { sqliteFile: sqliteFile! });
  closers.push(() => experiments.close());
  targets.push(experimentsTarget(experiments, databaseUrl ? 'postgres (DATABASE_URL)' : sqliteFile!));
  targets.push(filesTarget('batch exports', join(root, batchConfig.output.exportsDir)));
  targets.push(
    filesTarget('training sets', env.LEADRANK_TRAINING_DIR ?? join(root, 'data', 'training-sets')),
  );
  targets.push(lazyScoreHistory(env));
  const auditDir = env.LEADRANK_AUDIT_DIR ?? join(root, 'var', 'audit');
  const keys = subjectKeyStoreFromEnv(auditDir, env);
  if (keys.close) closers.push(() => keys.close!());
  targets.push(auditTarget(keys));
  return {
    targets,
    receipts: receiptStoreFromEnv(env),
    async close() {
      for (const close of closers) await close().catch(() => {});
    },
  };
}

/** Connects to the org only when an erasure runs (the server starts without an org connection). */
function lazyScoreHistory(env: Env): ErasureTarget {
  let client: Promise<SalesforceClient> | null = null;
  return {
    store: 'Score_History__c (Bulk API 2.0 hardDelete)',
    where: 'the org (SF_LOGIN_URL)',
    async erase(leadId, ctx) {
      client ??= (async () =>
        new SalesforceClient(await connectToOrg(orgAuthFromEnv(env as NodeJS.ProcessEnv)), {
          log: pino({ level: env.LOG_LEVEL ?? 'warn' }),
        }))();
      client.catch(() => (client = null));
      return scoreHistoryTarget(await client, 'the org').erase(leadId, ctx);
    },
  };
}
