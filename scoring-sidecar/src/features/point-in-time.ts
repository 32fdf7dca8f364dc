// Offline, point-in-time feature vectors for training sets. Each instant sees only events that occurred
// at or before it and extract rows dated at or before it, by construction: the history is folded forward
// in time, exactly as the online store folds events as they arrive.
import {
  applyLeadFieldChange,
  AsOfHistory,
  ContextTable,
  EventAggregates,
  type ContextRow,
  type ErpExtractRow,
  type EventType,
  type LeadProfile,
  type MarketingExtractRow,
} from '../inputs/index.js';
import { computeFeatures, type FeatureDefinition, type FeatureValue } from './definitions.js';

export interface LeadFieldChange {
  field: keyof LeadProfile;
  value: LeadProfile[keyof LeadProfile];
  changedAtMs: number;
}

export interface LeadHistory {
  lead: LeadProfile; // as created
  fieldChanges: readonly LeadFieldChange[]; // from field history tracking (LeadHistory)
  events: readonly { type: EventType; occurredAtMs: number }[];
  erpRows: readonly ErpExtractRow[]; // rows of the matched account
  marketingRows: readonly MarketingExtractRow[];
  /** Dated context rows (every key: they are shared by all records); each instant sees the row in effect then. */
  contextRows?: readonly ContextRow[];
}

// The training-set builder hands every lead the same array of context rows: build its table once.
const tables = new WeakMap<readonly ContextRow[], ContextTable>();
function contextTableOf(rows: readonly ContextRow[] | undefined): ContextTable | null {
  if (!rows || rows.length === 0) return null;
  let table = tables.get(rows);
  if (!table) tables.set(rows, (table = new ContextTable(rows)));
  return table;
}

export interface Snapshot {
  asOfMs: number;
  values: FeatureValue[];
}

/** Feature vectors of one lead at each instant (any order in, ascending out). */
export function snapshotsOf(
  features: readonly FeatureDefinition[],
  history: LeadHistory,
  instants: readonly number[],
): Snapshot[] {
  const events = [...history.events].sort((a, b) => a.occurredAtMs - b.occurredAtMs);
  const erp = new AsOfHistory<ErpExtractRow>();
  for (const row of history.erpRows) erp.add(row);
  const marketing = new AsOfHistory<MarketingExtractRow>();
  for (const row of history.marketingRows) marketing.add(row);

  const context = contextTableOf(history.contextRows);
  const changes = [...history.fieldChanges].sort((a, b) => a.changedAtMs - b.changedAtMs);
  const lead: LeadProfile = { ...history.lead };
  let nextChange = 0;
  const aggregates = new EventAggregates();
  let next = 0;
  return [...instants]
    .sort((a, b) => a - b)
    .map((asOfMs) => {
      while (next < events.length && events[next]!.occurredAtMs <= asOfMs) {
        const e = events[next++]!;
        aggregates.apply(e.type, e.occurredAtMs);
      }
      while (nextChange < changes.length && changes[nextChange]!.changedAtMs <= asOfMs) {
        const c = changes[nextChange++]!;
        applyLeadFieldChange(lead, c.field, c.value);
      }
      const inputs = {
        lead: { ...lead },
        events: aggregates,
        erp: erp.asOf(asOfMs),
        marketing: marketing.asOf(asOfMs),
        context,
      };
      return { asOfMs, values: computeFeatures(features, inputs, asOfMs) };
    });
}

/** One instant; the reference the leakage property test holds the builder to. */
export function featuresAsOf(
  features: readonly FeatureDefinition[],
  history: LeadHistory,
  asOfMs: number,
): FeatureValue[] {
  return snapshotsOf(features, history, [asOfMs])[0]!.values;
}
