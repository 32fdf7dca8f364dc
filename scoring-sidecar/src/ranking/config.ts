// config/ranking.json: how a rep's worklist is built, validated at load.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const money = z.number().finite().nonnegative();

/** Deal-size bands, ascending by upper bound; the last band is open-ended (`upTo: null`). */
function sizeBands(unit: string) {
  return z
    .array(z.strictObject({ upTo: z.number().positive().nullable(), dealSize: money }))
    .nonempty()
    .superRefine((bands, ctx) => {
      bands.forEach((band, i) => {
        const isLast = i === bands.length - 1;
        if (isLast !== (band.upTo === null))
          ctx.addIssue({
            code: 'custom',
            path: [i, 'upTo'],
            message: `only the last ${unit} band is open-ended (null)`,
          });
        const previous = bands[i - 1]?.upTo;
        if (previous != null && band.upTo !== null && band.upTo <= previous)
          ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: `${unit} bands must ascend` });
      });
    });
}

export const rankingConfigSchema = z.strictObject({
  version: z.string().min(1),
  description: z.string().optional(),
  candidates: z.strictObject({
    /** Statuses that end a lead's life in the worklist (converted leads are excluded whatever their status). */
    closedStatuses: z.array(z.string().min(1)),
    /** LeadSource values that count as inbound (web, form, chat): eligible for the speed-to-lead boost. */
    inboundSources: z.array(z.string().min(1)),
  }),
  expectedValue: z.strictObject({
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'),
    /** Employees known: the band holding NumberOfEmployees decides the deal size. */
    byEmployees: sizeBands('employee'),
    /** Else annual revenue known: the band holding AnnualRevenue. */
    byAnnualRevenue: sizeBands('revenue'),
    /** Neither known. */
    defaultDealSize: money,
  }),
  speedToLead: z.strictObject({
    /** Response SLA for a new, untouched inbound lead. */
    slaMinutes: z.number().positive(),
    /** Priority multiplier inside the SLA; large values pin such leads to the top. */
    multiplier: z.number().min(1),
  }),
  accountCap: z.strictObject({
    maxPerAccount: z.number().int().min(1),
    topK: z.number().int().min(1),
  }),
  capacity: z.strictObject({ dailyLeads: z.number().int().min(1) }),
  exploration: z.strictObject({
    /** Every n-th position (n, 2n, …) is an exploration slot; 0 turns exploration off. */
    every: z.number().int().min(0),
    /** Only leads at least this uncertain (0…1) may fill a slot. */
    minUncertainty: z.number().min(0).max(1),
  }),
});

export type RankingConfig = z.infer<typeof rankingConfigSchema>;

export class RankingConfigError extends Error {
  override name = 'RankingConfigError';
}

/** Validates parsed JSON; `source` names the file in errors, and each issue names its field path. */
export function parseRankingConfig(raw: unknown, source: string): RankingConfig {
  const result = rankingConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new RankingConfigError(`${source}: invalid ranking config: ${issues.join('; ')}`);
}

export function loadRankingConfig(file = 'config/ranking.json'): RankingConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RankingConfigError(`${file}: cannot read ranking config (${(error as Error).message})`);
  }
  return parseRankingConfig(raw, file);
}

export function isInboundSource(leadSource: string | null, config: RankingConfig): boolean {
  return leadSource !== null && config.candidates.inboundSources.includes(leadSource);
}
