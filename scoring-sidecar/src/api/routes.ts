// The /v1 routes: score, worklists, events, extracts. Each answers 4xx for what the caller can fix, refuses
// records of the other region with 403 before anything is stored, and never logs a body.
import {
  isOpportunityRequest,
  scoreOpportunityRequest,
  type OpportunityRouteDeps,
} from './opportunity-route.js';
import { context, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { ScoringConfig } from '../config/index.js';
import {
  type ArmRanking,
  TeamRequiredError,
  type ExposureInput,
  type ServingPlan,
  type Arm,
} from '../experiments/index.js';
import type { ExtractSummary } from '../monitoring/index.js';
import { contextDeclarations, customFieldsRead, LEAD_FEATURE_CONFIG } from '../features/index.js';
import {
  engagementEventSchema,
  leadProfileSchema,
  type ContextDeclarations,
  type EngagementEvent,
} from '../inputs/index.js';
import {
  explorationRng,
  rankWorklist,
  type ClosableWorklistIndex,
  type RankingConfig,
  type ScoredCandidate,
  type WorklistIndex,
  type WorklistLead,
} from '../ranking/index.js';
import {
  type LeadScore,
  type ScoreContext,
  type ScoreInput,
  type ScoreOutcome,
  type ScoringService,
  rescoreAfterEvents,
} from '../scoring/index.js';
import { queueMaterialChanges, type PublishedScores, type WritebackQueue } from '../writeback/index.js';
import { RefusedInputError, type OnlineFeatureStore, type Region } from '../store/index.js';
import type { Caller } from './auth.js';
import { ApiError, issuesOf, parseOr400, regionRefusal, validationError } from './errors.js';
import { extractFormatOf, ingestExtract } from './extract-ingest.js';
import { refuseRegionlessPayloads, scoreItemRegion } from './region-guard.js';
import type { ApiMetrics } from './metrics.js';
import {
  eventsBatchSchema,
  exposureRequestSchema,
  extractKindSchema,
  repIdSchema,
  scoreBatchRequestSchema,
  scoreLeadRequestSchema,
  worklistQuerySchema,
} from './schemas.js';

const tracer = trace.getTracer('leadrank-api');
export interface RouteDeps {
  region: Region;
  /** Opportunity scoring on POST /v1/score (api/opportunity-route.ts); absent: such requests answer 503. */
  opportunities?: OpportunityRouteDeps;
  config: ScoringConfig;
  store: OnlineFeatureStore;
  scoring: ScoringService;
  published: PublishedScores;
  writeback: WritebackQueue;
  metrics: ApiMetrics;
  /** Null when no worklist index is configured: the worklist route answers 503. */
  worklists: { index: WorklistIndex | ClosableWorklistIndex; config: RankingConfig } | null;
  now: () => Date;
  /** The version reported at the top of a score response when nothing was scored by a model. */
  currentVersion: () => string;
  /** Live experiments (experiments/service.ts); absent: every rep gets the champion, no exposure is logged. */
  experiments?: RouteExperiments;
  /** Monitoring hooks (monitoring/monitor.ts); absent: nothing is recorded. */
  monitoring?: RouteMonitoring;
  /** The dated contexts a context extract is checked against; default the active spec's (`contexts`). */
  contexts?: ContextDeclarations;
  /**
   * The custom fields a score payload may carry: the active spec's fields beyond the fixed profile, the ones
   * sync keeps in the stored profile's `custom` bag. Default: the active spec's ($LEADRANK_FEATURE_SPEC).
   */
  customFields?: readonly string[];
}

/** The active spec's custom fields (features/servability.ts), read once like the spec itself. */
const ACTIVE_CUSTOM_FIELDS = customFieldsRead(LEAD_FEATURE_CONFIG);

export interface RouteExperiments {
  servingFor(repId: string, teamId?: string): ServingPlan | null;
  recordExposure(e: ExposureInput): Arm | null;
  /** The scoring service of an arm's ranking; 'shadow' scores are audited but not counted as shown. */
  scoringFor(ranking: ArmRanking, use: 'shown' | 'shadow'): ScoringService;
  /** Shadow rankings go to this log (ids and scores only). */
  logger: Logger;
}

export interface RouteMonitoring {
  eventsArrived(at: Date): void;
  /** An extract ingested in full, counted row by row while it streamed (refused extracts are not deliveries). */
  extractDelivered(summary: ExtractSummary, now: Date): void | Promise<void>;
  /** Counts one delivery's validated rows (value ranges). */
  extractRowChecker(kind: string): {
    addValid(row: Readonly<Record<string, unknown>>): void;
    summary(day: string, at: Date): ExtractSummary;
  };
}

const rankingLabel = (r: ArmRanking) => (r.kind === 'rules' ? 'rules' : (`model:${r.alias}` as const));

/** The rep's serving plan; a team experiment asked without the team serves the champion (not enrolled). */
function planFor(deps: RouteDeps, repId: string, teamId: string | undefined): ServingPlan | null {
  if (!deps.experiments) return null;
  try {
    return deps.experiments.servingFor(repId, teamId);
  } catch (error) {
    if (error instanceof TeamRequiredError) return null;
    throw error;
  }
}

/** Scores a rep's candidates in request-sized batches; leads without features are excluded with why. */
async function scoreCandidates(
  scoring: ScoringService,
  candidates: readonly WorklistLead[],
  ctx: ScoreContext,
  batch: number,
) {
  const scoredById = new Map<string, LeadScore>();
  const excluded: { leadId: string; why: string }[] = [];
  const scored: ScoredCandidate[] = [];
  for (let start = 0; start < candidates.length; start += batch) {
    const chunk = candidates.slice(start, start + batch);
    const outcomes = await scoring.score(
      chunk.map((c) => ({ leadId: c.leadId })),
      ctx,
    );
    outcomes.forEach((o, i) => {
      const lead = chunk[i]!;
      if (o.status !== 200)
        return void excluded.push({ leadId: lead.leadId, why: 'no features in the online store yet' });
      scoredById.set(o.leadId, o);
      scored.push({
        lead,
        // Rules give no probability: their score's scale stands in (docs/api.md).
        probability: o.probability ?? o.score / 100,
        score: o.score,
        band: o.band,
        source: o.source,
        reasons: o.reasons.map((r) => ({ text: r.text, direction: r.direction })),
        nextBestAction: o.nextBestAction,
      });
    });
  }
  return { scoredById, excluded, scored };
}

function contextOf(req: Request, res: Response, deps: RouteDeps, started: number) {
  const caller = res.locals.caller as Caller;
  return {
    requestId: String(res.locals.requestId),
    caller: caller.id,
    deadlineAt: started + deps.config.deadlineMs,
  };
}

/** res.json without express's per-call settings lookups and freshness checks: the hottest route's answer. */
function sendJson(res: Response, body: unknown): void {
  const text = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

function requireJson(req: Request): void {
  if (!req.is('application/json'))
    throw new ApiError(415, 'unsupported_media_type', 'the body must be application/json');
}

/**
 * A payload's values of the active spec's custom fields, as the store's `custom` bag holds them after sync (the
 * Bulk API's strings: 45000 -> "45000", true -> "true", "" and absent -> null), so the one interpreter reads a
 * payload exactly as it reads the stored profile. Other fields are no model input and are not read here (the
 * rules fallback still sees them). A value that is not a string, number, boolean or null is a 400 naming it.
 */
function payloadCustomBag(
  fields: Readonly<Record<string, unknown>>,
  names: readonly string[],
  prefix: string,
): Record<string, string | null> | undefined {
  if (names.length === 0) return undefined;
  const bag: Record<string, string | null> = {};
  const issues: { path: string; message: string }[] = [];
  for (const name of names) {
    const v = fields[name];
    if (v === undefined || v === null || v === '') bag[name] = null;
    else if (typeof v === 'string') bag[name] = v;
    else if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) bag[name] = String(v);
    else
      issues.push({
        path: `${prefix}.${name}`,
        message: 'a field of the active spec: a string, a number, a boolean or null',
      });
  }
  if (issues.length) throw validationError(issues);
  return bag;
}

/** Score items -> scoring inputs; a payload's fields are parsed as a lead profile (field paths in errors). */
function scoreInputsOf(
  body: unknown,
  deps: RouteDeps,
  caller: Caller,
  regionless: { id: string; at: string }[] = [],
): ScoreInput[] {
  const isBatch = typeof body === 'object' && body !== null && 'leads' in body;
  const items = isBatch
    ? parseOr400(scoreBatchRequestSchema, body).leads
    : [parseOr400(scoreLeadRequestSchema, body)];
  if (items.length > deps.config.limits.maxLeadsPerRequest) {
    throw validationError([
      { path: 'leads', message: `at most ${deps.config.limits.maxLeadsPerRequest} leads per request` },
    ]);
  }
  return items.map((item, i) => {
    const at = isBatch ? `leads[${i}]` : '';
    const region = scoreItemRegion(item, at, deps.region);
    if (!item.fields) return { leadId: item.id };
    if (region === undefined) regionless.push({ id: item.id, at });
    const prefix = `${at ? `${at}.` : ''}fields`;
    // A lead without Data_Region__c belongs to the caller's region (Apex sends each region to its own deployment).
    const parsed = leadProfileSchema.safeParse({
      ...item.fields,
      Id: item.id,
      Data_Region__c: region ?? caller.region,
      // Only the active spec's custom fields, never a bag the caller sends as "custom".
      custom: payloadCustomBag(item.fields, deps.customFields ?? ACTIVE_CUSTOM_FIELDS, prefix),
    });
    if (!parsed.success) throw validationError(issuesOf(parsed.error, prefix));
    return { leadId: item.id, payload: { lead: parsed.data, fields: item.fields } };
  });
}

/**
 * POST /v1/score without the HTTP framework: a parsed body and an authenticated caller in, the answer out;
 * ApiError for what the caller can fix. The online bench serves this same function on fastify to compare.
 */
export async function scoreRequest(
  deps: RouteDeps,
  body: unknown,
  caller: Caller,
  requestId: string,
  started: number,
  traceContext?: Context,
): Promise<{ requestId: string; modelVersion: string; scoredAt: string; scores: ScoreOutcome[] }> {
  const regionless: { id: string; at: string }[] = [];
  const inputs = scoreInputsOf(body, deps, caller, regionless);
  await refuseRegionlessPayloads(regionless, deps.store, deps.region);
  const ctx = {
    requestId,
    caller: caller.id,
    deadlineAt: started + deps.config.deadlineMs,
    ...(traceContext ? { trace: traceContext } : {}),
  };
  const scores = await deps.scoring.score(inputs, ctx);
  const first = scores.find((s): s is LeadScore => s.status === 200);
  return {
    requestId,
    modelVersion: first?.source === 'model' ? first.modelVersion : deps.currentVersion(),
    scoredAt: first?.scoredAt ?? deps.now().toISOString(),
    scores,
  };
}

/** `{"object": "Lead", …}` is the lead request without the marker (the lead schemas are strict). */
function leadBody(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !('object' in body)) return body;
  const { object: _object, ...rest } = body as Record<string, unknown>;
  return rest;
}

export function scoreHandler(deps: RouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    requireJson(req);
    const caller = res.locals.caller as Caller;
    const requestId = String(res.locals.requestId);
    // The request's span carries the caller's X-Request-Id (Apex sends one per callout), so a trace is found
    // from the id in Salesforce's logs, the sidecar's logs and the audit log.
    const span = tracer.startSpan('POST /v1/score', {
      kind: SpanKind.SERVER,
      attributes: {
        'leadrank.request_id': requestId,
        'http.request.method': 'POST',
        'http.route': '/v1/score',
        'leadrank.caller': caller.id,
      },
    });
    try {
      if (isOpportunityRequest(req.body)) {
        if (!deps.opportunities)
          throw new ApiError(503, 'opportunity_scoring_unavailable', 'opportunity scoring is not configured');
        const answer = await scoreOpportunityRequest(
          deps.opportunities,
          req.body,
          caller,
          requestId,
          deps.region,
          deps.config.limits.maxLeadsPerRequest,
          deps.now(),
        );
        span.setAttribute('leadrank.opportunities', answer.scores.length);
        return sendJson(res, answer);
      }
      const answer = await scoreRequest(
        deps,
        leadBody(req.body),
        caller,
        requestId,
        started,
        trace.setSpan(context.active(), span),
      );
      span.setAttribute('leadrank.leads', answer.scores.length);
      sendJson(res, answer);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  };
}

export function worklistHandler(deps: RouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    const repId = parseOr400(repIdSchema, req.params.repId, 'repId');
    const query = parseOr400(worklistQuerySchema, { ...req.query }, 'query');
    if (!deps.worklists) throw new ApiError(503, 'worklists_unavailable', 'no worklist index is configured');
    const ctx = contextOf(req, res, deps, started);
    const plan = planFor(deps, repId, query.teamId);
    const indexStarted = performance.now();
    const candidates = await deps.worklists.index.candidatesFor(repId, query.territory ?? null);
    deps.metrics.storeLatency('worklistCandidates', (performance.now() - indexStarted) / 1000);
    const now = deps.now();
    const batch = deps.config.limits.maxLeadsPerRequest;
    const scoring = plan ? deps.experiments!.scoringFor(plan.shown, 'shown') : deps.scoring;
    const { scoredById, excluded, scored } = await scoreCandidates(scoring, candidates, ctx, batch);
    const ranked = rankWorklist(scored, deps.worklists.config, now, explorationRng(repId, now));
    res.json({
      requestId: ctx.requestId,
      repId,
      generatedAt: now.toISOString(),
      experiment: plan
        ? {
            experimentId: plan.experimentId,
            mode: plan.mode as 'shadow' | 'canary' | 'full',
            arm: plan.arm,
            ranking: rankingLabel(plan.shown),
          }
        : null,
      items: ranked.items.map((item) => {
        const s = scoredById.get(item.leadId)!;
        return {
          rank: item.rank,
          leadId: item.leadId,
          score: item.score,
          band: item.band,
          probability: item.probability,
          expectedValue: item.expectedValue,
          priority: item.priority,
          source: item.source,
          reasons: s.reasons,
          reasonLines: s.reasonLines,
          nextBestAction: item.nextBestAction,
          exploration: item.exploration,
          why: item.why,
          modelVersion: s.modelVersion,
          scoredAt: s.scoredAt,
        };
      }),
      excluded: [...excluded, ...ranked.excluded],
    });
    if (!plan) return;
    // Exposure: what the rep was actually shown (shadow, halted and reverted record nothing).
    deps.experiments!.recordExposure({
      experimentId: plan.experimentId,
      repId,
      ...(query.teamId ? { teamId: query.teamId } : {}),
      leadIds: ranked.items.map((i) => i.leadId),
      fallbackLeadIds:
        plan.shown.kind === 'model'
          ? ranked.items.filter((i) => i.source === 'rules').map((i) => i.leadId)
          : [],
      at: now,
    });
    if (plan.shadow) {
      // After the answer: the rep never waits for, nor sees, the shadow ranking.
      const shadow = plan.shadow;
      const shown = ranked.items.map((i) => i.leadId);
      void shadowRanking(deps, shadow, candidates, ctx, batch, repId, now).then(
        (items) =>
          deps.experiments!.logger.info(
            {
              experimentId: plan.experimentId,
              requestId: ctx.requestId,
              repId,
              shownRanking: rankingLabel(plan.shown),
              shown,
              shadowRanking: rankingLabel(shadow),
              shadow: items,
            },
            'shadow ranking',
          ),
        (error: Error) =>
          deps.experiments!.logger.warn(
            { experimentId: plan.experimentId, requestId: ctx.requestId, err: error.message },
            'shadow ranking failed',
          ),
      );
    }
  };
}

/** The ranking the shadow arm would have shown: lead ids with score, rank and source only (no PII). */
async function shadowRanking(
  deps: RouteDeps,
  ranking: ArmRanking,
  candidates: readonly WorklistLead[],
  ctx: ScoreContext,
  batch: number,
  repId: string,
  now: Date,
) {
  const scoring = deps.experiments!.scoringFor(ranking, 'shadow');
  const { scored } = await scoreCandidates(scoring, candidates, ctx, batch);
  const ranked = rankWorklist(scored, deps.worklists!.config, now, explorationRng(repId, now));
  return ranked.items.map((i) => ({ leadId: i.leadId, rank: i.rank, score: i.score, source: i.source }));
}

export function exposuresHandler(deps: RouteDeps) {
  return (req: Request, res: Response): void => {
    requireJson(req);
    const body = parseOr400(exposureRequestSchema, req.body);
    const shown = new Set(body.leadIds);
    const strayFallback = (body.fallbackLeadIds ?? []).findIndex((id) => !shown.has(id));
    if (strayFallback >= 0)
      throw validationError([
        { path: `fallbackLeadIds[${strayFallback}]`, message: 'must be one of leadIds' },
      ]);
    const requestId = String(res.locals.requestId);
    let experimentId = body.experimentId ?? null;
    if (deps.experiments && experimentId === null) {
      try {
        experimentId = deps.experiments.servingFor(body.repId, body.teamId)?.experimentId ?? null;
      } catch (error) {
        if (!(error instanceof TeamRequiredError)) throw error;
        throw validationError([{ path: 'teamId', message: error.message }]);
      }
    }
    if (!deps.experiments || experimentId === null) {
      res.json({ requestId, recorded: false, experimentId: null, arm: null });
      return;
    }
    let arm: Arm | null;
    try {
      arm = deps.experiments.recordExposure({
        experimentId,
        repId: body.repId,
        ...(body.teamId ? { teamId: body.teamId } : {}),
        leadIds: body.leadIds,
        ...(body.fallbackLeadIds ? { fallbackLeadIds: body.fallbackLeadIds } : {}),
        at: new Date(body.at),
      });
    } catch (error) {
      if (error instanceof TeamRequiredError)
        throw validationError([{ path: 'teamId', message: error.message }]);
      if ((error as Error).message === `no experiment ${experimentId}`)
        throw new ApiError(404, 'experiment_not_found', `no experiment ${experimentId}`);
      throw error;
    }
    res.json({ requestId, recorded: arm !== null, experimentId, arm });
  };
}

export function eventsHandler(deps: RouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    requireJson(req);
    const body: unknown = req.body;
    const events: EngagementEvent[] =
      typeof body === 'object' && body !== null && 'events' in body
        ? parseOr400(eventsBatchSchema, body).events
        : [parseOr400(engagementEventSchema, body)];
    if (events.length > deps.config.limits.maxEventsPerRequest) {
      throw validationError([
        { path: 'events', message: `at most ${deps.config.limits.maxEventsPerRequest} events per request` },
      ]);
    }
    const foreign = events.findIndex((e) => e.region !== deps.region);
    if (foreign >= 0) throw regionRefusal(`events[${foreign}]`, events[foreign]!.region, deps.region);
    const ctx = contextOf(req, res, deps, started);

    const applyStarted = performance.now();
    let applied;
    try {
      applied = await deps.store.applyEvents(events);
    } catch (error) {
      if (!(error instanceof RefusedInputError)) throw error;
      throw validationError(error.refused.map((r) => ({ path: `events[${r.index}]`, message: r.reason })));
    }
    deps.metrics.storeLatency('applyEvents', (performance.now() - applyStarted) / 1000);
    deps.monitoring?.eventsArrived(deps.now());

    const unknown = new Set(applied.unknownLeads);
    const toRescore = applied.affectedLeadIds.filter((id) => !unknown.has(id));
    let queued = 0;
    const producer = {
      region: deps.region,
      materialChange: deps.config.materialChange,
      published: deps.published,
      queue: deps.writeback,
    };
    await rescoreAfterEvents(
      deps.scoring,
      toRescore,
      ctx,
      { batch: deps.config.limits.maxLeadsPerRequest, deadlineMs: deps.config.deadlineMs },
      async (fresh) => {
        const n = await queueMaterialChanges(producer, fresh);
        deps.metrics.writebackQueued(n);
        queued += n;
      },
    );
    res.json({
      requestId: ctx.requestId,
      applied: applied.applied,
      duplicates: applied.duplicates,
      unknownLeadIds: applied.unknownLeads,
      rescored: toRescore.length,
      writebackQueued: queued,
      writebackQueue: deps.writeback.name,
    });
  };
}

export function extractHandler(deps: RouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const kind = parseOr400(extractKindSchema, req.params.kind, 'kind');
    const format = extractFormatOf(req.headers['content-type']);
    if (!format) {
      throw new ApiError(
        415,
        'unsupported_media_type',
        'send the extract as text/csv or application/x-ndjson',
      );
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > deps.config.limits.extractBytes) {
      throw new ApiError(
        413,
        'body_too_large',
        `the extract is larger than ${deps.config.limits.extractBytes} bytes`,
      );
    }
    const started = performance.now();
    // Context rows come when values change, not daily: no freshness or volume expectation applies to them.
    const checker = kind === 'context' ? undefined : deps.monitoring?.extractRowChecker(kind);
    const result = await ingestExtract(req, kind, format, {
      store: deps.store,
      region: deps.region,
      maxBytes: deps.config.limits.extractBytes,
      writeChunkRows: deps.config.extracts.writeChunkRows,
      now: () => deps.now().getTime(),
      contexts: deps.contexts ?? contextDeclarations(LEAD_FEATURE_CONFIG),
      ...(checker ? { onValidRow: (row) => checker.addValid(row) } : {}),
    });
    deps.metrics.storeLatency(`extract_${kind}`, (performance.now() - started) / 1000);
    if (checker && result.extractDates) {
      const at = deps.now();
      await deps.monitoring!.extractDelivered(checker.summary(result.extractDates.to, at), at);
    }
    res.json({
      requestId: String(res.locals.requestId),
      kind,
      rows: result.rows,
      extractDates: result.extractDates,
    });
  };
}
