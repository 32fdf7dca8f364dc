// The OpenAPI 3.1 document served at GET /openapi.json, generated from the same zod schemas the routes
// validate with (zod-openapi). A test checks it route by route against the running app.
import { erasureRequestSchema, receiptSchema } from '../privacy/index.js';
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import {
  scoreOpportunityBatchSchema,
  scoreOpportunityRequestSchema,
  scoreOpportunityResponseSchema,
} from './opportunity-route.js';
import {
  errorResponseSchema,
  eventsRequestSchema,
  eventsResponseSchema,
  exposureRequestSchema,
  exposureResponseSchema,
  extractKindSchema,
  extractResponseSchema,
  healthResponseSchema,
  oauthErrorSchema,
  readinessResponseSchema,
  repIdSchema,
  scoreBatchRequestSchema,
  scoreLeadRequestSchema,
  scoreResponseSchema,
  tokenRequestSchema,
  tokenResponseSchema,
  worklistQuerySchema,
  worklistResponseSchema,
} from './schemas.js';

const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(errorResponseSchema) });

/** Answers every authenticated /v1 route can give besides its own. */
const guarded: ZodOpenApiResponsesObject = {
  '400': error('Invalid request: the field path and the reason'),
  '401': error('Missing or invalid bearer token'),
  '403': error('The caller or a record belongs to the other region'),
  '429': {
    description:
      "The caller's rate limit is spent (config/api-access.json); Retry-After gives the seconds to wait",
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
    content: json(errorResponseSchema),
  },
};

const secured: Pick<ZodOpenApiOperationObject, 'security'> = { security: [{ bearer: [] }] };

export function buildOpenApiDocument(version: string) {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Leadrank scoring sidecar',
      version,
      description:
        'Lead scores (0-100, band A-D, calibrated probability), reasons and next-best actions for Salesforce. ' +
        'Region-local: each deployment serves one region (US or EU). See docs/api.md.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A token from POST /oauth/token, or a JWT signed by a configured caller key',
        },
      },
    },
    paths: {
      '/oauth/token': {
        post: {
          summary: 'OAuth 2.0 client credentials grant',
          requestBody: {
            content: {
              'application/x-www-form-urlencoded': { schema: tokenRequestSchema },
              'application/json': { schema: tokenRequestSchema },
            },
          },
          responses: {
            '200': { description: 'An access token', content: json(tokenResponseSchema) },
            '400': { description: 'Unsupported grant or malformed request', content: json(oauthErrorSchema) },
            '401': { description: 'Unknown client or wrong secret', content: json(oauthErrorSchema) },
            '403': error('The client is bound to the other region'),
          },
        },
      },
      '/v1/score': {
        post: {
          ...secured,
          summary:
            'Score one lead or up to 1,000, by Id (online store) or with their fields (the active feature ' +
            "spec's custom `__c` fields included); or opportunities " +
            '(`object: "Opportunity"`, or an Id prefixed 006), by Id (opportunity store) or with their fields',
          requestBody: {
            content: json(
              z.union([
                scoreBatchRequestSchema,
                scoreLeadRequestSchema,
                scoreOpportunityBatchSchema,
                scoreOpportunityRequestSchema,
              ]),
            ),
          },
          responses: {
            '200': {
              description:
                'One entry per lead (or per opportunity), in request order; unknown Ids as 404 entries',
              content: json(z.union([scoreResponseSchema, scoreOpportunityResponseSchema])),
            },
            ...guarded,
            '413': error('Body over the size limit'),
            '415': error('Not JSON'),
            '503': error(
              'Opportunity scoring is not configured, or the opportunity store does not answer (opportunities only)',
            ),
          },
        },
      },
      '/v1/worklists/{repId}': {
        get: {
          ...secured,
          summary:
            "A rep's ranked worklist; while an experiment is live, ranked by the rep's arm (and the exposure logged)",
          requestParams: { path: z.object({ repId: repIdSchema }), query: worklistQuerySchema },
          responses: {
            '200': {
              description: 'Ranked items and the leads left out, with reasons',
              content: json(worklistResponseSchema),
            },
            ...guarded,
            '503': error('No worklist index configured'),
          },
        },
      },
      '/v1/events': {
        post: {
          ...secured,
          summary:
            'Engagement events (one or a batch): applied, affected leads rescored, material changes queued',
          requestBody: { content: json(eventsRequestSchema) },
          responses: {
            '200': { description: 'What was applied and queued', content: json(eventsResponseSchema) },
            ...guarded,
            '413': error('Body over the size limit'),
            '415': error('Not JSON'),
          },
        },
      },
      '/v1/exposures': {
        post: {
          ...secured,
          summary:
            'A rep saw these leads scored (the Lead-page score card, via Apex): an exposure of the live experiment',
          requestBody: { content: json(exposureRequestSchema) },
          responses: {
            '200': {
              description: 'Whether an exposure was recorded, for which experiment and arm',
              content: json(exposureResponseSchema),
            },
            ...guarded,
            '404': error('No experiment with that id'),
            '415': error('Not JSON'),
          },
        },
      },
      '/v1/privacy/erasures': {
        post: {
          ...secured,
          summary: 'Erase a lead from every store of the deployment; idempotent (docs/api.md, docs/audit.md)',
          requestBody: { content: json(erasureRequestSchema) },
          responses: {
            '200': {
              description: 'Erased (or erased before: alreadyErased), with the receipt',
              content: json(
                z.object({ receiptId: z.string(), alreadyErased: z.boolean(), receipt: receiptSchema }),
              ),
            },
            '202': {
              description: 'Still running: GET the receipt at Location',
              content: json(z.object({ receiptId: z.string(), status: z.literal('pending') })),
            },
            ...guarded,
            '404': error('No store holds that lead: nothing erased'),
            '415': error('Not JSON'),
          },
        },
      },
      '/v1/privacy/erasures/{id}': {
        get: {
          ...secured,
          summary: 'An erasure receipt: what was erased where and when, without the subject',
          requestParams: { path: z.object({ id: z.string() }) },
          responses: {
            '200': { description: 'The receipt', content: json(receiptSchema) },
            ...guarded,
            '404': error('No receipt with that id'),
          },
        },
      },
      '/v1/extracts/{kind}': {
        post: {
          ...secured,
          summary:
            'An ERP, marketing or dated context extract, streamed as CSV (header row) or NDJSON; all rows or none',
          requestParams: { path: z.object({ kind: extractKindSchema }) },
          requestBody: {
            content: {
              'text/csv': { schema: z.string() },
              'application/x-ndjson': { schema: z.string() },
            },
          },
          responses: {
            '200': { description: 'Rows written', content: json(extractResponseSchema) },
            ...guarded,
            '413': error('Extract over the size limit'),
            '415': error('Neither text/csv nor application/x-ndjson'),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness: fails when the process cannot score (model source broken, scores failing)',
          responses: {
            '200': {
              description: 'Alive (scoring by model, or by rules while degraded)',
              content: json(healthResponseSchema),
            },
            '503': { description: 'Cannot score: restart', content: json(healthResponseSchema) },
          },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: a model loaded (or rules-only mode configured) and the store reachable',
          responses: {
            '200': { description: 'Ready', content: json(readinessResponseSchema) },
            '503': { description: 'Not ready', content: json(readinessResponseSchema) },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            '200': {
              description: 'Prometheus text format',
              content: { 'text/plain': { schema: z.string() } },
            },
            '401': error(
              'Not loopback or an allowed address, and no valid LEADRANK_METRICS_TOKEN bearer token',
            ),
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: {
            '200': { description: 'OpenAPI 3.1', content: json(z.record(z.string(), z.unknown())) },
          },
        },
      },
    },
  });
}
