// The training-set contract shared with the Python trainer (training/leadrank_training/dataset.py):
// a directory with `training-set.parquet` and `feature-spec.json`. See docs/model.md.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ParquetWriter } from 'hyparquet-writer';
import { fileWriter } from 'hyparquet-writer';
import type { ColumnSource, SchemaElement } from 'hyparquet-writer';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.js';
import { specSourceSchema, type SpecSource } from './spec-source.js';

export { canonicalJson };

export const TRAINING_SET_FILE = 'training-set.parquet';
export const FEATURE_SPEC_FILE = 'feature-spec.json';

/** Segment columns, in file order; the row field each one is read from. */
export const SEGMENT_COLUMNS = {
  seg_region: 'region',
  seg_lead_source: 'leadSource',
  seg_industry: 'industry',
  seg_company_size: 'companySize',
} as const;
export type SegmentColumn = keyof typeof SEGMENT_COLUMNS;
export type Segments = Partial<Record<(typeof SEGMENT_COLUMNS)[SegmentColumn], string | null>>;

const featureSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
    kind: z.enum(['numeric', 'boolean', 'categorical']),
    categories: z.array(z.string()).optional(),
    description: z.string(),
  })
  .refine((f) => (f.kind === 'categorical') === (f.categories !== undefined), {
    message: 'categories is required for categorical features and only for them',
  });

export const featureSpecSchema = z
  .object({
    specVersion: z.literal(1),
    name: z.string().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    features: z.array(featureSchema).min(1),
    label: z.object({ name: z.literal('label'), horizonDays: z.number().int().positive() }),
    snapshotTime: z.literal('snapshot_at'),
    segments: z.array(z.enum(Object.keys(SEGMENT_COLUMNS) as [SegmentColumn, ...SegmentColumn[]])),
    /**
     * The spec configuration (config/features/<target>.json) the features were computed from: content, hash
     * and overrides. It travels into the model (feature-spec.json is a versioned artifact) and its card.
     * Absent in training sets written before specs were configuration, or built by hand in tests.
     */
    source: specSourceSchema.optional(),
    /**
     * The training target the labels and snapshot instants follow (features/target.ts: builder, outcome, time
     * axis, horizon, schedule). Absent in training sets written before targets were configuration.
     */
    target: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((s) => new Set(s.features.map((f) => f.name)).size === s.features.length, {
    message: 'feature names must be unique',
  })
  .refine((s) => s.hash === featureSpecHash(s.features), {
    message: 'hash does not match the features array',
  });

export type FeatureDefinition = z.infer<typeof featureSchema>;
export type FeatureSpec = z.infer<typeof featureSpecSchema>;

export interface TrainingRow {
  leadId: string;
  snapshotAt: Date;
  label: 0 | 1;
  segments: Segments;
  /** One value per spec feature, in spec order; categorical values are category indexes; null = missing. */
  values: readonly (number | null)[];
  /** Optional rules-only score for the baseline comparison in the evaluation report. */
  baselineScore?: number | null;
  /**
   * Optional Bayes-optimal probability, known only for simulated data (the generator's ground truth): the
   * ceiling any model can reach on these rows. Evaluation only, never a feature.
   */
  ceilingScore?: number | null;
}

/** sha256 (hex) of the canonical JSON of the features array. */
export function featureSpecHash(features: readonly FeatureDefinition[]): string {
  return createHash('sha256').update(canonicalJson(features), 'utf8').digest('hex');
}

/** Builds a valid spec (hash filled in) from its parts. */
export function makeFeatureSpec(
  name: string,
  features: FeatureDefinition[],
  options: {
    horizonDays?: number;
    segments?: SegmentColumn[];
    source?: SpecSource;
    target?: Record<string, unknown>;
  } = {},
): FeatureSpec {
  return featureSpecSchema.parse({
    specVersion: 1,
    name,
    hash: featureSpecHash(features),
    features,
    label: { name: 'label', horizonDays: options.horizonDays ?? 30 },
    snapshotTime: 'snapshot_at',
    segments: options.segments ?? Object.keys(SEGMENT_COLUMNS),
    ...(options.source ? { source: options.source } : {}),
    ...(options.target ? { target: options.target } : {}),
  });
}

export async function readFeatureSpec(dir: string): Promise<FeatureSpec> {
  const raw: unknown = JSON.parse(await readFile(join(dir, FEATURE_SPEC_FILE), 'utf8'));
  return featureSpecSchema.parse(raw);
}

function schemaFor(spec: FeatureSpec, withBaseline: boolean, withCeiling: boolean): SchemaElement[] {
  const optionalString = (name: string): SchemaElement => ({
    name,
    type: 'BYTE_ARRAY',
    converted_type: 'UTF8',
    repetition_type: 'OPTIONAL',
  });
  const optionalDouble = (name: string): SchemaElement => ({
    name,
    type: 'DOUBLE',
    repetition_type: 'OPTIONAL',
  });
  const columns: SchemaElement[] = [
    { name: 'lead_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    {
      name: 'snapshot_at',
      type: 'INT64',
      converted_type: 'TIMESTAMP_MILLIS',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      repetition_type: 'REQUIRED',
    },
    { name: 'label', type: 'INT32', repetition_type: 'REQUIRED' },
    ...Object.keys(SEGMENT_COLUMNS).map(optionalString),
    ...spec.features.map((f) => optionalDouble(f.name)),
    ...(withBaseline ? [optionalDouble('baseline_score')] : []),
    ...(withCeiling ? [optionalDouble('ceiling_score')] : []),
  ];
  return [{ name: 'root', num_children: columns.length }, ...columns];
}

function checkRow(spec: FeatureSpec, row: TrainingRow, index: number): void {
  if (row.values.length !== spec.features.length) {
    throw new Error(`row ${index}: ${row.values.length} values for ${spec.features.length} features`);
  }
  if (row.label !== 0 && row.label !== 1) throw new Error(`row ${index}: label must be 0 or 1`);
  if (Number.isNaN(row.snapshotAt.getTime())) throw new Error(`row ${index}: invalid snapshotAt`);
  spec.features.forEach((f, j) => {
    const v = row.values[j];
    if (v === null || v === undefined || Number.isNaN(v)) return;
    if (f.kind === 'categorical' && !(Number.isInteger(v) && v >= 0 && v < (f.categories?.length ?? 0))) {
      throw new Error(`row ${index}: ${f.name} = ${v} is not a category index`);
    }
    if (f.kind === 'boolean' && v !== 0 && v !== 1) throw new Error(`row ${index}: ${f.name} must be 0/1`);
  });
}

export interface WriteTrainingSetOptions {
  /** Rows per Parquet row group (memory use is about this many rows). */
  rowGroupSize?: number;
  /** Write a `baseline_score` column (from each row's baselineScore). */
  withBaseline?: boolean;
  /** Write a `ceiling_score` column (from each row's ceilingScore). */
  withCeiling?: boolean;
}

/**
 * Writes `feature-spec.json` and `training-set.parquet` into `dir`, streaming one row group at a time.
 * The Parquet file is written under a temporary name and renamed when complete.
 */
export async function writeTrainingSet(
  dir: string,
  spec: FeatureSpec,
  rows: AsyncIterable<TrainingRow> | Iterable<TrainingRow>,
  options: WriteTrainingSetOptions = {},
): Promise<{ rows: number }> {
  const checked = featureSpecSchema.parse(spec);
  const groupSize = options.rowGroupSize ?? 50_000;
  const withBaseline = options.withBaseline ?? false;
  const withCeiling = options.withCeiling ?? false;
  await mkdir(dir, { recursive: true });
  const partial = join(dir, `${TRAINING_SET_FILE}.partial`);
  const writer = new ParquetWriter({
    writer: fileWriter(partial),
    schema: schemaFor(checked, withBaseline, withCeiling),
  });

  let buffer: TrainingRow[] = [];
  let count = 0;
  const flush = async (): Promise<void> => {
    if (buffer.length === 0) return;
    const b = buffer;
    const nullable = (x: number | null | undefined): number | null =>
      x === undefined || x === null || Number.isNaN(x) ? null : x;
    const columnData: ColumnSource[] = [
      { name: 'lead_id', data: b.map((r) => r.leadId) },
      { name: 'snapshot_at', data: b.map((r) => r.snapshotAt) },
      { name: 'label', data: b.map((r) => r.label) },
      ...Object.entries(SEGMENT_COLUMNS).map(([column, field]) => ({
        name: column,
        data: b.map((r) => r.segments[field] ?? null),
      })),
      ...checked.features.map((f, j) => ({
        name: f.name,
        data: b.map((r) => nullable(r.values[j])),
      })),
      ...(withBaseline ? [{ name: 'baseline_score', data: b.map((r) => nullable(r.baselineScore)) }] : []),
      ...(withCeiling ? [{ name: 'ceiling_score', data: b.map((r) => nullable(r.ceilingScore)) }] : []),
    ];
    await writer.write({ columnData, rowGroupSize: b.length });
    buffer = [];
  };

  for await (const row of rows) {
    checkRow(checked, row, count);
    buffer.push(row);
    count += 1;
    if (buffer.length >= groupSize) await flush();
  }
  await flush();
  await writer.finish();
  await rename(partial, join(dir, TRAINING_SET_FILE));
  await writeFile(join(dir, FEATURE_SPEC_FILE), `${JSON.stringify(checked, null, 2)}\n`);
  return { rows: count };
}
