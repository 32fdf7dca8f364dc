// The /v1 routes: score, worklists, events, extracts. Each answers 4xx for what the caller can fix, refuses
// records of the other region with 403 before anything is stored, and never logs a body.
import { performance } from 'node:perf_hooks';
import type { Request, Response } from 'express';
import type { ScoringConfig } from '../config/index.js';
import { engagementEventSchema, leadProfileSchema, type EngagementEvent } from '../features/index.js';
import {
  explorationRng,
  rankWorklist,
  type ClosableWorklistIndex,
  type RankingConfig,
  type ScoredCandidate,
  type WorklistIndex,
} from '../ranking/index.js';
import type { LeadScore, ScoreInput, ScoringService } from '../scoring/scoring-service.js';
import {
  isMaterialChange,
  writebackJobOf,
  type PublishedScores,
  type WritebackQueue,
} from '../scoring/writeback.js';
import { RefusedInputError, type OnlineFeatureStore, type Region } from '../store/index.js';
import type { Caller } from './auth.js';
import { ApiError, issuesOf, parseOr400, regionRefusal, validationError } from './errors.js';
import { extractFormatOf, ingestExtract } from './extract-ingest.js';
import type { ApiMetrics } from './metrics.js';
import {
  eventsBatchSchema,
  extractKindSchema,
  repIdSchema,
  scoreBatchRequestSchema,
  scoreLeadRequestSchema,
  worklistQuerySchema,
} from './schemas.js';

export interface RouteDeps {
  region: Region;
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
}

function contextOf(req: Request, res: Response, deps: RouteDeps, started: number) {
  const caller = res.locals.caller as Caller;
  return {
    requestId: String(res.locals.requestId),
    caller: caller.id,
    deadlineAt: started + deps.config.deadlineMs,
  };
}

function requireJson(req: Request): void {
  if (!req.is('application/json'))
    throw new ApiError(415, 'unsupported_media_type', 'the body must be application/json');
}

/** Score items -> scoring inputs; a payload's fields are parsed as a lead profile (field paths in errors). */
function scoreInputsOf(body: unknown, deps: RouteDeps, caller: Caller): ScoreInput[] {
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
    const fieldRegion = item.fields?.Data_Region__c;
    const region =
      item.region ?? (fieldRegion === null || fieldRegion === undefined ? undefined : fieldRegion);
    if (region !== undefined && region !== deps.region) {
      if (region === 'US' || region === 'EU') throw regionRefusal(`lead ${item.id}`, region, deps.region);
      throw validationError([
        { path: `${at ? `${at}.` : ''}fields.Data_Region__c`, message: 'must be US or EU' },
      ]);
    }
    if (!item.fields) return { leadId: item.id };
    // A lead without Data_Region__c belongs to the caller's region (Apex sends each region to its own deployment).
    const parsed = leadProfileSchema.safeParse({
      ...item.fields,
      Id: item.id,
      Data_Region__c: region ?? caller.region,
    });
    if (!parsed.success) throw validationError(issuesOf(parsed.error, `${at ? `${at}.` : ''}fields`));
    return { leadId: item.id, payload: { lead: parsed.data, fields: item.fields } };
  });
}

export function scoreHandler(deps: RouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    requireJson(req);
    const inputs = scoreInputsOf(req.body, deps, res.locals.caller as Caller);
    const ctx = contextOf(req, res, deps, started);
    const scores = await deps.scoring.score(inputs, ctx);
    const first = scores.find((s): s is LeadScore => s.status === 200);
    res.json({
      requestId: ctx.requestId,
      modelVersion: first?.source === 'model' ? first.modelVersion : deps.currentVersion(),
      scoredAt: first?.scoredAt ?? deps.now().toISOString(),
      scores,
    });
  };
}

export function worklistHandler(deps: RouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    const repId = parseOr400(repIdSchema, req.params.repId, 'repId');
    const query = parseOr400(worklistQuerySchema, { ...req.query }, 'query');
    if (!deps.worklists) throw new ApiError(503, 'worklists_unavailable', 'no worklist index is configured');
    const ctx = contextOf(req, res, deps, started);
    const indexStarted = performance.now();
    const candidates = await deps.worklists.index.candidatesFor(repId, query.territory ?? null);
    deps.metrics.storeLatency('worklistCandidates', (performance.now() - indexStarted) / 1000);
    const now = deps.now();
    const scoredById = new Map<string, LeadScore>();
    const excluded: { leadId: string; why: string }[] = [];
    const scored: ScoredCandidate[] = [];
    const batch = deps.config.limits.maxLeadsPerRequest;
    for (let start = 0; start < candidates.length; start += batch) {
      const chunk = candidates.slice(start, start + batch);
      const outcomes = await deps.scoring.score(
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
    const ranked = rankWorklist(scored, deps.worklists.config, now, explorationRng(repId, now));
    res.json({
      requestId: ctx.requestId,
      repId,
      generatedAt: now.toISOString(),
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

    const unknown = new Set(applied.unknownLeads);
    const toRescore = applied.affectedLeadIds.filter((id) => !unknown.has(id));
    let queued = 0;
    const batch = deps.config.limits.maxLeadsPerRequest;
    for (let start = 0; start < toRescore.length; start += batch) {
      const ids = toRescore.slice(start, start + batch);
      // Rescoring after the write: no deadline pressure from the caller, so the model gets its full budget.
      const scores = await deps.scoring.score(
        ids.map((leadId) => ({ leadId })),
        { ...ctx, deadlineAt: performance.now() + deps.config.deadlineMs },
      );
      const fresh = scores.filter((s): s is LeadScore => s.status === 200);
      const previous = await deps.published.get(fresh.map((s) => s.leadId));
      const jobs = fresh.flatMap((s, i) => {
        const prev = previous[i] ?? null;
        return isMaterialChange(prev, s, deps.config.materialChange)
          ? [writebackJobOf(s, deps.region, prev)]
          : [];
      });
      await deps.writeback.add(jobs);
      await deps.published.set(jobs.map((j) => ({ leadId: j.leadId, score: j.score, band: j.band })));
      deps.metrics.writebackQueued(jobs.length);
      queued += jobs.length;
    }
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
    const result = await ingestExtract(req, kind, format, {
      store: deps.store,
      region: deps.region,
      maxBytes: deps.config.limits.extractBytes,
      writeChunkRows: deps.config.extracts.writeChunkRows,
      now: () => deps.now().getTime(),
    });
    deps.metrics.storeLatency(`extract_${kind}`, (performance.now() - started) / 1000);
    res.json({
      requestId: String(res.locals.requestId),
      kind,
      rows: result.rows,
      extractDates: result.extractDates,
    });
  };
}
