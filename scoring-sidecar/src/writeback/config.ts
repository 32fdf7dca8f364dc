// config/writeback.json: the write-back consumer's knobs, zod-validated at start (a bad deploy fails at once).
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigFile, withSectionOverrides } from '../config/index.js';

const positiveInt = z.number().int().positive();

export const writebackConfigSchema = z.strictObject({
  version: z.string().min(1),
  /** How long the consumer gathers jobs before one write (coalescing window). */
  flushMs: positiveInt,
  /** Jobs gathered at most per write (the BullMQ worker's concurrency). */
  maxBatch: positiveInt.max(50_000),
  /** A write of more leads than this goes through one Bulk API 2.0 job instead of sObject Collections calls. */
  bulkThreshold: positiveInt,
  /** UNABLE_TO_LOCK_ROW, REQUEST_LIMIT_EXCEEDED, 5xx: exponential, jittered, then the dead-letter list. */
  retry: z.strictObject({
    maxAttempts: positiveInt,
    baseDelayMs: z.number().int().min(0),
    maxDelayMs: z.number().int().min(0),
  }),
  /** Leads the in-process queue (no REDIS_URL) holds; past it the oldest is dropped and counted. */
  inProcess: z.strictObject({ maxPending: positiveInt }),
  /** Also upsert a Score_History__c row per material change (External_Key__c "<leadId>:evt-<scoredAt ms>"). */
  history: z.boolean(),
});
export type WritebackConfig = z.infer<typeof writebackConfigSchema>;

export function loadWritebackConfig(file = join('config', 'writeback.json')): WritebackConfig {
  return loadConfigFile(writebackConfigSchema, file);
}

/** The config with some sections overridden (LEADRANK_WRITEBACK_OVERRIDES, tests); the result is validated again. */
export function writebackWithOverrides(
  config: WritebackConfig,
  overrides: Record<string, unknown>,
): WritebackConfig {
  return withSectionOverrides(writebackConfigSchema, config, overrides, 'config/writeback.json (overridden)');
}
