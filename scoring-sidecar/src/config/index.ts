// Start-up configuration (config/scoring.json, config/regions.json): read once, zod-validated, and an error
// names the file and the field so a bad deploy fails before it serves anything.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

import { ConfigError } from './errors.js';

export { ConfigError };

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone (e.g. Europe/Berlin)');
const positiveInt = z.number().int().positive();

export const scoringConfigSchema = z
  .strictObject({
    version: z.string().min(1),
    /** Score (0-100) at or above which a model score gets the band. */
    bands: z
      .strictObject({
        A: z.number().min(0).max(100),
        B: z.number().min(0).max(100),
        C: z.number().min(0).max(100),
      })
      .refine((b) => b.A > b.B && b.B > b.C, 'thresholds must satisfy A > B > C'),
    reasons: z.strictObject({ top: z.number().int().min(1).max(10) }),
    /**
     * Concurrent requests' rows are coalesced into one onnxruntime run: a row runs at once when no run is in flight,
     * else waits for that run (at most windowMs), or until maxRows are waiting.
     */
    microBatch: z.strictObject({
      windowMs: z.number().min(0).max(50),
      maxRows: z.number().int().min(1).max(4096),
    }),
    /**
     * Explanations kept per model worker, by the row's split-interval signature (exact: equal signatures get
     * bit-identical SHAP values); 0 turns the cache off. About 0.8 KB an entry with 56 features.
     */
    explanationCache: z
      .strictObject({ entries: z.number().int().min(0).max(1_000_000) })
      .default({ entries: 20_000 }),
    /** Inference still running this long after a request started is abandoned for rules (fallbackReason deadline). */
    deadlineMs: z.number().int().min(1).max(10_000),
    /**
     * A store read (Redis) not answered within this many ms counts as a store outage: payload scores answer from
     * the rules (fallbackReason store_unavailable), id lookups 503. Capped by what is left of deadlineMs.
     */
    storeTimeoutMs: z.number().int().min(1).max(10_000),
    limits: z.strictObject({
      maxLeadsPerRequest: positiveInt.max(1000),
      maxEventsPerRequest: positiveInt,
      jsonBodyBytes: positiveInt,
      extractBytes: positiveInt,
    }),
    /** A rescore is written back to Salesforce when its band changes (if set) or it moves by >= points. */
    materialChange: z.strictObject({ points: z.number().int().min(1).max(100), onBandChange: z.boolean() }),
    extracts: z.strictObject({ writeChunkRows: positiveInt }),
    tokens: z.strictObject({ ttlSeconds: positiveInt.max(86_400) }),
  })
  .refine((c) => c.storeTimeoutMs < c.deadlineMs, {
    path: ['storeTimeoutMs'],
    message: 'must be below deadlineMs: the store read runs inside the request deadline',
  });
export type ScoringConfig = z.infer<typeof scoringConfigSchema>;

export const regionsConfigSchema = z.strictObject({
  regions: z.strictObject({
    US: z.strictObject({ defaultTimeZone: timeZone }),
    EU: z.strictObject({ defaultTimeZone: timeZone }),
  }),
  /** Lead.Country -> the time zone its working hours are checked in (one zone per country: an approximation). */
  countryTimeZones: z.record(z.string().min(1), timeZone),
});
export type RegionsConfig = z.infer<typeof regionsConfigSchema>;

/** Parses `raw` with `schema`; errors read "<file>: <field.path>: <reason>". */
export function parseConfig<T>(schema: z.ZodType<T>, raw: unknown, file: string): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`,
  );
  throw new ConfigError(`${file}: ${lines.join('; ')}`);
}

export function loadConfigFile<T>(schema: z.ZodType<T>, file: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file}: cannot read JSON (${(error as Error).message})`);
  }
  return parseConfig(schema, raw, file);
}

/**
 * A loaded config with some top-level sections overridden (LEADRANK_BATCH_OVERRIDES, LEADRANK_WRITEBACK_OVERRIDES,
 * tests, CLI flags): an object section is merged key by key over the file's, anything else replaces it. The result
 * is validated again; an error names `source` and the field.
 */
export function withSectionOverrides<T extends object>(
  schema: z.ZodType<T>,
  config: T,
  overrides: object,
  source: string,
): T {
  const merged: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overrides)) {
    const base = (config as Record<string, unknown>)[key];
    merged[key] =
      value && typeof value === 'object' && !Array.isArray(value) && base && typeof base === 'object'
        ? { ...base, ...value }
        : value;
  }
  return parseConfig(schema, merged, source);
}

/** The JSON object in environment variable `name` (overrides), {} when unset; a clear error names the variable. */
export function overridesFromEnv(env: NodeJS.ProcessEnv, name: string): Record<string, unknown> {
  const raw = env[name]?.trim();
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new ConfigError(`${name}: not JSON (${(error as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(`${name}: must be a JSON object of config sections`);
  return parsed as Record<string, unknown>;
}

export function loadScoringConfig(file = 'config/scoring.json'): ScoringConfig {
  return loadConfigFile(scoringConfigSchema, file);
}

export function loadRegionsConfig(file = 'config/regions.json'): RegionsConfig {
  return loadConfigFile(regionsConfigSchema, file);
}

/** The time zone a lead's working hours are checked in: its country's, else the region's default. */
export function leadTimeZone(regions: RegionsConfig, region: 'US' | 'EU', country: string | null): string {
  return (country ? regions.countryTimeZones[country] : undefined) ?? regions.regions[region].defaultTimeZone;
}
export { REPO_ROOT, regionStateDir } from './paths.js';
export {
  loadSalesforceConfig,
  loadSalesforceNames,
  packageNamesOf,
  salesforceConfig,
  SCORE_SOURCE_PICKLIST,
  UNPACKAGED,
  type ScoreSourcePicklistValue,
  type SalesforceConfig,
  type SalesforceNames,
} from './salesforce.js';
