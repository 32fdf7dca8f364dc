// An experiment's definition (config/experiments/<id>.json): what is compared, how reps are randomized, how
// the result is decided and which guardrails protect the business while it runs.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export const SEGMENT_DIMENSIONS = ['region', 'lead_source', 'industry', 'company_size'] as const;
export type SegmentDimension = (typeof SEGMENT_DIMENSIONS)[number];

const rankingSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('rules') }),
  z.object({ kind: z.literal('model'), alias: z.enum(['champion', 'challenger']) }),
]);
export type ArmRanking = z.infer<typeof rankingSchema>;

export const experimentDefinitionSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
  description: z.string(),
  /** Mixed into every bucket hash: a new salt reshuffles reps, so two experiments never share a split. */
  salt: z.string().min(8),
  /** Randomize by rep, or by team when reps share a queue (spill-over). */
  unit: z.enum(['rep', 'team']),
  arms: z.object({ control: rankingSchema, treatment: rankingSchema }),
  /** Treatment shares a canary goes through, one `widen` at a time; full rollout follows the last. */
  canarySteps: z.array(z.number().gt(0).lt(1)).min(1),
  /** Days before the start whose conversion rate per rep is the CUPED covariate. */
  prePeriodDays: z.number().int().positive().default(90),
  analysis: z.object({
    alpha: z.number().gt(0).lt(0.5).default(0.05),
    method: z.enum(['cluster-robust', 'bootstrap']).default('cluster-robust'),
    /** Absolute conversion difference worth detecting; sets the planned sample size. */
    mde: z.number().positive(),
    power: z.number().gt(0.5).lt(1).default(0.8),
    minUnitsPerArm: z.number().int().positive().default(20),
    minDays: z.number().int().nonnegative().default(14),
  }),
  guardrails: z.object({
    segments: z.array(z.enum(SEGMENT_DIMENSIONS)).default([...SEGMENT_DIMENSIONS]),
    /** Relative conversion loss of a segment (treatment vs control) that breaches when significant. */
    maxRelativeSegmentLoss: z.number().positive(),
    minSegmentLeadsPerArm: z.number().int().positive().default(200),
    /** Significance of the one-sided harm test, before Bonferroni over the segments tested. */
    segmentAlpha: z.number().gt(0).lt(0.5).default(0.05),
    inboundLeadSources: z.array(z.string()),
    firstTouchSlaHours: z.number().positive(),
    /** Share of new inbound leads touched within the SLA, below which the treatment arm breaches. */
    minSlaShare: z.number().min(0).max(1),
    /** Absolute rise of the never-shown share (treatment − control) that breaches. */
    maxNeverShownIncrease: z.number().min(0).max(1),
    /** Share of treatment leads shown with the rules fallback instead of the model that breaches. */
    maxFallbackShare: z.number().min(0).max(1),
  }),
});
export type ExperimentDefinition = z.infer<typeof experimentDefinitionSchema>;

export async function loadExperimentDefinition(file: string): Promise<ExperimentDefinition> {
  return experimentDefinitionSchema.parse(JSON.parse(await readFile(file, 'utf8')));
}
