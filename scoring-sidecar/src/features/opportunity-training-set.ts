// Training sets of the opportunity-win target (config/features/opportunity.json, "won among closed"): one
// snapshot per closed opportunity at its creation (the spec's training.timeField), label = IsWon. Rows are
// read as the opportunity sync reads them (opportunityFromRow) and turned into features by the same
// `opportunityInputs` serving uses, so the two cannot differ. Fields that are the outcome on a closed record
// (StageName, Probability, ForecastCategory) are not in the spec (see its "excluded" list).
import { opportunityFromRow, parseSalesforceDateTime, type OpportunityRecord } from '../inputs/index.js';
import { computeFeatures } from './definitions.js';
import { buildFeatureSpec, CategoryCounter, encodeFeatures } from './feature-spec.js';
import {
  OPPORTUNITY_ACTIVE_SPEC,
  OPPORTUNITY_CONFIG,
  OPPORTUNITY_WIN_FEATURES,
  opportunityInputs,
} from './opportunity-features.js';
import type { FeatureSpec, TrainingRow } from './training-set-file.js';

type Row = Readonly<Record<string, string | null | undefined>>;

/** Closed opportunities (IsClosed, IsWon as the Bulk API gives them) → the training set, oldest first. */
export function opportunityTrainingSet(rows: Iterable<Row>): { spec: FeatureSpec; rows: TrainingRow[] } {
  const training = OPPORTUNITY_CONFIG.training!;
  const defs = OPPORTUNITY_WIN_FEATURES;
  const counter = new CategoryCounter(defs);
  const snapshots: {
    record: OpportunityRecord;
    won: boolean;
    at: number;
    values: ReturnType<typeof computeFeatures>;
  }[] = [];
  for (const row of rows) {
    if (row.IsClosed !== 'true') continue;
    const record = opportunityFromRow(row);
    const at = parseSalesforceDateTime(String(row[training.timeField] ?? ''));
    if (!Number.isFinite(at)) continue;
    const values = computeFeatures(defs, opportunityInputs(record), at);
    counter.add(values);
    snapshots.push({ record, won: row.IsWon === 'true', at, values });
  }
  snapshots.sort((a, b) => a.at - b.at || (a.record.Id < b.record.Id ? -1 : 1));
  const spec = buildFeatureSpec(
    OPPORTUNITY_CONFIG.name,
    defs,
    (name) => counter.categories(name, defs.find((d) => d.name === name)?.categoryPolicy?.minCount ?? 20),
    training.horizonDays,
    // The spec configuration (target opportunity) rides in the model's card: the registry and serving know a
    // deal model by it.
    OPPORTUNITY_ACTIVE_SPEC.source,
  );
  return {
    spec,
    rows: snapshots.map((s) => ({
      leadId: s.record.Id,
      snapshotAt: new Date(s.at),
      label: s.won ? 1 : 0,
      segments: {
        region: s.record.Data_Region__c,
        leadSource: s.record.LeadSource,
        industry: s.record.Account?.Industry ?? null,
        companySize: null,
      },
      values: encodeFeatures(spec, s.values),
    })),
  };
}
