// config/sync.json: how the continuous org sync runs. zod-validated at start; errors name the file and field.
import { z } from 'zod';
import { loadConfigFile } from '../config/index.js';

export const syncConfigSchema = z.strictObject({
  /** Pause between two incremental pulls. */
  intervalMs: z.number().int().min(1_000).max(3_600_000),
  /**
   * Each pull re-reads this far behind the watermark: SystemModstamp is set when a transaction starts, so a
   * long transaction can commit rows older than ones already read. Re-read rows already applied are skipped.
   */
  overlapMs: z.number().int().min(0).max(3_600_000),
  /** Rows written to the store and the worklist index per batch. */
  writeBatchRows: z.number().int().min(1).max(50_000),
  /**
   * A watermark older than this forces a full reload: deleted rows stay visible to queryAll only while in the
   * Recycle Bin (15 days), so an older watermark could miss deletions.
   */
  maxWatermarkAgeDays: z.number().min(0.01).max(14),
  /**
   * A lead deleted in the org is erased this many days later (docs/audit.md "Erasure"): until the Recycle Bin
   * is emptied (15 days) it can be undeleted. Merged leads and ShouldForget are erased at once.
   */
  eraseDeletedAfterDays: z.number().min(0).max(15).default(15),
  /** Port of /metrics for `leadrank sync run` (0 = none). */
  metricsPort: z.number().int().min(0).max(65_535),
});
export type SyncConfig = z.infer<typeof syncConfigSchema>;

export function loadSyncConfig(file: string): SyncConfig {
  return loadConfigFile(syncConfigSchema, file);
}
