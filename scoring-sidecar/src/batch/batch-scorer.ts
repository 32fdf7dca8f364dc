// Scores a partition's leads in large batches: features (CRM row from the extract + events and extracts from
// the online store) -> one onnxruntime run per batch -> exact TreeSHAP only for leads whose explanation key
// changed (the rest reuse the cached reasons) -> reason lines -> next-best action. Without a model every lead
// gets the rules score, as Apex would write it. The same building blocks as the API's scoring service.
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { featureHash } from '../audit/index.js';
import { leadTimeZone, type RegionsConfig, type ScoringConfig } from '../config/index.js';
import { reasonsFor, type ReasonCatalogue } from '../explain/index.js';
import {
  computeFeatures,
  encodeFeatures,
  EventAggregates,
  type FeatureValue,
  type LeadProfile,
} from '../features/index.js';
import {
  chooseNextBestAction,
  scoreWithRules,
  type ActionCatalogue,
  type Band,
  type LeadRecord,
  type RuleSet,
} from '../model/rules/index.js';
import type { ServingModel } from '../scoring/model-source.js';
import { bandForScore } from '../scoring/scoring-service.js';
import type { OnlineFeatureStore, OnlineLeadState, Region } from '../store/index.js';
import {
  decodeExplanation,
  encodeExplanation,
  type CachedExplanation,
  type ExplanationKeyer,
} from './explanation-key.js';
import type { ExplanationCache } from './state-store.js';

export type ScoreSourceLabel = 'Model' | 'Rules';

/** One lead's new values, in the form the Salesforce fields take. */
export interface ScoredLead {
  leadId: string;
  score: number;
  band: Band;
  /** Signed reason lines, strongest first ("+ text" from the model; "+15 text" from rules, as Apex writes). */
  reasonLines: string[];
  /** "<label>: <rationale>" or null. */
  nextBestAction: string | null;
  source: ScoreSourceLabel;
  modelVersion: string;
  featureHash: string;
}

export interface LeadToScore {
  profile: LeadProfile;
  /** Every extracted field, typed, as the rules and the action catalogue read them. */
  record: LeadRecord;
}

export interface ScoreStats {
  scored: number;
  modelRows: number;
  rulesRows: number;
  explained: number;
  explanationsReused: number;
  featuresMs: number;
  inferenceMs: number;
  explainMs: number;
}

export const emptyScoreStats = (): ScoreStats => ({
  scored: 0,
  modelRows: 0,
  rulesRows: 0,
  explained: 0,
  explanationsReused: 0,
  featuresMs: 0,
  inferenceMs: 0,
  explainMs: 0,
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

export class BatchScorer {
  constructor(private readonly o: BatchScorerOptions) {}

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
    for (let start = 0; start < leads.length; start += this.o.batchRows) {
      const batch = leads.slice(start, start + this.o.batchRows);
      const scored = this.o.model
        ? await this.scoreWithModel(this.o.model, batch, asOf, stats)
        : this.scoreWithRules(batch, asOf);
      for (const s of scored) out.push(s);
      stats.scored += batch.length;
      if (!this.o.model) stats.rulesRows += batch.length;
    }
    return out;
  }

  private async statesOf(leads: readonly LeadToScore[]): Promise<(OnlineLeadState | null)[]> {
    if (!this.o.store) return leads.map(() => null);
    return this.o.store.getLeadStates(leads.map((l) => l.profile.Id));
  }

  private async scoreWithModel(
    model: NonNullable<BatchScorerOptions['model']>,
    leads: readonly LeadToScore[],
    asOf: Date,
    stats: ScoreStats,
  ): Promise<ScoredLead[]> {
    const { serving, keyer } = model;
    const spec = serving.onnx.spec;
    const width = spec.features.length;
    const asOfMs = asOf.getTime();
    let t = performance.now();
    const stored = await this.statesOf(leads);
    const raws: FeatureValue[][] = [];
    const vectors: (number | null)[][] = [];
    const rows = new Float32Array(leads.length * width);
    leads.forEach((lead, r) => {
      const s = stored[r];
      const raw = computeFeatures(
        serving.features,
        {
          lead: lead.profile,
          events: s?.events ?? new EventAggregates(),
          erp: s?.erp ?? null,
          marketing: s?.marketing ?? null,
        },
        asOfMs,
      );
      const vector = encodeFeatures(spec, raw);
      raws.push(raw);
      vectors.push(vector);
      for (let c = 0; c < width; c++) rows[r * width + c] = vector[c] ?? NaN;
    });
    stats.featuresMs += performance.now() - t;

    t = performance.now();
    const probabilities = await serving.onnx.predict(rows, leads.length);
    stats.inferenceMs += performance.now() - t;
    if (probabilities.some((p) => !Number.isFinite(p)))
      throw new Error('model returned a non-finite probability');
    stats.modelRows += leads.length;

    t = performance.now();
    const explanations = await this.explanations(serving, keyer, leads, vectors, stats);
    stats.explainMs += performance.now() - t;

    return leads.map((lead, r) => {
      const score = serving.toScore(probabilities[r]!);
      const band = bandForScore(score, this.o.bands);
      const contributions = new Float64Array(width);
      for (const c of explanations[r]!.contributions) contributions[c.index] = c.value;
      const made = reasonsFor(contributions, raws[r]!, spec, this.o.catalogue, { top: this.o.topReasons });
      const lines = [...made.positive, ...made.negative]
        .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
        .map((x) => `${x.contribution > 0 ? '+' : '-'} ${x.text}`);
      return {
        leadId: lead.profile.Id,
        score,
        band,
        reasonLines: lines,
        nextBestAction: this.nextBestAction(
          lead,
          score,
          band,
          made.positive.map((x) => x.text),
          asOf,
        ),
        source: 'Model',
        modelVersion: serving.version,
        featureHash: featureHash(vectors[r]!, spec.hash),
      };
    });
  }

  /** Cached explanations where the key still matches; exact TreeSHAP (batch path) for the others. */
  private async explanations(
    serving: ServingModel,
    keyer: ExplanationKeyer,
    leads: readonly LeadToScore[],
    vectors: (number | null)[][],
    stats: ScoreStats,
  ): Promise<CachedExplanation[]> {
    const width = serving.onnx.spec.features.length;
    const keys = vectors.map((v) => keyer.keyOf(v));
    const cached = await this.o.explanations.get(leads.map((l) => l.profile.Id));
    const result: CachedExplanation[] = new Array(leads.length);
    const stale: number[] = [];
    cached.forEach((data, r) => {
      const entry = data ? decodeExplanation(data) : null;
      if (entry && entry.key === keys[r]) result[r] = entry;
      else stale.push(r);
    });
    stats.explanationsReused += leads.length - stale.length;
    const updates: { leadId: string; value: Buffer }[] = [];
    const step = this.o.explainYieldRows;
    for (let start = 0; start < stale.length; start += step) {
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
      await yieldToLoop(); // keeps queue locks renewed during long partitions
    }
    await this.o.explanations.set(updates);
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

  private scoreWithRules(leads: readonly LeadToScore[], asOf: Date): ScoredLead[] {
    const ruleHash = featureHash([], `rules:${this.o.ruleSet.version}`);
    return leads.map((lead) => {
      const rules = scoreWithRules(this.o.ruleSet, lead.record, asOf);
      const positive = rules.firedRules.filter((f) => f.points >= 0).map((f) => f.reasonText);
      return {
        leadId: lead.profile.Id,
        score: rules.score,
        band: rules.band,
        reasonLines: rules.firedRules.map((f) => `${f.points >= 0 ? '+' : ''}${f.points} ${f.reasonText}`),
        nextBestAction: this.nextBestAction(lead, rules.score, rules.band, positive, asOf),
        source: 'Rules',
        modelVersion: rules.ruleSetVersion,
        featureHash: ruleHash,
      };
    });
  }

  private nextBestAction(
    lead: LeadToScore,
    score: number,
    band: Band,
    reasons: string[],
    asOf: Date,
  ): string | null {
    const zone = leadTimeZone(this.o.regions, this.o.region, lead.profile.Country);
    const action = chooseNextBestAction(this.o.actions, { score, band, reasons }, lead.record, asOf, zone);
    return action ? `${action.label}: ${action.rationale}` : null;
  }
}
