// The write-back consumer of a region from the environment: config/writeback.json, the batch's Salesforce
// client (its retries and its apiAllocation guard from config/batch.json), the shared "last written" guard and
// the dead-letter list. Used by the worker's write-back role, `leadrank serve` without Redis, and the CLI.
import { join } from 'node:path';
import type jsforce from 'jsforce';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  loadBatchConfig,
  batchSalesforceClient,
  verifiedClient,
  withOverrides,
  type BatchConfigOverrides,
} from '../batch/index.js';
import { loadSalesforceNames, overridesFromEnv, type SalesforceNames } from '../config/index.js';
import { connectToOrg, orgAuthFromEnv, type SalesforceClient } from '../salesforce/index.js';
import type { Region } from '../store/index.js';
import {
  createInMemoryDeadLetters,
  createInMemoryLastWritten,
  createRedisDeadLetters,
  createRedisLastWritten,
  loadWritebackConfig,
  writebackWithOverrides,
  WritebackConsumer,
  WritebackMetrics,
  type DeadLetterStore,
  type LastWrittenScores,
  type WritebackConfig,
} from '../writeback/index.js';

export interface WritebackRuntime {
  region: Region;
  config: WritebackConfig;
  consumer: WritebackConsumer;
  deadLetters: DeadLetterStore;
  lastWritten: LastWrittenScores;
  metrics: WritebackMetrics | null;
  redisUrl: string | null;
  /** Age of the oldest pending change: the lag gauge here (lagGauge) and/or monitoring's recordWritebackLag. */
  reportPendingAge(seconds: number): void;
  /** BullMQ prefix of the write-back queue (LEADRANK_BULLMQ_PREFIX, as the API's producer uses). */
  bullPrefix: string | undefined;
  close(): Promise<void>;
}

/**
 * The Redis key namespace the write-back guard shares with the batch (the batch's LEADRANK_BATCH_PREFIX, else
 * LEADRANK_REDIS_PREFIX, else "lr"): both must read the same "last written" hash.
 */
export const sharedKeyPrefix = (env: NodeJS.ProcessEnv) =>
  env.LEADRANK_BATCH_PREFIX?.trim() || env.LEADRANK_REDIS_PREFIX?.trim() || 'lr';

export function writebackRuntimeFromEnv(o: {
  env: NodeJS.ProcessEnv;
  region: Region;
  configDir: string;
  log: Logger;
  registry?: Registry;
  /** Register leadrank_writeback_lag_seconds in `registry` (no Monitor in this process). */
  lagGauge?: boolean;
  /** Monitoring's recordWritebackLag, where a Monitor runs (serve). */
  onLag?: (seconds: number) => void;
  connect?: () => Promise<jsforce.Connection>;
  /** The package namespace's names layer (default: configDir's salesforce.json, checked against sfdx-project.json). */
  salesforceNames?: SalesforceNames;
}): WritebackRuntime {
  const { env, region, log } = o;
  // LEADRANK_WRITEBACK_OVERRIDES: JSON merged over config/writeback.json section by section (ops and tests).
  const config = writebackWithOverrides(
    loadWritebackConfig(join(o.configDir, 'writeback.json')),
    overridesFromEnv(env, 'LEADRANK_WRITEBACK_OVERRIDES'),
  );
  const batchConfig = withOverrides(
    loadBatchConfig(join(o.configDir, 'batch.json')),
    overridesFromEnv(env, 'LEADRANK_BATCH_OVERRIDES') as BatchConfigOverrides,
  );
  const redisUrl = env.REDIS_URL?.trim() || null;
  const prefix = sharedKeyPrefix(env);
  const lastWritten = redisUrl
    ? createRedisLastWritten(redisUrl, region, prefix)
    : createInMemoryLastWritten();
  const deadLetters = redisUrl
    ? createRedisDeadLetters(redisUrl, region, prefix)
    : createInMemoryDeadLetters();
  const metrics = o.registry ? new WritebackMetrics(o.registry, { lagGauge: o.lagGauge ?? false }) : null;
  const names = o.salesforceNames ?? loadSalesforceNames(o.configDir);
  let client: Promise<SalesforceClient> | null = null;
  const connect = o.connect ?? (() => connectToOrg(orgAuthFromEnv(env)));
  const consumer = new WritebackConsumer({
    region,
    config,
    client: () => {
      client ??= connect()
        .then((conn) => batchSalesforceClient(conn, batchConfig, log, undefined, names))
        .then(verifiedClient);
      client.catch(() => (client = null));
      return client;
    },
    lastWritten,
    deadLetters,
    log,
    ...(metrics ? { metrics } : {}),
  });
  return {
    region,
    config,
    consumer,
    deadLetters,
    lastWritten,
    metrics,
    redisUrl,
    reportPendingAge: (seconds) => {
      metrics?.lagGauge?.set({ region }, seconds);
      o.onLag?.(seconds);
    },
    bullPrefix: env.LEADRANK_BULLMQ_PREFIX?.trim() || undefined,
    close: async () => {
      await Promise.allSettled([lastWritten.close(), deadLetters.close()]);
    },
  };
}
