// Request and response shapes of the HTTP API, once, in zod: routes validate with them and the OpenAPI
// document (GET /openapi.json) is generated from them, so the two cannot drift apart.
import { z } from 'zod';
import 'zod-openapi';
import { engagementEventSchema } from '../inputs/index.js';

const LEAD_ID_PATTERN = /^00Q[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/;
export const leadIdSchema = z
  .string()
  .regex(LEAD_ID_PATTERN, 'a Salesforce Lead Id (00Q...)')
  .meta({ description: 'Salesforce Lead Id (15 or 18 characters)', example: '00Q5e00000AbCdEFGH' });
export const regionSchema = z.enum(['US', 'EU']).meta({ id: 'Region' });
const band = z.enum(['A', 'B', 'C', 'D']);
const isoDateTime = z.iso.datetime({ offset: true });
export const MAX_LEADS_PER_REQUEST = 1000;

export const scoreLeadRequestSchema = z
  .strictObject({
    id: leadIdSchema,
    region: regionSchema
      .optional()
      .meta({ description: "The lead's Data_Region__c; another region is refused (403)" }),
    fields: z
      .record(z.string().max(80), z.unknown())
      .refine((f) => Object.keys(f).length <= 200, 'at most 200 fields')
      .optional()
      .meta({
        description:
          'Lead fields by API name (CreatedDate required), including the custom fields the active feature spec ' +
          'reads (e.g. Budget_Band__c: a string, number, boolean or null; another type is a 400 naming the ' +
          'field). Fields no feature reads are ignored for the model (the rules fallback still reads them). ' +
          'Features are computed from them on the spot; the payload is never stored or logged. Without fields ' +
          'the lead is read from the online store.',
      }),
  })
  .meta({ id: 'ScoreLeadRequest' });

export const scoreBatchRequestSchema = z
  .strictObject({ leads: z.array(scoreLeadRequestSchema).min(1).max(MAX_LEADS_PER_REQUEST) })
  .meta({ id: 'ScoreBatchRequest' });

/** Documented body of POST /v1/score: one lead, or {leads: [...]} of up to 1,000. */
export const scoreRequestSchema = z.union([scoreBatchRequestSchema, scoreLeadRequestSchema]);

export const reasonSchema = z
  .strictObject({
    direction: z.enum(['positive', 'negative']),
    feature: z
      .string()
      .meta({ description: 'Model feature, or the rule DeveloperName when scored by rules' }),
    contribution: z.number().meta({ description: 'Log-odds contribution (TreeSHAP), or rule points' }),
    value: z.union([z.string(), z.number(), z.boolean()]).nullable().optional().meta({
      description: "The feature's value as shown (category text, number, yes/no); absent for rules",
    }),
    text: z.string(),
  })
  .meta({ id: 'Reason' });

export const nextBestActionSchema = z
  .strictObject({ action: z.string(), label: z.string(), rationale: z.string() })
  .meta({ id: 'NextBestAction' });

export const leadScoreSchema = z
  .strictObject({
    status: z.literal(200),
    leadId: leadIdSchema,
    score: z.number().int().min(0).max(100),
    band,
    probability: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .meta({ description: 'Calibrated P(convert within 30 days); null when scored by rules' }),
    reasons: z
      .array(reasonSchema)
      .meta({ description: 'Top positive, then top negative reasons, strongest first' }),
    reasonLines: z.array(z.string()).meta({ description: 'The reasons as signed lines ("+ …", "- …")' }),
    nextBestAction: nextBestActionSchema.nullable(),
    source: z.enum(['model', 'rules']),
    fallbackReason: z
      .enum(['no_model', 'model_unavailable', 'model_error', 'deadline', 'store_unavailable'])
      .optional(),
    modelVersion: z
      .string()
      .meta({ description: 'Model version, or the rule set version when source is rules' }),
    featureHash: z.string(),
    scoredAt: isoDateTime,
    requestId: z.string(),
  })
  .meta({ id: 'LeadScore' });

export const leadNotFoundSchema = z
  .strictObject({
    status: z.literal(404),
    leadId: leadIdSchema,
    error: z.strictObject({ code: z.literal('lead_not_found'), message: z.string() }),
  })
  .meta({ id: 'LeadNotFound' });

export const scoreResponseSchema = z
  .strictObject({
    requestId: z.string(),
    modelVersion: z.string().meta({ description: 'Model served at the time (rule set version when none)' }),
    scoredAt: isoDateTime,
    scores: z.array(z.discriminatedUnion('status', [leadScoreSchema, leadNotFoundSchema])),
  })
  .meta({ id: 'ScoreResponse' });

export const eventsBatchSchema = z.strictObject({ events: z.array(engagementEventSchema).min(1) });

/** Documented body of POST /v1/events: one event, or {events: [...]}. */
export const eventsRequestSchema = z
  .union([eventsBatchSchema, engagementEventSchema])
  .meta({ id: 'EventsRequest' });

export const eventsResponseSchema = z
  .strictObject({
    requestId: z.string(),
    applied: z.number().int(),
    duplicates: z.number().int(),
    unknownLeadIds: z
      .array(leadIdSchema)
      .meta({ description: 'Leads with events but no profile yet (kept)' }),
    rescored: z.number().int(),
    writebackQueued: z.number().int().meta({ description: 'Material score changes queued for Salesforce' }),
    writebackQueue: z.string(),
  })
  .meta({ id: 'EventsResponse' });

export const extractKindSchema = z.enum(['erp', 'marketing', 'context']);

export const extractResponseSchema = z
  .strictObject({
    requestId: z.string(),
    kind: extractKindSchema,
    rows: z.number().int(),
    extractDates: z.strictObject({ from: z.string(), to: z.string() }).nullable(),
  })
  .meta({ id: 'ExtractResponse' });

export const worklistItemSchema = z
  .strictObject({
    rank: z.number().int().min(1),
    leadId: leadIdSchema,
    score: z.number().int().min(0).max(100),
    band,
    probability: z.number().min(0).max(1),
    expectedValue: z.number(),
    priority: z.number(),
    source: z.enum(['model', 'rules']),
    reasons: z.array(reasonSchema),
    reasonLines: z.array(z.string()),
    nextBestAction: nextBestActionSchema.nullable(),
    exploration: z.boolean(),
    why: z.array(z.string()),
    modelVersion: z.string(),
    scoredAt: isoDateTime,
  })
  .meta({ id: 'WorklistItem' });

const experimentIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'an experiment id (config/experiments/<id>.json)');
const armSchema = z.enum(['control', 'treatment']);

export const worklistExperimentSchema = z
  .strictObject({
    experimentId: z.string(),
    mode: z.enum(['shadow', 'canary', 'full']),
    arm: armSchema.meta({ description: "The rep's (or team's) arm: its ranking is the one shown" }),
    ranking: z.enum(['rules', 'model:champion', 'model:challenger']).meta({
      description:
        'What ranked this list: the rules, the champion model or the challenger model. In shadow mode the ' +
        "treatment's ranking is computed and logged, never returned.",
    }),
  })
  .meta({ id: 'WorklistExperiment' });

export const worklistResponseSchema = z
  .strictObject({
    requestId: z.string(),
    repId: z.string(),
    generatedAt: isoDateTime,
    experiment: worklistExperimentSchema
      .nullable()
      .meta({ description: 'The live experiment the rep is in, or null (served the champion as usual)' }),
    items: z.array(worklistItemSchema),
    excluded: z.array(z.strictObject({ leadId: z.string(), why: z.string() })),
  })
  .meta({ id: 'WorklistResponse' });

export const MAX_EXPOSED_LEADS = 200;

export const exposureRequestSchema = z
  .strictObject({
    experimentId: experimentIdSchema
      .optional()
      .meta({ description: 'Default: the live experiment, if any (nothing is recorded when none is live)' }),
    repId: z
      .string()
      .regex(/^005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/, 'a Salesforce User Id (005...)')
      .meta({ description: 'The rep who saw the scores' }),
    teamId: z
      .string()
      .min(1)
      .max(80)
      .optional()
      .meta({ description: "The rep's team; required by experiments that randomize teams" }),
    leadIds: z.array(leadIdSchema).min(1).max(MAX_EXPOSED_LEADS),
    fallbackLeadIds: z
      .array(leadIdSchema)
      .max(MAX_EXPOSED_LEADS)
      .optional()
      .meta({ description: 'Of leadIds, those whose score shown came from the rules fallback' }),
    at: isoDateTime.meta({ description: 'When the rep saw them' }),
  })
  .meta({ id: 'ExposureRequest' });

export const exposureResponseSchema = z
  .strictObject({
    requestId: z.string(),
    recorded: z.boolean().meta({
      description: 'False when no experiment is live, or it is in shadow, halted or reverted mode',
    }),
    experimentId: z.string().nullable(),
    arm: armSchema.nullable(),
  })
  .meta({ id: 'ExposureResponse' });

export const repIdSchema = z
  .string()
  .regex(/^005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/, 'a Salesforce User Id (005...)')
  .meta({ description: 'Salesforce User Id of the rep' });

export const worklistQuerySchema = z.strictObject({
  territory: z
    .string()
    .min(1)
    .max(80)
    .optional()
    .meta({ description: "The rep's territory (unassigned queue)" }),
  teamId: z
    .string()
    .min(1)
    .max(80)
    .optional()
    .meta({ description: "The rep's team; needed while an experiment randomizes teams" }),
});

export const tokenRequestSchema = z
  .object({
    grant_type: z.string(),
    client_id: z.string().optional(),
    client_secret: z.string().optional(),
  })
  .meta({ id: 'TokenRequest' });

export const tokenResponseSchema = z
  .strictObject({ access_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number().int() })
  .meta({ id: 'TokenResponse' });

export const oauthErrorSchema = z
  .strictObject({ error: z.string(), error_description: z.string().optional() })
  .meta({ id: 'OAuthError' });

export const errorResponseSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string(),
      message: z.string(),
      requestId: z.string(),
      issues: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

export const healthResponseSchema = z
  .strictObject({
    status: z.enum(['ok', 'failing']),
    ok: z.boolean(),
    /** How scores are answered now: 'rules' while the model is unavailable (alive, degraded). */
    scoring: z.enum(['model', 'rules', 'failing']),
    consecutiveScoreErrors: z.number().int(),
    detail: z.string().nullable(),
  })
  .meta({ id: 'Health' });

export const readinessResponseSchema = z
  .strictObject({
    ready: z.boolean(),
    checks: z.strictObject({
      model: z.strictObject({
        ok: z.boolean(),
        mode: z.enum(['model', 'rules-only']),
        version: z.string().nullable(),
        loadedAt: z.string().nullable(),
        lastError: z.string().nullable(),
      }),
      store: z.strictObject({
        ok: z.boolean(),
        latencyMs: z.number().nullable(),
        error: z.string().optional(),
      }),
    }),
  })
  .meta({ id: 'Readiness' });
