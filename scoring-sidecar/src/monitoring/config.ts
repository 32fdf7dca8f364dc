// Monitoring thresholds (config/monitoring.json).
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const extractSchema = z.object({
  /** UTC time of day by which the day's extract must have arrived. */
  expectedBy: z.string().regex(/^\d{2}:\d{2}$/),
  maxAgeHours: z.number().positive(),
  /** Rows below this share of the trailing median count make the extract "half empty". */
  minRowsShareOfMedian: z.number().min(0).max(1),
  maxInvalidShare: z.number().min(0).max(1),
});

export const monitoringConfigSchema = z.object({
  drift: z.object({
    psiWarn: z.number().positive(),
    psiAlert: z.number().positive(),
    missingRateIncreaseAlert: z.number().positive(),
    /** Fewer rows in a day/region slice than this: not judged (PSI is noisy on small samples). */
    minRows: z.number().int().positive(),
  }),
  calibration: z.object({ maxEce: z.number().positive(), minLabelledRows: z.number().int().positive() }),
  extracts: z.record(z.string(), extractSchema),
  events: z.object({ maxLagMinutes: z.number().positive() }),
  /** How often the running sidecar checks and flushes (server.ts). */
  schedules: z
    .object({
      guardrailCheckMinutes: z.number().positive().default(15),
      freshnessCheckSeconds: z.number().positive().default(60),
      scoreFlushSeconds: z.number().positive().default(10),
      experimentsRefreshSeconds: z.number().positive().default(10),
      /** Feature vectors sampled per batch partition for drift (vectors are recomputed for the sample only). */
      driftSampleRowsPerPartition: z.number().int().nonnegative().default(2000),
    })
    .prefault({}),
});
export type MonitoringConfig = z.infer<typeof monitoringConfigSchema>;
export type ExtractExpectation = z.infer<typeof extractSchema>;

export function loadMonitoringConfig(file: string): MonitoringConfig {
  return monitoringConfigSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}
