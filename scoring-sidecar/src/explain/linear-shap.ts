// Exact SHAP values for the logistic-regression model (training/leadrank_training/linear.py), from its
// model.json ({"kind": "linear", ...}). The model is additive in log-odds, one block f_j per feature, so the
// SHAP value of feature j is f_j(x_j) − E_train[f_j] (coefficient × (design column − its training mean),
// summed over the feature's columns) and the expected value is intercept + Σ E_train[f_j]. Hand-written:
// a dozen lines of arithmetic over a format only this project writes.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { TreeExplainer } from './tree-explainer.js';

const featureSchema = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'boolean', 'categorical']),
  expected: z.number(),
  excluded: z.boolean(),
  mean: z.number().optional(),
  scale: z.number().optional(),
  linear: z.number(),
  missing: z.number(),
  steps: z.array(z.object({ at: z.number(), weight: z.number() })),
  levels: z.array(z.object({ code: z.number(), weight: z.number() })),
});

export const linearModelSchema = z.object({
  kind: z.literal('linear'),
  objective: z.literal('binary'),
  link: z.literal('logit'),
  feature_names: z.array(z.string()),
  intercept: z.number(),
  expected_value: z.number(),
  features: z.array(featureSchema),
});
export type LinearModelDump = z.infer<typeof linearModelSchema>;
type LinearFeature = z.infer<typeof featureSchema>;

/** True when a parsed model.json is the linear model's (tree dumps have no `kind`). */
export function isLinearDump(dump: unknown): boolean {
  return typeof dump === 'object' && dump !== null && (dump as { kind?: unknown }).kind === 'linear';
}

/** f_j(x): the feature's contribution to the log-odds, as the ONNX graph computes it (float32 inputs). */
function contribution(f: LinearFeature, raw: number | null): number {
  const missing = raw === null || Number.isNaN(raw);
  if (missing) return f.missing;
  const x = Math.fround(raw);
  let sum = 0;
  if (f.kind === 'categorical') {
    for (const l of f.levels) if (x === l.code) sum += l.weight;
    return sum;
  }
  if (f.mean !== undefined && f.scale !== undefined) {
    // float32 like the graph: (x − mean) / scale rounded to float32, then times the coefficient.
    sum += f.linear * Math.fround(Math.fround(x - f.mean) / f.scale);
  }
  for (const s of f.steps) if (x >= s.at) sum += s.weight;
  return sum;
}

class LinearShapExplainer implements TreeExplainer {
  readonly featureNames: readonly string[];
  readonly objective = 'binary';
  readonly algorithm = 'plain' as const;
  readonly treeCount = 0;
  private readonly features: readonly LinearFeature[];

  constructor(private readonly model: LinearModelDump) {
    this.featureNames = model.feature_names;
    this.features = model.features;
  }

  explain(row: ArrayLike<number | null>): Float64Array {
    const f = this.features.length;
    const phi = new Float64Array(f + 1);
    for (let j = 0; j < f; j++) {
      const feature = this.features[j]!;
      phi[j] = feature.excluded ? 0 : contribution(feature, row[j] ?? null) - feature.expected;
    }
    phi[f] = this.model.expected_value;
    return phi;
  }

  explainBatch(rows: Float64Array, nRows: number): Float64Array {
    const f = this.features.length;
    if (!Number.isInteger(nRows) || nRows < 0 || rows.length < nRows * f) {
      throw new Error(`explainBatch: ${rows.length} values do not hold ${nRows} rows of ${f} features`);
    }
    const out = new Float64Array(nRows * (f + 1));
    for (let r = 0; r < nRows; r++) out.set(this.explain(rows.subarray(r * f, (r + 1) * f)), r * (f + 1));
    return out;
  }

  tableBytes(): number {
    return 0;
  }

  predictRaw(row: ArrayLike<number | null>): number {
    let sum = this.model.intercept;
    for (let j = 0; j < this.features.length; j++) sum += contribution(this.features[j]!, row[j] ?? null);
    return sum;
  }
}

/** Loads the linear model's model.json (parsed, or a file path) as an explainer with the tree interface. */
export function loadLinearExplainer(source: unknown): TreeExplainer {
  const name = typeof source === 'string' ? source : 'linear model.json';
  const dump: unknown = typeof source === 'string' ? JSON.parse(readFileSync(source, 'utf8')) : source;
  const parsed = linearModelSchema.safeParse(dump);
  if (!parsed.success) throw new Error(`${name}: not a linear model.json: ${parsed.error.message}`);
  if (parsed.data.features.length !== parsed.data.feature_names.length) {
    throw new Error(
      `${name}: ${parsed.data.features.length} features for ${parsed.data.feature_names.length} names`,
    );
  }
  return new LinearShapExplainer(parsed.data);
}
