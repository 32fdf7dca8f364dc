// What a feature is, and the one place vectors are computed. Online scoring and offline training sets both call
// `computeFeatures`; the definitions themselves come from config/features/*.json through `interpretSpec`
// (interpreter.ts): there is no second implementation anywhere (Python reads the finished vectors).
import {
  LEAD_FIELD_SENSITIVITY,
  type EventType,
  type FeatureInputs,
  type LeadField,
} from '../inputs/index.js';

export type FeatureKind = 'numeric' | 'boolean' | 'categorical';
export type FeatureValue = number | boolean | string | null;

/** Where a feature's data comes from, and so how fresh it can be. */
export type FeatureSource =
  | { kind: 'crm'; fields: LeadField[] }
  | { kind: 'events'; eventType: EventType | 'any'; windowDays?: number }
  | { kind: 'erp-extract' }
  | { kind: 'marketing-extract' }
  | { kind: 'context'; context: string; column: string }
  | { kind: 'calendar' };

export interface FeatureDefinition {
  name: string;
  kind: FeatureKind;
  source: FeatureSource;
  description: string;
  /** Set when the feature reads a PII or free-text field: it must derive something that identifies no one. */
  derivation?: 'non-identifying';
  /** A sensitive field selected anyway, with the reason recorded in the spec (shown on the model card). */
  override?: string;
  /** Categorical fitting: keep the top K training values; `other` gives the rest one shared level. */
  categoryPolicy?: { topK?: number; minCount?: number; other: boolean; values?: readonly string[] };
  /** Value used when the source has nothing (null leaves it missing for the model). */
  missing: FeatureValue;
  compute(inputs: FeatureInputs, asOfMs: number): FeatureValue;
}

export { titleSeniority } from './derivations.js';
// The lead features (config/features/lead.json through the spec interpreter) are in lead-features.ts.

/**
 * Checks a feature set before anything is built from it: unique names, and no PII or free-text field used
 * raw. A feature reading such a field must declare a non-identifying derivation (reviewed like code).
 */
export function validateFeatureSet(features: readonly FeatureDefinition[]): readonly FeatureDefinition[] {
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f.name)) throw new Error(`feature "${f.name}" is defined twice`);
    seen.add(f.name);
    if (f.source.kind !== 'crm') continue;
    for (const field of f.source.fields) {
      const sensitivity = (LEAD_FIELD_SENSITIVITY as Record<string, string>)[field] ?? 'none';
      if (sensitivity !== 'none' && f.derivation !== 'non-identifying' && f.override === undefined) {
        throw new Error(
          `feature "${f.name}" uses ${sensitivity === 'pii' ? 'PII' : 'free-text'} source Lead.${field} raw: ` +
            'derive a non-identifying value and declare derivation: "non-identifying", or drop the feature',
        );
      }
    }
  }
  return features;
}

/** Raw feature values at `asOfMs`, in definition order. The caller supplies inputs as known at that instant. */
export function computeFeatures(
  features: readonly FeatureDefinition[],
  inputs: FeatureInputs,
  asOfMs: number,
): FeatureValue[] {
  return features.map((f) => {
    const value = f.compute(inputs, asOfMs);
    return value === null || value === undefined ? f.missing : value;
  });
}
