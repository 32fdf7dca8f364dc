// config/batch.json: the rescoring cycle's knobs, zod-validated at start so a bad deploy fails before a cycle runs.
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigFile, withSectionOverrides } from '../config/index.js';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().min(0);

export const batchConfigSchema = z.strictObject({
  version: z.string().min(1),
  /** The repeatable cycle job fires this often (default every 4 hours). */
  schedule: z.strictObject({ everyMs: positiveInt }),
  extract: z.strictObject({
    /** Leads in these statuses (and converted ones) are not active: never extracted. */
    closedStatuses: z.array(z.string().min(1)),
    /** Leads per partition (one queue job). */
    partitionSize: positiveInt.max(100_000),
  }),
  scoring: z.strictObject({
    /** Rows per onnxruntime run. */
    batchRows: positiveInt.max(50_000),
    /** TreeSHAP yields to the event loop after this many rows, so queue locks keep being renewed. */
    explainYieldRows: positiveInt,
  }),
  /** What makes a rescore worth writing to Salesforce. */
  materialChange: z.strictObject({
    points: z.number().int().min(1).max(100),
    onBandChange: z.boolean(),
    onTopReasonChange: z.boolean(),
    onNextBestActionChange: z.boolean(),
    onSourceChange: z.boolean(),
    /** Rewritten when the last write is older than this, so Score_Is_Stale__c (1 day) never trips. */
    maxAgeHours: z.number().positive(),
  }),
  write: z.strictObject({
    /** Material changes per write task: one Lead update job and one Score_History__c upsert job each. */
    chunkRows: positiveInt,
    /** CSV bytes per Bulk ingest job (Salesforce: 150 MB base64-encoded, about 100 MB of CSV). */
    maxJobBytes: positiveInt.max(150 * 1024 * 1024),
  }),
  /** UNABLE_TO_LOCK_ROW rows go to a later job after an exponential, jittered delay, at most maxRounds times. */
  lockRetry: z.strictObject({
    maxRounds: nonNegativeInt,
    baseDelayMs: nonNegativeInt,
    maxDelayMs: nonNegativeInt,
  }),
  /** 5xx, timeouts and connection errors of single API calls. */
  http: z.strictObject({
    maxAttempts: positiveInt,
    baseDelayMs: nonNegativeInt,
    maxDelayMs: nonNegativeInt,
    timeoutMs: positiveInt,
  }),
  bulkPoll: z.strictObject({ intervalMs: positiveInt, timeoutMs: positiveInt }),
  /** The cycle pauses before its org's DailyApiRequests use would pass this share of the allocation. */
  apiAllocation: z.strictObject({ maxShare: z.number().gt(0).max(1), pauseCheckMs: positiveInt }),
  /** Redis hashes the per-lead explanation cache is spread over (small hashes stay compactly encoded). */
  explanationCache: z.strictObject({ buckets: positiveInt }),
  queue: z.strictObject({
    concurrency: positiveInt,
    lockDurationMs: positiveInt,
    stalledIntervalMs: positiveInt,
    attempts: positiveInt,
    backoffMs: nonNegativeInt,
    coordinatorPollMs: positiveInt,
  }),
  retention: z.strictObject({ cycleStateDays: z.number().positive() }),
  /**
   * `leadrank batch run` exits 1 when more than maxRowShare of the cycle's material changes could not be
   * written (dead-lettered rows / changes to write): a cycle that wrote nothing is a failure for its scheduler.
   */
  failures: z.strictObject({ maxRowShare: z.number().min(0).max(1) }),
  output: z.strictObject({
    reportsDir: z.string().min(1),
    exportsDir: z.string().min(1),
    exportParquet: z.boolean(),
  }),
});
export type BatchConfig = z.infer<typeof batchConfigSchema>;

export function loadBatchConfig(file = join('config', 'batch.json')): BatchConfig {
  return loadConfigFile(batchConfigSchema, file);
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};
export type BatchConfigOverrides = DeepPartial<BatchConfig>;

/** The config with some sections overridden (tests, CLI flags); the result is validated again. */
export function withOverrides(config: BatchConfig, overrides: BatchConfigOverrides = {}): BatchConfig {
  return withSectionOverrides(batchConfigSchema, config, overrides, 'config/batch.json (overridden)');
}

/**
 * config/opportunity-batch.json: the opportunity cycle the worker's scheduler role runs. Its material-change rule,
 * lock and retry knobs are config/batch.json's (the lead cycle's machinery); this file says when it runs and how
 * its write-back is sent.
 */
export const opportunityBatchConfigSchema = z.strictObject({
  version: z.string().min(1),
  /** The repeatable opportunity cycle fires this often (ms, at least a second; shipped: every 4 hours). */
  schedule: z.strictObject({ everyMs: z.number().int().min(1000) }),
  write: z.strictObject({
    /** Material changes up to this many go through sObject Collections, more through Bulk API 2.0 ingest jobs. */
    collectionsMaxRows: positiveInt,
  }),
});
export type OpportunityBatchConfig = z.infer<typeof opportunityBatchConfigSchema>;

export const OPPORTUNITY_BATCH_FILE = 'opportunity-batch.json';

/** Reads and validates config/opportunity-batch.json; an error names the file and the field. */
export function loadOpportunityBatchConfig(
  file = join('config', OPPORTUNITY_BATCH_FILE),
): OpportunityBatchConfig {
  return loadConfigFile(opportunityBatchConfigSchema, file);
}
