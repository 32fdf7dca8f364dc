// The online door to the scoring pipeline (pipeline.ts): one store read per request batch, inference and
// TreeSHAP micro-batched across concurrent requests, the rules whenever the model cannot answer by the deadline,
// and every score appended to the audit log.
import { performance } from 'node:perf_hooks';
import type { RegionsConfig, ScoringConfig } from '../config/index.js';
import { EXPLAIN_BLOCK_ROWS, type ReasonCatalogue } from '../explain/index.js';
import { EventAggregates, type LeadProfile, type Region } from '../inputs/index.js';
import type { ActionCatalogue, Band, RuleSet } from '../model/index.js';
import { context, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { OnlineFeatureStore, OnlineLeadState } from '../store/index.js';
import { MicroBatcher } from './micro-batcher.js';
import { TIMED_OUT, withinBudget } from './store-budget.js';
import type { ModelSource, ServingModel } from './model-source.js';
import {
  checkProbabilities,
  ScoringPipeline,
  type Encoded,
  type NextBestActionResult,
  type PipelineLead,
  type PipelineScore,
  type Reason,
  type ScoreSource,
} from './pipeline.js';

export type { NextBestActionResult, Reason, ScoreSource } from './pipeline.js';
export type FallbackReason =
  'no_model' | 'model_unavailable' | 'model_error' | 'deadline' | 'store_unavailable';

/**
 * The online store did not answer a read within storeTimeoutMs (or failed it): id lookups cannot be scored.
 * The API answers 503 naming the store; payload scores fall back to the rules instead.
 */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}

export interface LeadScore {
  status: 200;
  leadId: string;
  score: number;
  band: Band;
  /** Calibrated P(convert within 30 days); null when scored by rules (they give no probability). */
  probability: number | null;
  reasons: Reason[];
  /** Signed lines ("+ text" from the model, "+15 text" from rules), the form Salesforce stores in Score_Reasons__c. */
  reasonLines: string[];
  nextBestAction: NextBestActionResult | null;
  source: ScoreSource;
  fallbackReason?: FallbackReason;
  /** Model version, or the rule set version when scored by rules. */
  modelVersion: string;
  featureHash: string;
  scoredAt: string;
  requestId: string;
}

export interface LeadNotFound {
  status: 404;
  leadId: string;
  error: { code: 'lead_not_found'; message: string };
}

export type ScoreOutcome = LeadScore | LeadNotFound;

/** A lead to score: by Id (features from the store) or with its fields (features computed from them). */
export interface ScoreInput {
  leadId: string;
  /** Parsed lead profile plus the raw fields (the rules read fields such as Status that are no features). */
  payload?: { lead: LeadProfile; fields: Readonly<Record<string, unknown>> };
}

export interface ScoreContext {
  requestId: string;
  caller: string;
  /** performance.now() by which inference must have answered, else rules (deadline). */
  deadlineAt: number;
  /** The request's trace context (its span): the stages' spans are its children. */
  trace?: Context;
}

const tracer = trace.getTracer('leadrank-scoring');

/** `work` inside a child span of the request's (a no-op span while tracing is off). */
async function traced<T>(name: string, ctx: ScoreContext, work: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name, undefined, ctx.trace ?? context.active());
  try {
    return await work();
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** Structurally the audit module's entry; no PII: ids, numbers and reason texts only. */
export interface ScoreAuditEntry {
  requestId: string;
  caller: string;
  leadId: string;
  region: Region;
  modelVersion: string;
  source: ScoreSource;
  fallbackReason?: string;
  featureVector: (number | null)[];
  featureNames?: string[];
  featureHash: string;
  score: number;
  band: string;
  probability: number;
  reasons: string[];
  nextBestAction?: string;
  scoredAt: string;
}

export interface AuditSink {
  append(entries: ScoreAuditEntry[]): Promise<void>;
}

export interface ScoringMetrics {
  scored(source: ScoreSource, count: number): void;
  fallback(reason: FallbackReason, count: number): void;
  storeLatency(operation: string, seconds: number): void;
  inferenceBatch(rows: number): void;
}

export interface ScoringServiceOptions {
  region: Region;
  store: OnlineFeatureStore;
  models: ModelSource;
  ruleSet: RuleSet;
  actions: ActionCatalogue;
  config: ScoringConfig;
  regions: RegionsConfig;
  audit: AuditSink;
  /** The reason texts (config/reasons). */
  catalogue: ReasonCatalogue;
  metrics?: ScoringMetrics;
  now?: () => Date;
}

export interface ScoringService {
  /** Scores in input order; one store round trip for the whole batch. */
  score(inputs: readonly ScoreInput[], ctx: ScoreContext): Promise<ScoreOutcome[]>;
}

const NO_METRICS: ScoringMetrics = {
  scored: () => {},
  fallback: () => {},
  storeLatency: () => {},
  inferenceBatch: () => {},
};

class DeadlineExceeded extends Error {}

/**
 * The SHAP values of recently explained signatures, least recently used evicted first (a Map keeps insertion
 * order: a hit is re-inserted). Hand-written: a few lines, where an LRU package would add a dependency for them.
 */
class ExplanationCache {
  private readonly entries = new Map<string, Float64Array>();
  constructor(private readonly capacity: number) {}

  get(signature: string): Float64Array | undefined {
    const hit = this.entries.get(signature);
    if (hit) {
      this.entries.delete(signature);
      this.entries.set(signature, hit);
    }
    return hit;
  }

  set(signature: string, phi: Float64Array): void {
    this.entries.delete(signature);
    this.entries.set(signature, phi);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** The lead as the rules and the action catalogue read it: raw payload fields, overlaid by the parsed profile. */
function pipelineLeadOf(state: OnlineLeadState, input: ScoreInput): PipelineLead {
  return { inputs: state, record: input.payload ? { ...input.payload.fields, ...state.lead } : state.lead };
}

class DefaultScoringService implements ScoringService {
  private readonly batchers = new WeakMap<
    ServingModel,
    { predict: MicroBatcher; explain: MicroBatcher<Float64Array>; cache: ExplanationCache | null }
  >();
  private readonly metrics: ScoringMetrics;
  private readonly now: () => Date;
  private readonly pipeline: ScoringPipeline;

  constructor(private readonly o: ScoringServiceOptions) {
    this.metrics = o.metrics ?? NO_METRICS;
    this.now = o.now ?? (() => new Date());
    this.pipeline = new ScoringPipeline({
      region: o.region,
      regions: o.regions,
      bands: o.config.bands,
      topReasons: o.config.reasons.top,
      catalogue: o.catalogue,
      ruleSet: o.ruleSet,
      actionsFor: () => o.actions,
    });
  }

  async score(inputs: readonly ScoreInput[], ctx: ScoreContext): Promise<ScoreOutcome[]> {
    if (inputs.length === 0) return [];
    const started = performance.now();
    const states = await traced('store.read', ctx, () => this.readStates(inputs, ctx));
    this.metrics.storeLatency('getLeadStates', (performance.now() - started) / 1000);
    if (states === null) return this.scoreWithoutStore(inputs, ctx);
    const now = this.now();
    const scoredAt = now.toISOString();

    // A payload lead the store does not hold still reads the region's dated context rows (one read, if any).
    const unheld = inputs.some((input, index) => input.payload && !states[index]);
    const sharedContext = unheld
      ? (states.find((s) => s?.context)?.context ?? (await this.o.store.contextLookup().catch(() => null)))
      : null;

    const outcomes: ScoreOutcome[] = new Array(inputs.length);
    const positions: number[] = [];
    const leads: PipelineLead[] = [];
    inputs.forEach((input, index) => {
      const stored = states[index] ?? null;
      if (!input.payload && !stored) {
        outcomes[index] = {
          status: 404,
          leadId: input.leadId,
          error: {
            code: 'lead_not_found',
            message: `no features for this lead in the ${this.o.region} store`,
          },
        };
        return;
      }
      // A payload brings the lead's fields; what only the sidecar knows (events, extracts) still comes from the store.
      const state: OnlineLeadState = input.payload
        ? {
            lead: input.payload.lead,
            events: stored?.events ?? new EventAggregates(),
            erp: stored?.erp ?? null,
            marketing: stored?.marketing ?? null,
            context: stored ? stored.context : sharedContext,
          }
        : stored!;
      positions.push(index);
      leads.push(pipelineLeadOf(state, input));
    });
    if (leads.length === 0) return outcomes;

    // A model source that cannot produce its model degrades to rules, never a 500.
    let model: ServingModel | null = null;
    let unavailable = false;
    try {
      model = this.o.models.current();
      unavailable = !model && this.o.models.status().unavailable === true;
    } catch {
      unavailable = true;
    }
    const noModel: FallbackReason = unavailable ? 'model_unavailable' : 'no_model';
    const { scores, encoded, fallback } = model
      ? await this.scoreWithModel(model, leads, now, ctx)
      : { scores: this.pipeline.withRules(leads, now, null), encoded: null, fallback: noModel };
    if (fallback) {
      this.metrics.scored('rules', leads.length);
      this.metrics.fallback(fallback, leads.length);
    } else this.metrics.scored('model', leads.length);

    const featureNames = encoded?.spec.features.map((f) => f.name);
    const entries: ScoreAuditEntry[] = new Array(scores.length);
    positions.forEach((index, i) => {
      const result = leadScoreOf(inputs[index]!.leadId, scores[i]!, fallback, scoredAt, ctx);
      outcomes[index] = result;
      entries[i] = this.auditEntry(result, ctx, encoded?.vectors[i] ?? [], featureNames);
    });
    await traced('audit.append', ctx, () => this.o.audit.append(entries));
    return outcomes;
  }

  /**
   * The stored states, or null when the store fails or does not answer within storeTimeoutMs (capped by the
   * request deadline): a store outage must answer fast, not after the Redis client's queue gives up.
   */
  private async readStates(
    inputs: readonly ScoreInput[],
    ctx: ScoreContext,
  ): Promise<(OnlineLeadState | null)[] | null> {
    const read = this.o.store.getLeadStates(inputs.map((i) => i.leadId));
    const budget = Math.min(this.o.config.storeTimeoutMs, Math.max(0, ctx.deadlineAt - performance.now()));
    try {
      const result = await withinBudget(read, budget);
      if (result === TIMED_OUT) {
        read.catch(() => {}); // the read may still fail after the outage: its late answer is dropped
        return null;
      }
      return result;
    } catch {
      return null;
    }
  }

  /** A store outage: payloads are scored by the rules from their fields alone; an id lookup cannot be. */
  private async scoreWithoutStore(inputs: readonly ScoreInput[], ctx: ScoreContext): Promise<ScoreOutcome[]> {
    const byId = inputs.filter((i) => !i.payload);
    if (byId.length > 0)
      throw new StoreUnavailable(
        `the ${this.o.region} online store (Redis) did not answer within ${this.o.config.storeTimeoutMs} ms; ` +
          `leads sent by id cannot be scored until it does (send their fields to score them by the rules)`,
      );
    const now = this.now();
    const scoredAt = now.toISOString();
    const leads = inputs.map((input) =>
      pipelineLeadOf(
        {
          lead: input.payload!.lead,
          events: new EventAggregates(),
          erp: null,
          marketing: null,
          context: null,
        },
        input,
      ),
    );
    const scores = this.pipeline.withRules(leads, now, null);
    this.metrics.scored('rules', leads.length);
    this.metrics.fallback('store_unavailable', leads.length);
    const outcomes = scores.map((score, i) =>
      leadScoreOf(inputs[i]!.leadId, score, 'store_unavailable', scoredAt, ctx),
    );
    await this.o.audit.append(outcomes.map((r) => this.auditEntry(r, ctx, [], undefined)));
    return outcomes;
  }

  /** The model's scores, or the rules' when it fails or misses the deadline (with the vectors it was given). */
  private async scoreWithModel(
    model: ServingModel,
    leads: PipelineLead[],
    now: Date,
    ctx: ScoreContext,
  ): Promise<{ scores: PipelineScore[]; encoded: Encoded; fallback: FallbackReason | null }> {
    const encoded = this.pipeline.encode(model, leads, now.getTime());
    const batchers = this.batchersFor(model);
    let probabilities: Float64Array;
    try {
      probabilities = await traced('model.inference', ctx, () =>
        this.withDeadline(batchers.predict.submit(encoded.rows, leads.length), ctx),
      );
      checkProbabilities(probabilities);
    } catch (error) {
      const fallback = error instanceof DeadlineExceeded ? 'deadline' : 'model_error';
      return { scores: this.pipeline.withRules(leads, now, encoded), encoded, fallback };
    }
    const width = encoded.spec.features.length;
    const phis = await traced('model.explain', ctx, () => this.explain(model, batchers, encoded.vectors));
    const contributions = (r: number) => phis.subarray(r * (width + 1), (r + 1) * (width + 1));
    const scores = this.pipeline.withModel(model, leads, encoded, probabilities, contributions, now);
    return { scores, encoded, fallback: null };
  }

  /**
   * SHAP values of the rows (width + 1 each): from the model's explanation cache when a row's signature is there
   * (rows with equal signatures get bit-identical values, explain/explanation-key.ts), else TreeSHAP, micro-batched.
   */
  private async explain(
    model: ServingModel,
    batchers: { explain: MicroBatcher<Float64Array>; cache: ExplanationCache | null },
    vectors: readonly (readonly (number | null)[])[],
  ): Promise<Float64Array> {
    const width = model.features.length;
    const out = new Float64Array(vectors.length * (width + 1));
    const cache = batchers.cache;
    const signatureOf = model.explainer.signatureOf;
    const signatures: string[] = [];
    const misses: number[] = [];
    for (let r = 0; r < vectors.length; r++) {
      const signature = cache && signatureOf ? signatureOf(vectors[r]!) : '';
      const hit = cache && signatureOf ? cache.get(signature) : undefined;
      if (hit) out.set(hit, r * (width + 1));
      else {
        misses.push(r);
        signatures.push(signature);
      }
    }
    if (misses.length === 0) return out;
    const rows = new Float64Array(misses.length * width);
    misses.forEach((r, i) => {
      const vector = vectors[r]!;
      for (let c = 0; c < width; c++) rows[i * width + c] = vector[c] ?? NaN;
    });
    const phis = await batchers.explain.submit(rows, misses.length);
    misses.forEach((r, i) => {
      const phi = phis.subarray(i * (width + 1), (i + 1) * (width + 1));
      out.set(phi, r * (width + 1));
      if (cache && signatureOf) cache.set(signatures[i]!, phi.slice());
    });
    return out;
  }

  private batchersFor(model: ServingModel): {
    predict: MicroBatcher;
    explain: MicroBatcher<Float64Array>;
    cache: ExplanationCache | null;
  } {
    let batchers = this.batchers.get(model);
    if (!batchers) {
      const width = model.features.length;
      batchers = {
        predict: new MicroBatcher((rows, n) => model.predict(rows, n), width, {
          ...this.o.config.microBatch,
          onRun: (rows) => this.metrics.inferenceBatch(rows),
        }),
        // The requests of one inference batch resume together: their rows go through each tree as one block,
        // which keeps that tree's TreeSHAP tables in cache (~30 % less CPU per row at 8+ rows).
        explain: new MicroBatcher<Float64Array>((rows, n) => model.explainer.explainBatch(rows, n), width, {
          windowMs: 0,
          maxRows: EXPLAIN_BLOCK_ROWS,
          outWidth: width + 1,
          rowType: Float64Array as new (length: number) => Float64Array,
        }),
        // Per model: a new version never reuses another's explanations.
        cache:
          this.o.config.explanationCache.entries > 0
            ? new ExplanationCache(this.o.config.explanationCache.entries)
            : null,
      };
      this.batchers.set(model, batchers);
    }
    return batchers;
  }

  private withDeadline<T>(work: Promise<T>, ctx: ScoreContext): Promise<T> {
    const remaining = ctx.deadlineAt - performance.now();
    if (remaining <= 0) {
      work.catch(() => {}); // the batch still runs; its late answer is dropped
      return Promise.reject(new DeadlineExceeded());
    }
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceeded()), remaining);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private auditEntry(
    r: LeadScore,
    ctx: ScoreContext,
    vector: (number | null)[],
    featureNames: string[] | undefined,
  ): ScoreAuditEntry {
    return {
      requestId: ctx.requestId,
      caller: ctx.caller,
      leadId: r.leadId,
      region: this.o.region,
      modelVersion: r.modelVersion,
      source: r.source,
      ...(r.fallbackReason ? { fallbackReason: r.fallbackReason } : {}),
      featureVector: vector,
      ...(featureNames ? { featureNames } : {}),
      featureHash: r.featureHash,
      score: r.score,
      band: r.band,
      // Rules give no probability; the audit records the score's scale instead (documented in docs/api.md).
      probability: r.probability ?? r.score / 100,
      reasons: r.reasonLines,
      ...(r.nextBestAction
        ? { nextBestAction: `${r.nextBestAction.label}: ${r.nextBestAction.rationale}` }
        : {}),
      scoredAt: r.scoredAt,
    };
  }
}

function leadScoreOf(
  leadId: string,
  s: PipelineScore,
  fallback: FallbackReason | null,
  scoredAt: string,
  ctx: ScoreContext,
): LeadScore {
  return {
    status: 200,
    leadId,
    score: s.score,
    band: s.band,
    probability: s.probability,
    reasons: s.reasons,
    reasonLines: s.reasonLines,
    nextBestAction: s.nextBestAction,
    source: s.source,
    ...(fallback ? { fallbackReason: fallback } : {}),
    modelVersion: s.modelVersion,
    featureHash: s.featureHash,
    scoredAt,
    requestId: ctx.requestId,
  };
}

export function createScoringService(options: ScoringServiceOptions): ScoringService {
  return new DefaultScoringService(options);
}
