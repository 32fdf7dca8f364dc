// A spec's training target, resolved: which builder reads it and with what outcome, time axis, horizon and
// snapshot schedule. The spec's `training` block (spec-schema.ts) is the configuration; this is the one place
// its defaults are filled in, so the builders, the loader's checks and feature-spec.json read the same thing.
import type { FeatureConfig } from './spec-schema.js';

export interface SnapshotSchedule {
  /** First snapshot this many days after the time axis' instant, then one every `intervalDays`. */
  firstAfterDays: number;
  intervalDays: number;
  /** At most this many snapshots per record (none: while the record is open and its label known). */
  maxSnapshots?: number;
}

/**
 * A custom outcome: `field` holding one of `positive`; `positiveAtField` says when it became so, or, without it,
 * the field's history (LeadHistory: the first change to a positive value).
 */
export interface OutcomeField {
  field: string;
  positive: string[];
  positiveAtField?: string;
}

export type TrainingTarget =
  | {
      /** One snapshot per record at `timeField`; label = the outcome field holds a positive value. */
      builder: 'record';
      timeField: string;
      outcome: OutcomeField;
      horizonDays: number;
    }
  | {
      /** Snapshots while the lead is open, counted from `timeField`; label = outcome within the horizon. */
      builder: 'snapshots';
      timeField: string;
      outcome: 'converted' | OutcomeField;
      horizonDays: number;
      schedule: SnapshotSchedule;
    };

/** Today's lead-conversion target: CreatedDate, first snapshot after 1 day then weekly, 30-day horizon. */
export const DEFAULT_TARGET = {
  builder: 'snapshots',
  timeField: 'CreatedDate',
  outcome: 'converted',
  horizonDays: 30,
  schedule: { firstAfterDays: 1, intervalDays: 7 },
} as const satisfies TrainingTarget;

/** The spec's target with its defaults. Assumes a spec the loader accepted (targetProblems). */
export function trainingTarget(config: FeatureConfig): TrainingTarget {
  const t = config.training;
  if (!t) {
    if (!config.snapshots) return DEFAULT_TARGET;
    const { horizonDays, firstAfterDays, intervalDays } = config.snapshots;
    return { ...DEFAULT_TARGET, horizonDays, schedule: { firstAfterDays, intervalDays } };
  }
  if (t.outcome !== 'converted' && !t.snapshots) {
    return { builder: 'record', timeField: t.timeField, outcome: t.outcome, horizonDays: t.horizonDays };
  }
  let outcome: 'converted' | OutcomeField = 'converted';
  if (t.outcome !== 'converted') {
    const { field, positive, positiveAtField } = t.outcome;
    outcome = { field, positive, ...(positiveAtField ? { positiveAtField } : {}) };
  }
  return {
    builder: 'snapshots',
    timeField: t.timeField,
    outcome,
    horizonDays: t.horizonDays,
    schedule: t.snapshots ?? DEFAULT_TARGET.schedule,
  };
}

/** Problems with the training block the schema cannot see, as [json path, message] (the loader adds positions). */
export function targetProblems(config: FeatureConfig): [(string | number)[], string][] {
  const t = config.training;
  if (!t) return [];
  const problems: [(string | number)[], string][] = [];
  const snapshotBuilder = t.outcome === 'converted' || t.snapshots !== undefined;
  if (snapshotBuilder && Object.keys(t.segments).length)
    problems.push([
      ['training', 'segments'],
      'segments are fixed by the snapshot builder (region, lead source, industry, company size): only a record target names them',
    ]);
  if (snapshotBuilder && config.object !== 'Lead')
    problems.push([['training', 'snapshots'], `the snapshot builder reads leads, not ${config.object}`]);
  // The outcome itself (or the date it happened) as an input is the label leaking into the features.
  if (t.outcome !== 'converted') {
    const outcomeFields = new Set([t.outcome.field, t.outcome.positiveAtField].filter(Boolean));
    config.features.forEach((f, i) => {
      const read = [
        'field' in f.source ? f.source.field : null,
        f.transform.kind === 'ratio' ? f.transform.denominator.field : null,
      ];
      for (const field of read)
        if (field && outcomeFields.has(field))
          problems.push([
            ['features', i, 'source', 'field'],
            `${field} is the training outcome: reading it as a feature leaks the label`,
          ]);
    });
  }
  return problems;
}
