// Training-side distributions that drift is measured against. The model card has no per-feature
// distributions, so they are computed here from the training set's Parquet (encoded values, the same vectors
// the model saw) and stored beside the model as baseline-stats.json.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { quantileSorted } from 'simple-statistics';
import { z } from 'zod';
import { readFeatureSpec, type FeatureSpec } from '../features/index.js';

export const BASELINE_FILE = 'baseline-stats.json';

const binsSchema = z.discriminatedUnion('kind', [
  /** Numeric: right-closed bins (-∞, e0], (e0, e1], …, (e_last, ∞). */
  z.object({ kind: z.literal('edges'), edges: z.array(z.number()) }),
  /** Categorical or boolean: one bin per code, plus a last bin for codes never seen in training. */
  z.object({ kind: z.literal('codes'), codes: z.array(z.number()) }),
]);
export type Bins = z.infer<typeof binsSchema>;

export const featureBaselineSchema = z.object({
  name: z.string(),
  kind: z.enum(['numeric', 'boolean', 'categorical']),
  missingRate: z.number(),
  bins: binsSchema,
  /** Share of non-missing rows in each bin. */
  proportions: z.array(z.number()),
});
export type FeatureBaseline = z.infer<typeof featureBaselineSchema>;

export const baselineSchema = z.object({
  specName: z.string(),
  specHash: z.string(),
  rows: z.number(),
  createdAt: z.string(),
  features: z.array(featureBaselineSchema),
  /** Predicted probability on the training rows, when a model scored them. */
  score: featureBaselineSchema.nullable(),
  /**
   * Per region (US, EU): the same bins, that region's shares. A deployment serves one region, so its scores are
   * compared with its own training population; against the mixed one, `region` and `country` would always alert.
   */
  regions: z.record(z.string(), z.array(featureBaselineSchema)).optional(),
});
export type Baseline = z.infer<typeof baselineSchema>;

/** Training rows a region needs before it gets a baseline of its own (else the mixed one is used). */
export const MIN_REGION_BASELINE_ROWS = 500;

/** The feature baselines a region's scores are compared with: its own when trained on enough of its rows. */
export function featureBaselinesFor(baseline: Baseline, region: string): FeatureBaseline[] {
  return baseline.regions?.[region] ?? baseline.features;
}

/** Index of the bin a value falls in (missing values never reach here). */
export function binOf(bins: Bins, value: number): number {
  if (bins.kind === 'codes') {
    const i = bins.codes.indexOf(value);
    return i < 0 ? bins.codes.length : i;
  }
  let lo = 0;
  let hi = bins.edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= bins.edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function binCount(bins: Bins): number {
  return bins.kind === 'codes' ? bins.codes.length + 1 : bins.edges.length + 1;
}

/** Histogram of non-missing values over the bins, as shares (empty → all zeros), and the missing rate. */
export function histogram(
  bins: Bins,
  values: Iterable<number | null>,
): { proportions: number[]; missingRate: number; n: number } {
  const counts = new Array<number>(binCount(bins)).fill(0);
  let missing = 0;
  let n = 0;
  for (const v of values) {
    n += 1;
    if (v === null || Number.isNaN(v)) missing += 1;
    else counts[binOf(bins, v)]! += 1;
  }
  const present = n - missing;
  return {
    proportions: counts.map((c) => (present > 0 ? c / present : 0)),
    missingRate: n > 0 ? missing / n : 0,
    n,
  };
}

/** Decile edges of a numeric column (distinct values only, so a spike at 0 is one bin). */
export function decileEdges(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  const sorted = Float64Array.from(values).sort();
  const edges = new Set<number>();
  for (let q = 1; q < 10; q++) edges.add(quantileSorted(sorted as unknown as number[], q / 10));
  return [...edges].sort((a, b) => a - b);
}

export function featureBaseline(
  name: string,
  kind: FeatureBaseline['kind'],
  values: readonly (number | null)[],
): FeatureBaseline {
  const present = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  const bins: Bins =
    kind === 'numeric'
      ? { kind: 'edges', edges: decileEdges(present) }
      : { kind: 'codes', codes: [...new Set(present)].sort((a, b) => a - b) };
  const h = histogram(bins, values);
  return { name, kind, missingRate: h.missingRate, bins, proportions: h.proportions };
}

/** Baseline from column-wise encoded values (one array per spec feature, in spec order). */
export function computeBaseline(
  spec: FeatureSpec,
  columns: readonly (readonly (number | null)[])[],
  scores: readonly number[] | null = null,
  rowRegions: readonly (string | null)[] | null = null,
): Baseline {
  const features = spec.features.map((f, i) => featureBaseline(f.name, f.kind, columns[i] ?? []));
  const regions: Record<string, FeatureBaseline[]> = {};
  if (rowRegions) {
    const rowsOf = new Map<string, number[]>();
    rowRegions.forEach((region, row) => {
      if (region === null) return;
      const list = rowsOf.get(region);
      if (list) list.push(row);
      else rowsOf.set(region, [row]);
    });
    for (const [region, rows] of rowsOf) {
      if (rows.length < MIN_REGION_BASELINE_ROWS) continue;
      regions[region] = features.map((f, i) => {
        const column = columns[i] ?? [];
        const h = histogram(
          f.bins,
          rows.map((r) => column[r] ?? null),
        );
        return { ...f, missingRate: h.missingRate, proportions: h.proportions };
      });
    }
  }
  return {
    specName: spec.name,
    specHash: spec.hash,
    rows: columns[0]?.length ?? 0,
    createdAt: new Date().toISOString(),
    features,
    score: scores ? featureBaseline('score', 'numeric', scores) : null,
    ...(Object.keys(regions).length > 0 ? { regions } : {}),
  };
}

/**
 * Reads a training-set directory (training-set.parquet + feature-spec.json) into a baseline. With `predict`
 * (the model's calibrated probabilities of row-major rows, NaN = missing), the baseline also holds the
 * distribution of the model's scores on the training set, which prediction drift compares against.
 */
export async function baselineFromTrainingSet(
  dir: string,
  predict?: (rows: Float32Array, nRows: number) => Promise<Float64Array>,
): Promise<Baseline> {
  const spec = await readFeatureSpec(dir);
  const file = await asyncBufferFromFile(join(dir, 'training-set.parquet'));
  const names = spec.features.map((f) => f.name);
  const rows = await parquetReadObjects({ file, columns: names });
  const columns = names.map((n) =>
    rows.map((r) => {
      const v = r[n] as number | bigint | null | undefined;
      return v === null || v === undefined ? null : Number(v);
    }),
  );
  // The row's region is the spec's own `region` feature (a category code), when the spec has one.
  const regionIndex = spec.features.findIndex((f) => f.name === 'region' && f.kind === 'categorical');
  const categories = regionIndex >= 0 ? (spec.features[regionIndex]!.categories ?? []) : [];
  const rowRegions =
    regionIndex >= 0
      ? columns[regionIndex]!.map((code) => (code === null ? null : (categories[code] ?? null)))
      : null;
  let scores: number[] | null = null;
  if (predict) {
    const nRows = rows.length;
    const width = names.length;
    const matrix = new Float32Array(nRows * width);
    for (let r = 0; r < nRows; r++)
      for (let f = 0; f < width; f++) matrix[r * width + f] = columns[f]![r] ?? Number.NaN;
    scores = [...(await predict(matrix, nRows))];
  }
  return computeBaseline(spec, columns, scores, rowRegions);
}

export async function writeBaseline(modelDir: string, baseline: Baseline): Promise<string> {
  const file = join(modelDir, BASELINE_FILE);
  await writeFile(file, `${JSON.stringify(baseline)}\n`);
  return file;
}

export async function loadBaseline(file: string): Promise<Baseline> {
  return baselineSchema.parse(JSON.parse(await readFile(file, 'utf8')));
}
