// POST /v1/score for opportunities: `{"object": "Opportunity", "id": "006…"}` (or an id with the 006 prefix),
// optionally with the deal's fields (scored on the spot, never stored), or `{"object": "Opportunity",
// "opportunities": [...]}` of up to the lead limit. By Id the deal is read from the opportunity store (the
// opportunity sync keeps it). Every score is appended to the audit log before the answer, as for leads.
import { z } from 'zod';
import {
  OPPORTUNITY_ID_PATTERN,
  opportunityRecordSchema,
  type OpportunityRecord,
  type Region,
} from '../inputs/index.js';
import type { AuditSink, OpportunityScore, OpportunityScorer, ScoreAuditEntry } from '../scoring/index.js';
import type { OpportunityStore } from '../store/index.js';
import type { Caller } from './auth.js';
import { ApiError, issuesOf, parseOr400, validationError } from './errors.js';
import { scoreItemRegion } from './region-guard.js';
import { nextBestActionSchema, reasonSchema, regionSchema } from './schemas.js';

export interface OpportunityRouteDeps {
  scorer: OpportunityScorer;
  store: OpportunityStore;
  audit: AuditSink;
}

export const opportunityIdSchema = z
  .string()
  .regex(OPPORTUNITY_ID_PATTERN, 'a Salesforce Opportunity Id (006...)')
  .meta({ description: 'Salesforce Opportunity Id (15 or 18 characters)', example: '0065e00000AbCdEFGH' });

const itemShape = {
  id: opportunityIdSchema,
  region: regionSchema.optional(),
  fields: z
    .record(z.string().max(80), z.unknown())
    .refine((f) => Object.keys(f).length <= 200, 'at most 200 fields')
    .optional()
    .meta({
      description:
        'Opportunity fields by API name (CreatedDate required; the Account as {"Account": {"Industry": …, ' +
        '"NumberOfEmployees": …, "AnnualRevenue": …}}). Never stored or logged.',
    }),
};
export const scoreOpportunityRequestSchema = z
  .strictObject({ object: z.literal('Opportunity').optional(), ...itemShape })
  .meta({ id: 'ScoreOpportunityRequest' });
export const scoreOpportunityBatchSchema = z
  .strictObject({
    object: z.literal('Opportunity'),
    opportunities: z.array(z.strictObject(itemShape)).min(1),
  })
  .meta({ id: 'ScoreOpportunityBatchRequest' });

export const opportunityScoreSchema = z
  .strictObject({
    status: z.literal(200),
    object: z.literal('Opportunity'),
    opportunityId: opportunityIdSchema,
    score: z.number().int().min(0).max(100),
    band: z.enum(['A', 'B', 'C', 'D']),
    probability: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .meta({ description: 'Calibrated P(won); null by rules' }),
    reasons: z.array(reasonSchema),
    reasonLines: z.array(z.string()),
    nextBestAction: nextBestActionSchema.nullable(),
    source: z.enum(['model', 'rules']),
    fallbackReason: z.enum(['no_model', 'model_unavailable', 'model_error']).optional(),
    modelVersion: z.string(),
    featureHash: z.string(),
    scoredAt: z.string(),
    requestId: z.string(),
  })
  .meta({ id: 'OpportunityScore' });

export const opportunityNotFoundSchema = z
  .strictObject({
    status: z.literal(404),
    object: z.literal('Opportunity'),
    opportunityId: opportunityIdSchema,
    error: z.strictObject({ code: z.literal('opportunity_not_found'), message: z.string() }),
  })
  .meta({ id: 'OpportunityNotFound' });

/** The answer to an opportunity request: one entry per deal, in request order (documented in openapi.ts). */
export const scoreOpportunityResponseSchema = z
  .strictObject({
    requestId: z.string(),
    modelVersion: z
      .string()
      .meta({ description: 'Opportunity model served at the time (deal rule set version when none)' }),
    scoredAt: z.string(),
    scores: z.array(z.discriminatedUnion('status', [opportunityScoreSchema, opportunityNotFoundSchema])),
  })
  .meta({ id: 'ScoreOpportunityResponse' });

/** The body is about opportunities: `object` says so, a batch of `opportunities`, or an Id prefixed 006. */
export function isOpportunityRequest(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  if (b.object !== undefined) {
    if (b.object === 'Opportunity') return true;
    if (b.object === 'Lead') return false;
    throw validationError([{ path: 'object', message: 'must be "Lead" or "Opportunity"' }]);
  }
  return 'opportunities' in b || (typeof b.id === 'string' && b.id.startsWith('006'));
}

type Item = { id: string; region?: Region | undefined; fields?: Record<string, unknown> | undefined };

export async function scoreOpportunityRequest(
  deps: OpportunityRouteDeps,
  body: unknown,
  caller: Caller,
  requestId: string,
  region: Region,
  maxPerRequest: number,
  now: Date,
) {
  const isBatch = typeof body === 'object' && body !== null && 'opportunities' in body;
  const items: Item[] = isBatch
    ? parseOr400(scoreOpportunityBatchSchema, body).opportunities
    : [parseOr400(scoreOpportunityRequestSchema, body)];
  if (items.length > maxPerRequest)
    throw validationError([{ path: 'opportunities', message: `at most ${maxPerRequest} per request` }]);
  const records: (OpportunityRecord | null)[] = new Array(items.length).fill(null);
  const byId: number[] = [];
  items.forEach((item, i) => {
    const at = isBatch ? `opportunities[${i}]` : '';
    const itemRegion = scoreItemRegion(item, at, region);
    if (!item.fields) return void byId.push(i);
    const parsed = opportunityRecordSchema.safeParse({
      ...item.fields,
      Id: item.id,
      Data_Region__c: itemRegion ?? caller.region,
    });
    if (!parsed.success) throw validationError(issuesOf(parsed.error, `${at ? `${at}.` : ''}fields`));
    records[i] = parsed.data;
  });
  if (byId.length) {
    let stored: (OpportunityRecord | null)[];
    try {
      stored = await deps.store.get(byId.map((i) => items[i]!.id));
    } catch {
      throw new ApiError(503, 'store_unavailable', 'the opportunity store does not answer');
    }
    byId.forEach((i, k) => (records[i] = stored[k] ?? null));
  }
  const found = records.flatMap((r, i) => (r ? [{ r, i }] : []));
  const { scores, encoded } = await deps.scorer.score(
    found.map((f) => f.r),
    now,
  );
  const scoredAt = now.toISOString();
  const answers: unknown[] = items.map((item) => ({
    status: 404,
    object: 'Opportunity',
    opportunityId: item.id,
    error: {
      code: 'opportunity_not_found',
      message: `no open opportunity ${item.id} in the ${region} store (closed, deleted or not synced yet)`,
    },
  }));
  found.forEach((f, k) => (answers[f.i] = answerOf(scores[k]!, scoredAt, requestId)));
  await deps.audit.append(
    scores.map((s, k): ScoreAuditEntry => ({
      requestId,
      caller: caller.id,
      // The audit entry's record Id: an opportunity's (006…) here, a lead's (00Q…) on the lead route.
      leadId: s.opportunityId,
      region,
      modelVersion: s.modelVersion,
      source: s.source,
      ...(s.fallbackReason ? { fallbackReason: s.fallbackReason } : {}),
      featureVector: encoded?.vectors[k] ?? [],
      ...(encoded ? { featureNames: encoded.spec.features.map((x) => x.name) } : {}),
      featureHash: s.featureHash,
      score: s.score,
      band: s.band,
      probability: s.probability ?? s.score / 100,
      reasons: s.reasonLines,
      ...(s.nextBestAction
        ? { nextBestAction: `${s.nextBestAction.label}: ${s.nextBestAction.rationale}` }
        : {}),
      scoredAt,
    })),
  );
  const first = scores[0];
  return {
    requestId,
    modelVersion: first?.source === 'model' ? first.modelVersion : deps.scorer.currentVersion(),
    scoredAt,
    scores: answers,
  };
}

function answerOf(s: OpportunityScore, scoredAt: string, requestId: string) {
  return {
    status: 200 as const,
    object: 'Opportunity' as const,
    opportunityId: s.opportunityId,
    score: s.score,
    band: s.band,
    probability: s.probability,
    reasons: s.reasons,
    reasonLines: s.reasonLines,
    nextBestAction: s.nextBestAction,
    source: s.source,
    ...(s.fallbackReason ? { fallbackReason: s.fallbackReason } : {}),
    modelVersion: s.modelVersion,
    featureHash: s.featureHash,
    scoredAt,
    requestId,
  };
}
