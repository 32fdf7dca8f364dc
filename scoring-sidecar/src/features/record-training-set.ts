// Training sets from an org's records for a spec with a `training` target: one snapshot per record at its
// time field, label = the outcome field holds a positive value. The features come from the same interpreter
// as serving. Used for imported histories (X Education) where the org holds one row per lead and its outcome.
import { ContextTable, EventAggregates, parseSalesforceDateTime, type ContextRow } from '../inputs/index.js';
import { computeFeatures, type FeatureDefinition } from './definitions.js';
import { buildFeatureSpec, CategoryCounter, encodeFeatures } from './feature-spec.js';
import { interpretSpec } from './interpreter.js';
import type { FeatureConfig } from './spec-schema.js';
import { specSource } from './spec-source.js';
import { trainingTarget } from './target.js';
import type { FeatureSpec, TrainingRow } from './training-set-file.js';

/** The fields a spec reads from its object, plus what its training target needs. */
export function fieldsRead(config: FeatureConfig): string[] {
  const fields = new Set<string>(['Id']);
  for (const f of config.features) {
    if ('field' in f.source) fields.add(f.source.field);
    if (f.transform.kind === 'ratio') fields.add(f.transform.denominator.field);
  }
  // a context joins on a field of the record: read it to find the row in effect
  for (const c of Object.values(config.contexts ?? {})) if (c.key !== 'global') fields.add(c.key.field);
  const t = config.training;
  const target = t && trainingTarget(config);
  if (t && target?.builder === 'record') {
    fields.add(target.timeField);
    fields.add(target.outcome.field);
    for (const s of Object.values(t.segments)) if (s) fields.add(s);
  }
  return [...fields];
}

/** Rows as the Bulk API returns them (strings, '' = null) → the training set (sorted by time). */
export function recordTrainingSet(
  config: FeatureConfig,
  records: readonly Record<string, string | null | undefined>[],
  /** The spec file, recorded with the spec's content in feature-spec.json (relative to the repository). */
  file?: string,
  /** Dated context rows (<extracts>/context): each record reads the row in effect at its time field. */
  contextRows: readonly ContextRow[] = [],
): { spec: FeatureSpec; rows: TrainingRow[]; definitions: FeatureDefinition[] } {
  const t = config.training;
  const target = t && trainingTarget(config);
  if (!t || target?.builder !== 'record')
    throw new Error(
      `spec ${config.name} has no record target ("training" with an outcome field, no snapshots)`,
    );
  const { timeField, outcome } = target;
  const defs = interpretSpec(config);
  const context = contextRows.length > 0 ? new ContextTable(contextRows) : null;
  const counter = new CategoryCounter(defs);
  const raw = records
    .map((r) => {
      const lead = Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, v === '' || v === undefined ? null : v]),
      );
      const at = typeof lead[timeField] === 'string' ? parseSalesforceDateTime(lead[timeField]!) : NaN;
      return { lead, at };
    })
    .filter((r) => Number.isFinite(r.at))
    .sort((a, b) => a.at - b.at);
  const computed = raw.map((r) => {
    const inputs = {
      lead: r.lead as never,
      events: new EventAggregates(),
      erp: null,
      marketing: null,
      context,
    };
    const values = computeFeatures(defs, inputs, r.at);
    counter.add(values);
    return { ...r, values };
  });
  const spec = buildFeatureSpec(
    config.name,
    defs,
    (name) => {
      const minCount = defs.find((d) => d.name === name)?.categoryPolicy?.minCount ?? 20;
      return counter.categories(name, minCount);
    },
    t.horizonDays,
    specSource(config, file),
    target,
  );
  const seg = (lead: Record<string, string | null>, field: string | undefined) =>
    field ? (lead[field] ?? null) : null;
  const rows = computed.map((r): TrainingRow => ({
    leadId: r.lead.Id ?? '',
    snapshotAt: new Date(r.at),
    label: outcome.positive.includes(r.lead[outcome.field] ?? '') ? 1 : 0,
    segments: {
      region: seg(r.lead, t.segments.region),
      leadSource: seg(r.lead, t.segments.leadSource),
      industry: seg(r.lead, t.segments.industry),
      companySize: seg(r.lead, t.segments.companySize),
    },
    values: encodeFeatures(spec, r.values),
  }));
  return { spec, rows, definitions: defs };
}
