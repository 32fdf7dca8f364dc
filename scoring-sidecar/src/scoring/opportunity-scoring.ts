// Opportunity scoring: the same pipeline as leads (pipeline.ts: features → vector → predict → TreeSHAP →
// band → reasons → next-best action → feature hash), fed with an opportunity and its Account, the deal
// configuration (config/rules/opportunity.json, config/actions/opportunity.json, config/reasons/
// opportunity-win.json) and the opportunity model (the registry's opportunity champion, hot-swapped; or
// LEADRANK_OPPORTUNITY_MODEL_DIR as an explicit override). Both doors use it: the
// batch cycle (batch/opportunity-cycle.ts) and POST /v1/score (api/opportunity-route.ts). No model, or a
// failing one, falls back to the deal rules (source "rules" and a fallbackReason), as for leads.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { REPO_ROOT, type RegionsConfig, type ScoringConfig } from '../config/index.js';
import { featuresWithoutReasons, loadReasonCatalogue, type ReasonCatalogue } from '../explain/index.js';
import { OPPORTUNITY_ACTIVE_SPEC, OPPORTUNITY_WIN_FEATURES, opportunityInputs } from '../features/index.js';
import {
  OPPORTUNITY_FIELD_SENSITIVITY,
  parseSalesforceDateTime,
  type OpportunityRecord,
  type Region,
} from '../inputs/index.js';
import {
  checkModelResidency,
  isPseudoField,
  loadActionCatalogue,
  loadResidencyConfig,
  loadRuleSet,
  ModelRegistry,
  type ActionCatalogue,
  type LeadRecord,
  type RuleSet,
} from '../model/index.js';
import { loadDirectoryModelSource, registryModelSource, type ModelSource } from './model-source.js';
import { checkProbabilities, ScoringPipeline, type Encoded, type PipelineScore } from './pipeline.js';

const DAY_MS = 86_400_000;

/** Pseudo-fields a deal rule or action may read besides the Opportunity's own fields. */
export const DEAL_PSEUDO_FIELDS = ['DaysToClose'] as const;

export interface DealConfig {
  ruleSet: RuleSet;
  actions: ActionCatalogue;
  catalogue: ReasonCatalogue;
}

/** A condition field a deal can answer: an Opportunity field or a pseudo-field. */
function knownDealField(field: string): boolean {
  return (
    Object.hasOwn(OPPORTUNITY_FIELD_SENSITIVITY, field) ||
    isPseudoField(field) ||
    (DEAL_PSEUDO_FIELDS as readonly string[]).includes(field)
  );
}

/**
 * Reads and checks the deal configuration: shapes (zod, in the loaders), then that every rule and action
 * condition reads a field a deal has and every model feature has reason texts. Errors name file and field.
 */
export async function loadDealConfig(configDir: string): Promise<DealConfig> {
  const rulesFile = join(configDir, 'rules', 'opportunity.json');
  const actionsFile = join(configDir, 'actions', 'opportunity.json');
  const reasonsFile = join(configDir, 'reasons', 'opportunity-win.json');
  const ruleSet = await loadRuleSet(rulesFile);
  const actions = await loadActionCatalogue(actionsFile);
  const catalogue = loadReasonCatalogue(reasonsFile);
  const problems: string[] = [];
  ruleSet.rules.forEach((r, i) => {
    if (!knownDealField(r.field))
      problems.push(`${rulesFile}: rules[${i}] (${r.developerName}).field: unknown deal field "${r.field}"`);
  });
  actions.actions.forEach((a, i) =>
    a.eligibility.conditions.forEach((c, j) => {
      if (!knownDealField(c.field))
        problems.push(
          `${actionsFile}: actions[${i}] (${a.developerName}).eligibility.conditions[${j}].field: unknown deal field "${c.field}"`,
        );
    }),
  );
  const missing = featuresWithoutReasons(
    catalogue,
    OPPORTUNITY_WIN_FEATURES.map((f) => f.name),
  );
  if (missing.length) problems.push(`${reasonsFile}: features: no reason texts for ${missing.join(', ')}`);
  if (problems.length) throw new Error(problems.join('\n'));
  return { ruleSet, actions, catalogue };
}

export interface OpportunityModelOptions {
  /** An explicit model directory (LEADRANK_OPPORTUNITY_MODEL_DIR): loaded once, the registry is not read. */
  dir?: string;
  /** The registry (default $LEADRANK_REGISTRY_URL, else var/registry); deal models in its targets/opportunity/. */
  registryUrl?: string;
  region: Region;
  cacheDir: string;
  pollIntervalMs?: number;
  /** Run on each fetched registry version before it is served (residency). */
  check?: (modelDir: string) => Promise<unknown>;
  logger: Logger;
}

/**
 * The deal model: the directory when one is given, else the registry's opportunity champion, hot-swapped on
 * promotion and rollback by a ModelHolder (model-source.ts). Neither: none, and the deal rules answer.
 */
export function opportunityModelSource(o: OpportunityModelOptions): Promise<ModelSource> {
  if (o.dir) return loadDirectoryModelSource(o.dir, OPPORTUNITY_ACTIVE_SPEC);
  return registryModelSource({
    registry: ModelRegistry.open(o.registryUrl, o.region, 'opportunity'),
    cacheDir: o.cacheDir,
    active: OPPORTUNITY_ACTIVE_SPEC,
    logger: o.logger,
    ...(o.check ? { check: o.check } : {}),
    ...(o.pollIntervalMs ? { pollIntervalMs: o.pollIntervalMs } : {}),
  });
}

/**
 * From the environment, as `leadrank serve` and `leadrank opportunities batch` read it:
 * LEADRANK_OPPORTUNITY_MODEL_DIR (override), else LEADRANK_REGISTRY_URL, LEADRANK_MODEL_CACHE_DIR and
 * LEADRANK_MODEL_POLL_MS as for lead models; a registry version is served only if its residency allows it.
 */
export function opportunityModelSourceFromEnv(
  env: Record<string, string | undefined>,
  region: Region,
  logger: Logger,
): Promise<ModelSource> {
  const configDir = env.LEADRANK_CONFIG_DIR ?? join(REPO_ROOT, 'config');
  const residency = loadResidencyConfig(join(configDir, 'residency.json'));
  return opportunityModelSource({
    ...(env.LEADRANK_OPPORTUNITY_MODEL_DIR ? { dir: env.LEADRANK_OPPORTUNITY_MODEL_DIR } : {}),
    ...(env.LEADRANK_REGISTRY_URL ? { registryUrl: env.LEADRANK_REGISTRY_URL } : {}),
    region,
    cacheDir: env.LEADRANK_MODEL_CACHE_DIR ?? join(REPO_ROOT, 'var', 'model-cache'),
    ...(env.LEADRANK_MODEL_POLL_MS ? { pollIntervalMs: Number(env.LEADRANK_MODEL_POLL_MS) } : {}),
    check: (dir) => checkModelResidency(dir, region, residency),
    logger,
  });
}

/** The deal as rules and actions read it: its fields plus DaysToClose (whole days to CloseDate; < 0: passed). */
export function dealRecord(record: OpportunityRecord, asOf: Date): LeadRecord {
  const close = record.CloseDate ? parseSalesforceDateTime(record.CloseDate) : NaN;
  return {
    ...record,
    DaysToClose: Number.isFinite(close) ? Math.floor((close - asOf.getTime()) / DAY_MS) : null,
  };
}

export interface OpportunityScore extends PipelineScore {
  opportunityId: string;
  fallbackReason?: 'no_model' | 'model_unavailable' | 'model_error';
}

export interface OpportunityScorerOptions {
  region: Region;
  regions: RegionsConfig;
  bands: ScoringConfig['bands'];
  topReasons: number;
  deal: DealConfig;
  models: ModelSource;
}

export interface OpportunityScored {
  scores: OpportunityScore[];
  /** The model's vectors (null when scored by rules without asking the model), for the audit. */
  encoded: Encoded | null;
}

export class OpportunityScorer {
  private readonly pipeline: ScoringPipeline;

  constructor(private readonly o: OpportunityScorerOptions) {
    this.pipeline = new ScoringPipeline({
      region: o.region,
      regions: o.regions,
      bands: o.bands,
      topReasons: o.topReasons,
      catalogue: o.deal.catalogue,
      ruleSet: o.deal.ruleSet,
      actionsFor: () => o.deal.actions,
    });
  }

  /** The version a score answer names when no model served it. */
  currentVersion(): string {
    return this.o.models.current()?.version ?? this.o.deal.ruleSet.version;
  }

  /** Scores in input order at `asOf`: the model when one is served, else (or when it fails) the deal rules. */
  async score(records: readonly OpportunityRecord[], asOf: Date): Promise<OpportunityScored> {
    const deals = records.map((r) => ({ inputs: opportunityInputs(r), record: dealRecord(r, asOf) }));
    const tag = (scores: PipelineScore[], fallbackReason?: OpportunityScore['fallbackReason']) =>
      scores.map((s, i) => ({
        ...s,
        opportunityId: records[i]!.Id,
        ...(fallbackReason ? { fallbackReason } : {}),
      }));
    const model = this.o.models.current();
    if (!model) {
      const reason = this.o.models.status().unavailable ? 'model_unavailable' : 'no_model';
      return { scores: tag(this.pipeline.withRules(deals, asOf, null), reason), encoded: null };
    }
    const encoded = this.pipeline.encode(model, deals, asOf.getTime());
    let probabilities: Float64Array;
    try {
      probabilities = await model.predict(encoded.rows, deals.length);
      checkProbabilities(probabilities);
    } catch {
      return { scores: tag(this.pipeline.withRules(deals, asOf, encoded), 'model_error'), encoded };
    }
    const width = encoded.spec.features.length;
    const rows = new Float64Array(deals.length * width);
    encoded.vectors.forEach((v, r) => {
      for (let c = 0; c < width; c++) rows[r * width + c] = v[c] ?? NaN;
    });
    const phis = deals.length ? model.explainer.explainBatch(rows, deals.length) : new Float64Array(0);
    const contributions = (r: number) => phis.subarray(r * (width + 1), (r + 1) * (width + 1));
    return {
      scores: tag(this.pipeline.withModel(model, deals, encoded, probabilities, contributions, asOf)),
      encoded,
    };
  }

  async close(): Promise<void> {
    await this.o.models.close();
  }
}
