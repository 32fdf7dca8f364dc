// The batch door to the scoring pipeline (scoring/pipeline.ts): a partition's leads in large batches, one
// onnxruntime run per batch, and exact TreeSHAP only for leads whose explanation key changed (the rest reuse
// the cached contributions). Without a model every lead gets the rules score, as Apex would write it.
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { RegionsConfig, ScoringConfig } from '../config/index.js';
import type { ReasonCatalogue } from '../explain/index.js';
import { EventAggregates, type LeadProfile, type Region } from '../inputs/index.js';
import {
  isEligible,
  type ActionCatalogue,
  type Band,
  type LeadRecord,
  type RuleSet,
} from '../model/index.js';
import {
  checkProbabilities,
  ScoringPipeline,
  type PipelineLead,
  type PipelineScore,
  type ScoreSource,
  type ServingModel,
  type StageTimer,
} from '../scoring/index.js';
import type { OnlineFeatureStore, OnlineLeadState } from '../store/index.js';
import {
  decodeExplanation,
  encodeExplanation,
  type CachedExplanation,
  type ExplanationKeyer,
} from './explanation-key.js';
import type { ExplanationCache } from './state-store.js';

/** One lead's new values (the pipeline's score, with the action in the form Next_Best_Action__c takes). */
export interface ScoredLead {
  leadId: string;
  score: number;
  band: Band;
  /** Calibrated P(convert within 30 days); null when scored by rules (they give no probability). */
  probability: number | null;
  /** Signed reason lines, strongest first ("+ text" from the model; "+15 text" from rules, as Apex writes). */
  reasonLines: string[];
  /** "<label>: <rationale>" or null. */
  nextBestAction: string | null;
  source: ScoreSource;
  modelVersion: string;
  featureHash: string;
  /** The model input vector the score was computed from (absent for rules scores): drift monitoring reads it. */
  vector?: readonly (number | null)[];
}

export interface LeadToScore {
  profile: LeadProfile;
  /** Every extracted field, typed, as the rules and the action catalogue read them. */
  record: LeadRecord;
}

/** Row counts and the time of each sub-stage of the scoring stage (ms, summed over batches). */
export interface ScoreStats {
  scored: number;
  modelRows: number;
  rulesRows: number;
  explained: number;
  explanationsReused: number;
  /** Unpacking the stored partition rows into leads (cycle). */
  decodeMs: number;
  /** Redis reads: events and extracts from the online store and the cached explanations, side by side. */
  storeReadMs: number;
  /** Feature values and the model's input vectors. */
  featuresMs: number;
  /** onnxruntime runs. */
  inferenceMs: number;
  /** Explanation keys, decoding the cached reasons and writing new ones. */
  explainCacheMs: number;
  /** Exact TreeSHAP of the leads whose key changed (and picking their reason contributions). */
  explainMs: number;
  /** Scores, bands and reason texts. */
  reasonsMs: number;
  /** Next-best actions. */
  actionsMs: number;
  /** Audit feature hashes. */
  hashMs: number;
  /** Rules scores (no model). */
  rulesMs: number;
  /** Material-change checks and the change rows (cycle). */
  deltaMs: number;
  /** Packing and storing the partition's changes, scores and result (cycle). */
  resultWriteMs: number;
  /** Shadow scoring with the challenger (features and inference only). */
  shadowRows: number;
  shadowMs: number;
}

export const emptyScoreStats = (): ScoreStats => ({
  scored: 0,
  modelRows: 0,
  rulesRows: 0,
  explained: 0,
  explanationsReused: 0,
  decodeMs: 0,
  storeReadMs: 0,
  featuresMs: 0,
  inferenceMs: 0,
  explainCacheMs: 0,
  explainMs: 0,
  reasonsMs: 0,
  actionsMs: 0,
  hashMs: 0,
  rulesMs: 0,
  deltaMs: 0,
  resultWriteMs: 0,
  shadowRows: 0,
  shadowMs: 0,
});

export interface BatchScorerOptions {
  region: Region;
  /** The cycle's model; null scores every lead with the rules. */
  model: { serving: ServingModel; keyer: ExplanationKeyer } | null;
  ruleSet: RuleSet;
  actions: ActionCatalogue;
  regions: RegionsConfig;
  bands: ScoringConfig['bands'];
  topReasons: number;
  catalogue: ReasonCatalogue;
  explanations: ExplanationCache;
  /** Events and extracts per lead; without one, leads have no engagement or extract data. */
  store: OnlineFeatureStore | null;
  batchRows: number;
  explainYieldRows: number;
}

/** What Redis holds for the leads being scored: online-store state and cached explanations, by position. */
interface StoredInputs {
  states: readonly (OnlineLeadState | null)[];
  cached: readonly (Buffer | null)[];
}

const sliceInputs = (i: StoredInputs, start: number, end: number): StoredInputs => ({
  states: i.states.slice(start, end),
  cached: i.cached.slice(start, end),
});

export class BatchScorer {
  /** The action catalogue as it stands at one instant, per time zone (see `actionsAt`). */
  private actionsByZone = new Map<string, ActionCatalogue>();
  private actionsInstant = NaN;
  private readonly pipeline: ScoringPipeline;

  constructor(private readonly o: BatchScorerOptions) {
    this.pipeline = new ScoringPipeline({
      region: o.region,
      regions: o.regions,
      bands: o.bands,
      topReasons: o.topReasons,
      catalogue: o.catalogue,
      ruleSet: o.ruleSet,
      actionsFor: (asOf, zone) => this.actionsAt(asOf, zone),
    });
  }

  /** Releases the model's onnxruntime session. */
  async close(): Promise<void> {
    await this.o.model?.serving.onnx.close();
  }

  async score(
    leads: readonly LeadToScore[],
    asOf: Date,
    stats: ScoreStats = emptyScoreStats(),
  ): Promise<ScoredLead[]> {
    const out: ScoredLead[] = [];
    let inputs: StoredInputs | null = null;
    if (this.o.model) {
      // Both Redis reads for the whole call at once, side by side: one round trip each, not two per batch.
      const t = performance.now();
      const [states, cached] = await Promise.all([
        this.statesOf(leads),
        this.o.explanations.get(leads.map((l) => l.profile.Id)),
      ]);
      inputs = { states, cached };
      stats.storeReadMs += performance.now() - t;
    }
    for (let start = 0; start < leads.length; start += this.o.batchRows) {
      const end = Math.min(start + this.o.batchRows, leads.length);
      const batch = leads.slice(start, end);
      const scored =
        this.o.model && inputs
          ? await this.scoreWithModel(this.o.model, batch, sliceInputs(inputs, start, end), asOf, stats)
          : this.scoreWithRules(batch, asOf, stats);
      for (const s of scored) out.push(s);
      stats.scored += batch.length;
      if (!this.o.model) stats.rulesRows += batch.length;
    }
    return out;
  }

  /**
   * Inference only (features and onnxruntime; no explanations, reasons or actions): what a shadow model needs
   * to be compared with the shown scores at a fraction of the cost. Needs a model.
   */
  async predict(
    leads: readonly LeadToScore[],
    asOf: Date,
    stats: ScoreStats = emptyScoreStats(),
  ): Promise<{ score: number; probability: number }[]> {
    const model = this.o.model;
    if (!model) throw new Error('predict needs a model');
    const started = performance.now();
    const serving = model.serving;
    const states = await this.statesOf(leads);
    const out: { score: number; probability: number }[] = [];
    for (let start = 0; start < leads.length; start += this.o.batchRows) {
      const end = Math.min(start + this.o.batchRows, leads.length);
      const batch = pipelineLeads(leads.slice(start, end), states.slice(start, end));
      const encoded = this.pipeline.encode(serving, batch, asOf.getTime());
      const probabilities = await serving.onnx.predict(encoded.rows, end - start);
      checkProbabilities(probabilities);
      for (const p of probabilities) out.push({ score: serving.toScore(p), probability: p });
    }
    stats.shadowRows += leads.length;
    stats.shadowMs += performance.now() - started;
    return out;
  }

  private async statesOf(leads: readonly LeadToScore[]): Promise<(OnlineLeadState | null)[]> {
    if (!this.o.store) return leads.map(() => null);
    return this.o.store.getLeadStates(leads.map((l) => l.profile.Id));
  }

  private async scoreWithModel(
    model: NonNullable<BatchScorerOptions['model']>,
    leads: readonly LeadToScore[],
    inputs: StoredInputs,
    asOf: Date,
    stats: ScoreStats,
  ): Promise<ScoredLead[]> {
    const { serving, keyer } = model;
    const timer = timerInto(stats);
    const batch = pipelineLeads(leads, inputs.states);
    const encoded = this.pipeline.encode(serving, batch, asOf.getTime(), timer);

    const t = performance.now();
    const probabilities = await serving.onnx.predict(encoded.rows, leads.length);
    stats.inferenceMs += performance.now() - t;
    checkProbabilities(probabilities);
    stats.modelRows += leads.length;

    const explanations = await this.explanations(
      serving,
      keyer,
      leads,
      encoded.vectors,
      inputs.cached,
      stats,
    );
    // The cache keeps only the contributions a reason can use; the pipeline reads them one row at a time, so
    // one buffer serves every row (the previous row's entries are cleared before the next row's are set).
    const buffer = new Float64Array(encoded.spec.features.length);
    let previous: CachedExplanation['contributions'] = [];
    const contributions = (r: number) => {
      for (const c of previous) buffer[c.index] = 0;
      previous = explanations[r]!.contributions;
      for (const c of previous) buffer[c.index] = c.value;
      return buffer;
    };
    const scores = this.pipeline.withModel(
      serving,
      batch,
      encoded,
      probabilities,
      contributions,
      asOf,
      timer,
    );
    return scores.map((s, r) => scoredLead(leads[r]!, s, encoded.vectors[r]!));
  }
  /** Cached explanations where the key still matches; exact TreeSHAP (batch path) for the others. */
  private async explanations(
    serving: ServingModel,
    keyer: ExplanationKeyer,
    leads: readonly LeadToScore[],
    vectors: (number | null)[][],
    cached: readonly (Buffer | null)[],
    stats: ScoreStats,
  ): Promise<CachedExplanation[]> {
    const width = serving.onnx.spec.features.length;
    let t = performance.now();
    const keys = vectors.map((v) => keyer.keyOf(v));
    const result: CachedExplanation[] = new Array(leads.length);
    const stale: number[] = [];
    cached.forEach((data, r) => {
      const entry = data ? decodeExplanation(data) : null;
      if (entry && entry.key === keys[r]) result[r] = entry;
      else stale.push(r);
    });
    stats.explanationsReused += leads.length - stale.length;
    stats.explainCacheMs += performance.now() - t;
    const updates: { leadId: string; value: Buffer }[] = [];
    const step = this.o.explainYieldRows;
    for (let start = 0; start < stale.length; start += step) {
      t = performance.now();
      const block = stale.slice(start, start + step);
      const rows = new Float64Array(block.length * width);
      block.forEach((r, i) => {
        const v = vectors[r]!;
        for (let c = 0; c < width; c++) rows[i * width + c] = v[c] ?? NaN;
      });
      const phi = serving.explainer.explainBatch(rows, block.length);
      block.forEach((r, i) => {
        const row = phi.subarray(i * (width + 1), i * (width + 1) + width);
        const entry: CachedExplanation = { key: keys[r]!, contributions: this.reasonContributions(row) };
        result[r] = entry;
        updates.push({ leadId: leads[r]!.profile.Id, value: encodeExplanation(entry) });
      });
      stats.explained += block.length;
      stats.explainMs += performance.now() - t;
      await yieldToLoop(); // keeps queue locks renewed during long partitions
    }
    t = performance.now();
    await this.o.explanations.set(updates);
    stats.explainCacheMs += performance.now() - t;
    return result;
  }

  /** The contributions reasonsFor would pick (top per direction above the threshold): all a reason needs. */
  private reasonContributions(phi: Float64Array): CachedExplanation['contributions'] {
    const threshold = this.o.catalogue.minContribution;
    const strong: { index: number; value: number }[] = [];
    for (let i = 0; i < phi.length; i++) {
      const v = phi[i]!;
      if (v !== 0 && Math.abs(v) >= threshold) strong.push({ index: i, value: v });
    }
    strong.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
    const top = this.o.topReasons;
    let pos = 0;
    let neg = 0;
    const kept = strong.filter((s) => (s.value > 0 ? pos++ < top : neg++ < top));
    return kept.sort((a, b) => a.index - b.index);
  }

  private scoreWithRules(leads: readonly LeadToScore[], asOf: Date, stats: ScoreStats): ScoredLead[] {
    const batch = pipelineLeads(leads, null);
    return this.pipeline
      .withRules(batch, asOf, null, timerInto(stats))
      .map((s, r) => scoredLead(leads[r]!, s));
  }

  /**
   * The catalogue with working hours already settled for `zone` at `asOf` (actions outside them dropped, the
   * others without the check): the same choice for every lead, but the local weekday and hour (an
   * Intl.DateTimeFormat per call, ~12 µs) are worked out once per zone and cycle instead of once per lead.
   */
  private actionsAt(asOf: Date, zone: string): ActionCatalogue {
    if (asOf.getTime() !== this.actionsInstant) {
      this.actionsByZone = new Map();
      this.actionsInstant = asOf.getTime();
    }
    let settled = this.actionsByZone.get(zone);
    if (!settled) {
      const catalogue = this.o.actions;
      settled = {
        ...catalogue,
        actions: catalogue.actions.flatMap((a) => {
          const { workingHours, ...always } = a.eligibility;
          if (!workingHours) return [a];
          const band = a.eligibility.bands[0];
          if (band === undefined) return []; // no band: never eligible
          const open = isEligible({ bands: [band], conditions: [], workingHours }, band, {}, asOf, zone);
          return open ? [{ ...a, eligibility: always }] : [];
        }),
      };
      this.actionsByZone.set(zone, settled);
    }
    return settled;
  }
}

/** The leads as the pipeline reads them: the extracted CRM row plus what the online store holds (if anything). */
function pipelineLeads(
  leads: readonly LeadToScore[],
  states: readonly (OnlineLeadState | null | undefined)[] | null,
): PipelineLead[] {
  return leads.map((lead, r) => {
    const s = states?.[r];
    return {
      inputs: {
        lead: lead.profile,
        events: s?.events ?? new EventAggregates(),
        erp: s?.erp ?? null,
        marketing: s?.marketing ?? null,
      },
      record: lead.record,
    };
  });
}

function scoredLead(lead: LeadToScore, s: PipelineScore, vector?: readonly (number | null)[]): ScoredLead {
  const nba = s.nextBestAction;
  return {
    leadId: lead.profile.Id,
    score: s.score,
    band: s.band,
    probability: s.probability,
    reasonLines: s.reasonLines,
    nextBestAction: nba ? `${nba.label}: ${nba.rationale}` : null,
    source: s.source,
    modelVersion: s.modelVersion,
    featureHash: s.featureHash,
    ...(vector ? { vector } : {}),
  };
}

/** Adds the pipeline's stage times to the scoring stage's statistics. */
function timerInto(stats: ScoreStats): StageTimer {
  return (stage, ms) => {
    if (stage === 'features') stats.featuresMs += ms;
    else if (stage === 'reasons') stats.reasonsMs += ms;
    else if (stage === 'actions') stats.actionsMs += ms;
    else if (stage === 'hash') stats.hashMs += ms;
    else stats.rulesMs += ms;
  };
}
