// A feature spec is a feature set fitted to data: the definitions plus the category lists seen in training.
// It travels with the model (feature-spec.json beside training-set.parquet and model.onnx), and encodes
// raw values into the numeric vector the model reads, identically offline and online.
import type { FeatureDefinition, FeatureValue } from './definitions.js';
import type { SpecSource } from './spec-source.js';
import type { TrainingTarget } from './target.js';
import { makeFeatureSpec, type FeatureSpec } from './training-set-file.js';

/** Counts categorical values while a training set is built, to fix each feature's category list. */
export class CategoryCounter {
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(private readonly features: readonly FeatureDefinition[]) {}

  add(values: readonly FeatureValue[]): void {
    this.features.forEach((f, i) => {
      const v = values[i];
      if (f.kind !== 'categorical' || v === null || v === undefined) return;
      let byValue = this.counts.get(f.name);
      if (!byValue) this.counts.set(f.name, (byValue = new Map()));
      byValue.set(String(v), (byValue.get(String(v)) ?? 0) + 1);
    });
  }

  /** Values seen at least `minCount` times, most frequent first (ties by name), at most `maxCategories`. */
  categories(name: string, minCount = 20, maxCategories = 64): string[] {
    const byValue = this.counts.get(name) ?? new Map<string, number>();
    return [...byValue.entries()]
      .filter(([, n]) => n >= minCount)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, maxCategories)
      .map(([v]) => v);
  }
}

/** The level every value outside a categorical's kept list shares, when its spec asks for `other`. */
export const OTHER_CATEGORY = '__other__';

function categoryList(f: FeatureDefinition, categoriesOf: (feature: string) => string[]): string[] {
  const policy = f.categoryPolicy;
  const seen = policy?.values ? [...policy.values] : categoriesOf(f.name);
  const kept = policy?.topK !== undefined ? seen.slice(0, policy.topK) : seen;
  return policy?.other ? [...kept.filter((c) => c !== OTHER_CATEGORY), OTHER_CATEGORY] : kept;
}

/** The spec of a feature set fitted to training data (category lists fixed from what was seen). */
export function buildFeatureSpec(
  name: string,
  features: readonly FeatureDefinition[],
  categoriesOf: (feature: string) => string[],
  horizonDays: number,
  source?: SpecSource,
  /** The resolved training target (features/target.ts), recorded in feature-spec.json. */
  target?: TrainingTarget,
): FeatureSpec {
  return makeFeatureSpec(
    name,
    features.map((f) => ({
      name: f.name,
      kind: f.kind,
      ...(f.kind === 'categorical' ? { categories: categoryList(f, categoriesOf) } : {}),
      description: f.description,
    })),
    { horizonDays, ...(source ? { source } : {}), ...(target ? { target: { ...target } } : {}) },
  );
}

/** Raw values → model inputs: numbers stay, booleans become 1/0, categories their index; missing is null. */
export function encodeFeatures(spec: FeatureSpec, values: readonly FeatureValue[]): (number | null)[] {
  return spec.features.map((entry, i) => {
    const v = values[i];
    if (v === null || v === undefined) return null;
    switch (entry.kind) {
      case 'numeric':
        return typeof v === 'number' && Number.isFinite(v) ? v : null;
      case 'boolean':
        return v === true ? 1 : v === false ? 0 : null;
      case 'categorical': {
        const index = entry.categories?.indexOf(String(v)) ?? -1;
        if (index >= 0) return index;
        const other = entry.categories?.indexOf(OTHER_CATEGORY) ?? -1;
        return other < 0 ? null : other;
      }
    }
  });
}

/**
 * The definitions a spec (and so a model) needs, in the spec's order. Fails, naming them, when the serving
 * code lacks a feature or computes it as another kind: such a model must not be promoted or loaded.
 */
export function featuresForSpec(
  spec: FeatureSpec,
  definitions: readonly FeatureDefinition[],
): FeatureDefinition[] {
  const byName = new Map(definitions.map((f) => [f.name, f]));
  const missing = spec.features.filter((e) => byName.get(e.name)?.kind !== e.kind).map((e) => e.name);
  if (missing.length) throw new Error(`the serving code does not compute features: ${missing.join(', ')}`);
  return spec.features.map((e) => byName.get(e.name)!);
}
