// config/retention.json: how long each store keeps its data, and when the scheduler applies it and anchors the
// audit log. Validated at start-up; a bad file stops the process naming the file and the field.
import { z } from 'zod';
import { loadConfigFile } from '../config/index.js';

const days = z.number().int().min(1).max(36_500);

export const retentionConfigSchema = z.strictObject({
  /** Days each store keeps data; older data is removed by `leadrank retention run` and the scheduler. */
  days: z.strictObject({
    /** Audit log segments (whole, once anchored): regulated clients keep years. */
    auditSegments: days,
    /** Batch Parquet exports and cycle reports. */
    exports: days,
    /** Training sets built under var/training/<region>/. */
    trainingSets: days,
    /** Per-lead experiment rows (exposures, outcomes). */
    experimentData: days,
    /**
     * Score_History__c rows: deleted in Salesforce by the Apex ScoreHistoryRetention job, whose period is
     * Scoring_Setting__mdt.Default History_Retention_Days__c; keep both the same (docs/operations.md).
     */
    scoreHistory: days,
    /** Write-back dead letters. */
    deadLetters: days,
    /** Monitoring history (daily band/source counts, drift, calibration, cycle and extract records). */
    monitoring: days,
  }),
  schedule: z.strictObject({
    /** The daily retention run (BullMQ job scheduler, cron in the timezone). */
    retention: z.strictObject({ cron: z.string().min(9), timezone: z.string().min(1) }),
    /** `audit anchor` on the scheduler: the exposure window of an unanchored tail. */
    auditAnchor: z.strictObject({ everySeconds: z.number().int().min(10).max(86_400) }),
  }),
});

export type RetentionConfig = z.infer<typeof retentionConfigSchema>;
export type RetainedStore = keyof RetentionConfig['days'];

export function loadRetentionConfig(file: string): RetentionConfig {
  return loadConfigFile(retentionConfigSchema, file);
}
