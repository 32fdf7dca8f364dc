// The feature-spec format (config/features/<target>.json): which inputs a model reads and how each becomes a
// value. Data, not code; `interpretSpec` is its one interpreter. Shapes only here; cross-field rules
// (sources known, PII refused, event types declared) are checked by the loader, which knows positions.
import { z } from 'zod';
import { EVENT_TYPES } from '../inputs/index.js';

const eventType = z.enum(EVENT_TYPES);

/** A field of the scored object ("LeadSource", "Score__c") or of a parent ("Matched_Account__r.Industry"). */
const fieldSource = z.strictObject({
  field: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$/, 'a field API name'),
  /** The Salesforce field type the spec expects (checked against describe by `features check`/`propose`). */
  type: z.string().optional(),
});
const eventSource = z.strictObject({ events: z.union([eventType, z.literal('any')]) });
const extractSource = z.strictObject({ extract: z.enum(['erp', 'marketing']), column: z.string() });
/** A column of a declared dated context (top-level `contexts`), the row in effect at the instant. */
const contextSource = z.strictObject({ context: z.string(), column: z.string() });
export const sourceSchema = z.union([fieldSource, eventSource, extractSource, contextSource]);
export type SpecSource = z.infer<typeof sourceSchema>;

export const transformSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('numeric'),
    /** ln(1 + x); x ≤ -1 is missing. */
    log: z.boolean().optional(),
    clip: z.strictObject({ min: z.number().optional(), max: z.number().optional() }).optional(),
  }),
  z.strictObject({ kind: z.literal('boolean') }),
  /** true when the field holds a value (a lookup set, a date filled in). */
  z.strictObject({ kind: z.literal('present') }),
  z.strictObject({
    kind: z.literal('categorical'),
    caseFold: z.boolean().optional(),
    /** Keep the K most frequent training values; with `other`, the rest share one level instead of missing. */
    topK: z.number().int().min(1).max(1000).optional(),
    other: z.boolean().optional(),
    /** Levels seen fewer times than this in training are missing (default 20). */
    minCount: z.number().int().min(1).optional(),
  }),
  /** A picklist: the describe's values; anything else is missing. */
  z.strictObject({ kind: z.literal('picklist'), values: z.array(z.string()).min(1) }),
  z.strictObject({ kind: z.literal('days-since') }),
  z.strictObject({ kind: z.literal('ratio'), denominator: fieldSource }),
  z.strictObject({ kind: z.literal('event-count'), windowDays: z.number().int().min(1).max(30) }),
  z.strictObject({ kind: z.literal('event-total') }),
  z.strictObject({ kind: z.literal('event-recency') }),
  z.strictObject({ kind: z.literal('title-seniority') }),
  z.strictObject({ kind: z.literal('free-mail') }),
]);
export type SpecTransform = z.infer<typeof transformSchema>;

export const specFeatureSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower_snake_case'),
  description: z.string().min(1),
  source: sourceSchema,
  transform: transformSchema,
  /** Value when the source has nothing; null (default) leaves it missing for the model. */
  missing: z.union([z.number(), z.boolean(), z.string(), z.null()]).optional(),
  /** Why this feature was chosen (written by `features propose`; documentation only). */
  reason: z.string().optional(),
  /** Selecting a PII, free-text, classified or encrypted field needs a recorded reason (shown on the card). */
  override: z.strictObject({ reason: z.string().min(10, 'a reason of at least 10 characters') }).optional(),
});
export type SpecFeature = z.infer<typeof specFeatureSchema>;

const snakeName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower_snake_case');

/**
 * A dated context extract (POST /v1/extracts/context, or <extracts>/context/*.csv for training): its key joins
 * to a field of the scored record, or is "global" (one row in effect for every record, e.g. a market indicator);
 * its columns are typed. Features read them with {"context": name, "column": column}.
 */
export const contextDeclarationSchema = z.strictObject({
  key: z.union([
    z.strictObject({
      field: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a field API name of the scored object'),
    }),
    z.literal('global'),
  ]),
  columns: z
    .record(snakeName, z.enum(['number', 'text', 'boolean']))
    .refine((c) => Object.keys(c).length > 0, 'at least one column'),
});
export type ContextDeclarationConfig = z.infer<typeof contextDeclarationSchema>;

export const featureConfigSchema = z.strictObject({
  specVersion: z.literal(1),
  name: z.string().min(1),
  target: z.enum(['lead', 'opportunity']),
  object: z.enum(['Lead', 'Opportunity']),
  /** Engagement event types the spec reads; an event feature naming another type is an error. */
  eventTypes: z.array(eventType),
  /** Dated context extracts the spec's features read, by name (see contextDeclarationSchema). */
  contexts: z.record(snakeName, contextDeclarationSchema).optional(),
  /** Append days_to_quarter_end and day_of_year (they encode the training window; see docs/model.md). */
  calendar: z.boolean(),
  features: z.array(specFeatureSchema).min(1),
  /**
   * The training target (docs/onboarding.md §5, docs/model.md "Targets"). Two builders read it:
   * - the record builder (no `snapshots`, `outcome` a field): one snapshot per record at `timeField`, label =
   *   `outcome.field` holds one of `positive` (an imported history, one row per lead and its outcome);
   * - the snapshot builder (`snapshots` given, or `outcome` "converted"): snapshots while the lead is open,
   *   counted from `timeField` (the time axis; default CreatedDate for both builders), the first `firstAfterDays` after it, then
   *   one every `intervalDays` (at most `maxSnapshots`); label = the outcome happened within `horizonDays`
   *   after the snapshot. "converted" reads Opportunity and LeadHistory; a custom outcome field becomes positive
   *   at the date in `positiveAtField`, or without one at its first change to a positive value in its field
   *   history (LeadHistory), and no snapshot is taken at or after that instant.
   * Without a `training` block the snapshot builder applies with "converted", CreatedDate and 1 / 7 / 30 days.
   */
  training: z
    .strictObject({
      timeField: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_.]*$/, 'a field API name')
        .default('CreatedDate'),
      outcome: z.union([
        z.literal('converted'),
        z.strictObject({
          field: z.string(),
          positive: z.array(z.string()).min(1),
          /** When the field became positive (a date or datetime field); else its field history says. */
          positiveAtField: z
            .string()
            .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a field API name')
            .optional(),
        }),
      ]),
      horizonDays: z.number().int().min(1).max(730).default(30),
      snapshots: z
        .strictObject({
          firstAfterDays: z.number().int().min(0).max(365),
          intervalDays: z.number().int().min(1).max(365),
          maxSnapshots: z.number().int().min(1).max(1000).optional(),
        })
        .optional(),
      segments: z
        .strictObject({
          region: z.string().optional(),
          leadSource: z.string().optional(),
          industry: z.string().optional(),
          companySize: z.string().optional(),
        })
        .default({}),
    })
    .optional(),
  /**
   * The earlier form of `training: {"outcome": "converted", "horizonDays", "snapshots": {…}}` (still read):
   * the first snapshot `firstAfterDays` after creation, then one every `intervalDays` while the lead is open;
   * label = converted within `horizonDays` of the snapshot.
   */
  snapshots: z
    .strictObject({
      firstAfterDays: z.number().int().min(0).max(365),
      intervalDays: z.number().int().min(1).max(365),
      horizonDays: z.number().int().min(1).max(730),
    })
    .optional(),
  /** Reasons written by `features propose` for what it chose and left out (documentation only). */
  excluded: z.array(z.strictObject({ field: z.string(), reason: z.string() })).optional(),
});
export type FeatureConfig = z.infer<typeof featureConfigSchema>;
