// The scoring pipeline, once for both doors (POST /v1/score through scoring-service.ts, the batch cycle through
// batch/batch-scorer.ts): lead state → features → vector → predict → explain → band → reason lines →
// next-best action → feature hash. Batch-sized and pure; the two steps a door runs its own way are handed in:
// the probabilities (micro-batched under a deadline online, one onnxruntime run per batch offline) and the
// contributions (micro-batched TreeSHAP online, a key-checked explanation cache offline).
import { leadTimeZone, type RegionsConfig, type ScoringConfig } from '../config/index.js';
import { reasonsFor, type ReasonCatalogue } from '../explain/index.js';
import {
  computeFeatures,
  encodeFeatures,
  featureHash,
  type FeatureSpec,
  type FeatureValue,
} from '../features/index.js';
import type { FeatureInputs, Region } from '../inputs/index.js';
import {
  bandFor,
  chooseNextBestAction,
  scoreWithRules,
  type ActionCatalogue,
  type Band,
  type LeadRecord,
  type RuleSet,
} from '../model/index.js';
import type { ServingModel } from './model-source.js';

/** Who produced a score. Salesforce's Score_Source__c picklist spells these Model / Rules (mapped on write). */
export type ScoreSource = 'model' | 'rules';

export interface Reason {
  direction: 'positive' | 'negative';
  /** Model feature, or the rule's DeveloperName when scored by rules. */
  feature: string;
  /** Log-odds contribution (model) or points (rules). */
  contribution: number;
  /** The feature's value as a reader sees it (category text, number, yes/no); absent for rules. */
  value?: string | number | boolean | null;
  text: string;
}

export interface NextBestActionResult {
  action: string;
  label: string;
  rationale: string;
}

/** One lead to score. */
export interface PipelineLead {
  /** What the features read: the profile, event aggregates and extract rows. */
  inputs: FeatureInputs;
  /** The lead as the rules and the action catalogue read it (fields that are no features, such as Status). */
  record: LeadRecord;
}

export interface PipelineScore {
  score: number;
  band: Band;
  /** Calibrated P(convert within 30 days); null when scored by rules (they give no probability). */
  probability: number | null;
  /** Strongest first. */
  reasons: Reason[];
  /** `reasons` as the signed lines Salesforce stores in Score_Reasons__c (see `reasonLine`). */
  reasonLines: string[];
  nextBestAction: NextBestActionResult | null;
  source: ScoreSource;
  /** Model version, or the rule set version when scored by rules. */
  modelVersion: string;
  featureHash: string;
}

/** The leads' feature values and model input vectors, and the same vectors as one row-major block. */
export interface Encoded {
  spec: FeatureSpec;
  raws: FeatureValue[][];
  vectors: (number | null)[][];
  /** NaN = missing, as onnxruntime reads it. */
  rows: Float32Array;
}

/**
 * Row r's contributions in spec order (a bias term may follow). The pipeline asks for the rows in order and is
 * done with one before it asks for the next, so a door may hand out one reused buffer.
 */
export type Contributions = (row: number) => ArrayLike<number>;

/** Milliseconds per stage, for the batch's statistics; the online door passes none. */
export type StageTimer = (stage: 'features' | 'reasons' | 'actions' | 'hash' | 'rules', ms: number) => void;

export interface PipelineOptions {
  region: Region;
  regions: RegionsConfig;
  bands: ScoringConfig['bands'];
  /** Reasons per direction. */
  topReasons: number;
  catalogue: ReasonCatalogue;
  ruleSet: RuleSet;
  /**
   * The action catalogue for a lead's time zone at an instant. The batch settles working hours once per zone
   * and cycle; the choice is the same as with the whole catalogue.
   */
  actionsFor(asOf: Date, zone: string): ActionCatalogue;
}

/**
 * The one reason-line format: a sign, then the text; rules lines carry their points after the sign as Apex writes
 * them (`+15 Referred by a partner`), model lines only the sign (`+ Lead source: Employee Referral`).
 */
export function reasonLine(r: Reason, source: ScoreSource): string {
  if (source === 'rules') return `${r.contribution >= 0 ? '+' : ''}${r.contribution} ${r.text}`;
  return `${r.direction === 'positive' ? '+' : '-'} ${r.text}`;
}

/** Throws when the model answered something that is no probability (a broken export, a NaN from the runtime). */
export function checkProbabilities(probabilities: Float64Array): void {
  if (probabilities.some((p) => !Number.isFinite(p)))
    throw new Error('model returned a non-finite probability');
}

const now = (timer: StageTimer | undefined): number => (timer ? performance.now() : 0);

export class ScoringPipeline {
  constructor(private readonly o: PipelineOptions) {}

  /** Features and model input vectors of `leads` at `asOfMs`. */
  encode(model: ServingModel, leads: readonly PipelineLead[], asOfMs: number, timer?: StageTimer): Encoded {
    const started = now(timer);
    const spec = model.spec;
    const width = spec.features.length;
    const raws: FeatureValue[][] = new Array(leads.length);
    const vectors: (number | null)[][] = new Array(leads.length);
    const rows = new Float32Array(leads.length * width);
    for (let r = 0; r < leads.length; r++) {
      const raw = computeFeatures(model.features, leads[r]!.inputs, asOfMs);
      const vector = encodeFeatures(spec, raw);
      raws[r] = raw;
      vectors[r] = vector;
      for (let c = 0; c < width; c++) rows[r * width + c] = vector[c] ?? NaN;
    }
    timer?.('features', now(timer) - started);
    return { spec, raws, vectors, rows };
  }

  /** Scores from the model's probabilities and contributions for the encoded leads. */
  withModel(
    model: ServingModel,
    leads: readonly PipelineLead[],
    encoded: Encoded,
    probabilities: Float64Array,
    contributions: Contributions,
    asOf: Date,
    timer?: StageTimer,
  ): PipelineScore[] {
    let t = now(timer);
    const { spec } = encoded;
    const top = this.o.topReasons;
    const partial = leads.map((_lead, r) => {
      const probability = probabilities[r]!;
      const score = model.toScore(probability);
      const band = bandFor(score, this.o.bands);
      const made = reasonsFor(contributions(r), encoded.raws[r]!, spec, this.o.catalogue, { top });
      const reasons: Reason[] = [];
      for (const x of made.positive) reasons.push(modelReason('positive', x));
      for (const x of made.negative) reasons.push(modelReason('negative', x));
      // Strongest first across both directions (a stable sort: on a tie the positive reason leads).
      reasons.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
      return { probability, score, band, reasons };
    });
    let t2 = now(timer);
    timer?.('reasons', t2 - t);
    const actions = partial.map((p, r) => this.nextBestAction(leads[r]!, p.score, p.band, p.reasons, asOf));
    t = now(timer);
    timer?.('actions', t - t2);
    const hashes = encoded.vectors.map((v) => featureHash(v, spec.hash));
    t2 = now(timer);
    timer?.('hash', t2 - t);
    return partial.map((p, r) => ({
      score: p.score,
      band: p.band,
      probability: p.probability,
      reasons: p.reasons,
      reasonLines: p.reasons.map((x) => reasonLine(x, 'model')),
      nextBestAction: actions[r]!,
      source: 'model',
      modelVersion: model.version,
      featureHash: hashes[r]!,
    }));
  }

  /**
   * Rules scores, as Apex computes them. `encoded` is given when the model was asked and failed: the hash then
   * still names the vector the model was given; without one it names the rule set.
   */
  withRules(
    leads: readonly PipelineLead[],
    asOf: Date,
    encoded: Encoded | null,
    timer?: StageTimer,
  ): PipelineScore[] {
    const started = now(timer);
    const ruleSet = this.o.ruleSet;
    const rulesHash = encoded ? null : featureHash([], `rules:${ruleSet.version}`);
    const scored = leads.map((lead, r): PipelineScore => {
      const rules = scoreWithRules(ruleSet, lead.record, asOf);
      const reasons: Reason[] = rules.firedRules.map((f) => ({
        direction: f.points >= 0 ? 'positive' : 'negative',
        feature: f.developerName,
        contribution: f.points,
        text: f.reasonText,
      }));
      return {
        score: rules.score,
        band: rules.band,
        probability: null,
        reasons,
        reasonLines: reasons.map((x) => reasonLine(x, 'rules')),
        nextBestAction: this.nextBestAction(lead, rules.score, rules.band, reasons, asOf),
        source: 'rules',
        modelVersion: rules.ruleSetVersion,
        featureHash: rulesHash ?? featureHash(encoded!.vectors[r]!, encoded!.spec.hash),
      };
    });
    timer?.('rules', now(timer) - started);
    return scored;
  }

  private nextBestAction(
    lead: PipelineLead,
    score: number,
    band: Band,
    reasons: readonly Reason[],
    asOf: Date,
  ): NextBestActionResult | null {
    const zone = leadTimeZone(this.o.regions, this.o.region, lead.inputs.lead.Country);
    const positive: string[] = [];
    for (const r of reasons) if (r.direction === 'positive') positive.push(r.text);
    const action = chooseNextBestAction(
      this.o.actionsFor(asOf, zone),
      { score, band, reasons: positive },
      lead.record,
      asOf,
      zone,
    );
    return action ? { action: action.action, label: action.label, rationale: action.rationale } : null;
  }
}

function modelReason(
  direction: Reason['direction'],
  x: { feature: string; contribution: number; value?: Reason['value']; text: string },
): Reason {
  return {
    direction,
    feature: x.feature,
    contribution: x.contribution,
    value: x.value ?? null,
    text: x.text,
  };
}
