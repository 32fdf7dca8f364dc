import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FEATURE_SPEC_FILE,
  TRAINING_SET_FILE,
  canonicalJson,
  featureSpecHash,
  makeFeatureSpec,
  readFeatureSpec,
  writeTrainingSet,
} from '../src/features/training-set-file.js';
import type { FeatureSpec, TrainingRow } from '../src/features/training-set-file.js';
import { leadrankPython } from '../src/model/python.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const spec: FeatureSpec = makeFeatureSpec('unit', [
  { name: 'visits', kind: 'numeric', description: 'visits' },
  { name: 'has_phone', kind: 'boolean', description: 'phone on file' },
  { name: 'industry', kind: 'categorical', categories: ['Tech', 'Retail', 'Bank'], description: 'industry' },
]);

function rowAt(i: number): TrainingRow {
  return {
    leadId: `L${i}`,
    snapshotAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
    label: i % 3 === 0 ? 1 : 0,
    segments: { region: i % 4 === 0 ? null : `R${i % 4}`, leadSource: 'Web', industry: null },
    values: [i % 5 === 0 ? null : i * 0.5, i % 2, i % 7 === 0 ? null : i % 3],
    baselineScore: i % 11 === 0 ? null : i % 100,
  };
}

describe('writeTrainingSet / readFeatureSpec', () => {
  let dir: string;
  const n = 250;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'training-set-'));
    async function* rows(): AsyncGenerator<TrainingRow> {
      for (let i = 0; i < n; i++) yield rowAt(i);
    }
    // Several row groups (100 + 100 + 50), fed from an async iterable.
    await writeTrainingSet(dir, spec, rows(), { rowGroupSize: 100, withBaseline: true });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads back every column and null with hyparquet', async () => {
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(join(dir, TRAINING_SET_FILE)) });
    expect(rows).toHaveLength(n);
    for (const i of [0, 5, 7, 99, 100, 249]) {
      const want = rowAt(i);
      const got = rows[i] as Record<string, unknown>;
      expect(got.lead_id).toBe(want.leadId);
      expect((got.snapshot_at as Date).getTime()).toBe(want.snapshotAt.getTime());
      expect(got.label).toBe(want.label);
      expect(got.seg_region).toBe(want.segments.region);
      expect(got.seg_company_size).toBeNull();
      expect([got.visits, got.has_phone, got.industry]).toEqual(want.values);
      expect(got.baseline_score).toBe(want.baselineScore);
    }
  });

  it('round-trips through pyarrow and the Python loader (same spec hash, same values)', () => {
    const script = [
      'import json, sys',
      'import pyarrow.parquet as pq',
      'from leadrank_training.dataset import load_training_set',
      'ts = load_training_set(sys.argv[1])',
      'schema = pq.read_schema(sys.argv[1] + "/training-set.parquet")',
      'print(json.dumps({"rows": len(ts.frame), "snapshot_type": str(schema.field("snapshot_at").type),',
      '  "label_type": str(schema.field("label").type), "names": ts.feature_names,',
      '  "row7": [None if v != v else v for v in ts.features[7].tolist()],',
      '  "first": ts.frame["snapshot_at"].iloc[1].isoformat(), "positives": int(ts.labels.sum()),',
      '  "baseline_nulls": int(ts.frame["baseline_score"].isna().sum())}))',
    ].join('\n');
    const out = execFileSync(leadrankPython(), ['-c', script, dir], {
      env: { ...process.env, PYTHONPATH: join(repoRoot, 'training') },
      encoding: 'utf8',
    });
    const got = JSON.parse(out) as Record<string, unknown>;
    expect(got.rows).toBe(n);
    expect(got.snapshot_type).toBe('timestamp[ms, tz=UTC]');
    expect(got.label_type).toBe('int32');
    expect(got.names).toEqual(['visits', 'has_phone', 'industry']);
    expect(got.row7).toEqual(rowAt(7).values);
    expect(got.first).toBe('2024-01-01T00:01:00+00:00');
    expect(got.positives).toBe(
      Array.from({ length: n }, (_, i) => rowAt(i).label).filter((l) => l === 1).length,
    );
    expect(got.baseline_nulls).toBe(Math.ceil(n / 11));
  });

  it('validates the spec it reads, including the hash', async () => {
    await expect(readFeatureSpec(dir)).resolves.toEqual(spec);
    const tampered = JSON.parse(await readFile(join(dir, FEATURE_SPEC_FILE), 'utf8')) as FeatureSpec;
    tampered.features[0]!.description = 'changed';
    const other = await mkdtemp(join(tmpdir(), 'training-spec-'));
    await writeFile(join(other, FEATURE_SPEC_FILE), JSON.stringify(tampered));
    await expect(readFeatureSpec(other)).rejects.toThrow(/hash/);
    await rm(other, { recursive: true, force: true });
  });

  it('rejects rows that break the contract', async () => {
    const other = await mkdtemp(join(tmpdir(), 'training-bad-'));
    const bad = (patch: Partial<TrainingRow>) => writeTrainingSet(other, spec, [{ ...rowAt(1), ...patch }]);
    await expect(bad({ values: [1, 0] })).rejects.toThrow(/2 values for 3 features/);
    await expect(bad({ values: [1, 0, 3] })).rejects.toThrow(/not a category index/);
    await expect(bad({ values: [1, 0.5, 1] })).rejects.toThrow(/0\/1/);
    await rm(other, { recursive: true, force: true });
  });
});

describe('featureSpecHash', () => {
  it('hashes canonical JSON: key order does not matter, content does', () => {
    const a = [{ name: 'x', kind: 'numeric' as const, description: 'd' }];
    const b = [{ description: 'd', kind: 'numeric' as const, name: 'x' }];
    expect(canonicalJson(b)).toBe('[{"description":"d","kind":"numeric","name":"x"}]');
    expect(featureSpecHash(a)).toBe(featureSpecHash(b));
    expect(featureSpecHash(a)).not.toBe(featureSpecHash([{ ...a[0]!, description: 'e' }]));
  });
});
