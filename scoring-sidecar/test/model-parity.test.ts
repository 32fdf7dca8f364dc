// TS/Python parity: the Python trainer writes a model and the LightGBM(+calibration) probabilities for
// 10,000 held-out rows; the TypeScript loader (onnxruntime-node) must reproduce them within 1e-5.
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFeatureSpec, writeTrainingSet } from '../src/features/training-set-file.js';
import type { TrainingRow } from '../src/features/training-set-file.js';
import { applyCalibration, loadOnnxModel, readCalibration } from '../src/model/index.js';
import type { OnnxModel } from '../src/model/index.js';
import { leadrankPython } from '../src/model/python.js';
import { seeded } from './support/seeded.js';

const TOLERANCE = 1e-5;
const PARITY_ROWS = 10_000;
const TRAINING_ROWS = 70_000; // the 15 % test period holds 10,500 rows
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const INDUSTRIES = ['Tech', 'Finance', 'Health', 'Retail', 'Energy', 'Education'];
const SOURCES = ['Web', 'Referral', 'Event', 'Paid', 'Partner'];
const spec = makeFeatureSpec('parity-synthetic', [
  { name: 'visits', kind: 'numeric', description: 'web visits' },
  { name: 'minutes_on_site', kind: 'numeric', description: 'minutes on site' },
  { name: 'score_ratio', kind: 'numeric', description: 'an irrational-valued ratio' },
  { name: 'has_phone', kind: 'boolean', description: 'phone on file' },
  { name: 'industry', kind: 'categorical', categories: INDUSTRIES, description: 'industry' },
  { name: 'lead_source', kind: 'categorical', categories: SOURCES, description: 'lead source' },
]);

function* syntheticRows(n: number): Generator<TrainingRow> {
  const rand = seeded(42);
  const industryEffect = [0.7, 0.2, -0.1, -0.6, 0.3, -0.4];
  const sourceEffect = [0, 1.1, 0.4, -0.5, 0.8];
  for (let i = 0; i < n; i++) {
    const visits = rand() < 0.05 ? null : Math.floor(-Math.log(rand()) * 3);
    const minutes = Math.round(Math.exp(rand() * 5) * 10) / 10;
    const ratio = rand() < 0.1 ? null : Math.sqrt(rand()) / 3;
    const phone = rand() < 0.6 ? 1 : 0;
    const industry = rand() < 0.1 ? null : Math.floor(rand() * INDUSTRIES.length);
    const source = Math.floor(rand() * SOURCES.length);
    const z =
      -1.5 +
      0.25 * (visits ?? 1) +
      0.3 * Math.log1p(minutes) +
      (ratio ?? 0.2) +
      0.5 * phone +
      (industry === null ? -0.3 : (industryEffect[industry] ?? 0)) +
      (sourceEffect[source] ?? 0);
    yield {
      leadId: `P${i}`,
      snapshotAt: new Date(Date.UTC(2024, 0, 1) + i * 300_000),
      label: rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0,
      segments: {
        region: ['EMEA', 'NA', 'APAC'][i % 3] ?? null,
        leadSource: SOURCES[source] ?? null,
        industry: industry === null ? null : (INDUSTRIES[industry] ?? null),
        companySize: null,
      },
      values: [visits, minutes, ratio, phone, industry, source],
    };
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

describe('TS/Python model parity', () => {
  let work: string;
  let model: OnnxModel;
  let rows: Float32Array;
  const expected: Record<'calibrated' | 'uncalibrated' | 'platt' | 'isotonic', Float64Array> = {
    calibrated: new Float64Array(0),
    uncalibrated: new Float64Array(0),
    platt: new Float64Array(0),
    isotonic: new Float64Array(0),
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'model-parity-'));
    await writeTrainingSet(join(work, 'data'), spec, syntheticRows(TRAINING_ROWS));
    execFileSync(
      leadrankPython(),
      ['-m', 'leadrank_training.parity', '--data', join(work, 'data'), '--out', join(work, 'out')],
      { cwd: repoRoot, env: { ...process.env, PYTHONPATH: join(repoRoot, 'training') }, stdio: 'pipe' },
    );
    model = await loadOnnxModel(join(work, 'out', 'model'));
    const records = await parquetReadObjects({
      file: await asyncBufferFromFile(join(work, 'out', 'parity-rows.parquet')),
    });
    const names = spec.features.map((f) => f.name);
    rows = new Float32Array(records.length * names.length);
    records.forEach((r, i) =>
      names.forEach((name, j) => {
        const v = r[name] as number | null;
        rows[i * names.length + j] = v === null ? NaN : v;
      }),
    );
    for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
      expected[key] = Float64Array.from(records, (r) => r[`p_${key}`] as number);
    }
  });
  afterAll(async () => {
    await model?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('scores the 10,000 held-out rows like LightGBM + calibration (max |diff| <= 1e-5)', async () => {
    expect(expected.calibrated).toHaveLength(PARITY_ROWS);
    const p = await model.predict(rows, PARITY_ROWS);
    const diff = maxAbsDiff(p, expected.calibrated);
    console.log(`parity: ${PARITY_ROWS} rows, calibration ${model.calibration.method}, max |diff| ${diff}`);
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
    expect(model.spec.hash).toBe(spec.hash);
    expect(model.version).toMatch(/^lr-[0-9a-f]{16}$/);
  });

  it('matches each candidate calibration (Platt and isotonic) applied in TypeScript', async () => {
    const raw = await model.predictUncalibrated(rows, PARITY_ROWS);
    expect(maxAbsDiff(raw, expected.uncalibrated)).toBeLessThanOrEqual(TOLERANCE);
    for (const method of ['platt', 'isotonic'] as const) {
      const calibration = await readCalibration(join(work, 'out', `calibration-${method}.json`));
      expect(calibration.method).toBe(method);
      expect(maxAbsDiff(applyCalibration(calibration, raw), expected[method])).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('would catch a missing or wrong calibration at the same tolerance', async () => {
    const raw = await model.predictUncalibrated(rows, PARITY_ROWS);
    expect(maxAbsDiff(raw, expected.calibrated)).toBeGreaterThan(TOLERANCE);
    const platt = await readCalibration(join(work, 'out', 'calibration-platt.json'));
    if (platt.method !== 'platt') throw new Error('expected a Platt calibration');
    const wrong = applyCalibration({ ...platt, b: platt.b + 0.001 }, raw);
    expect(maxAbsDiff(wrong, expected.platt)).toBeGreaterThan(TOLERANCE);
  });

  it('refuses a model directory whose artifacts do not match the model card version', async () => {
    const copy = join(work, 'tampered');
    await cp(join(work, 'out', 'model'), copy, { recursive: true });
    const calibration = JSON.parse(await readFile(join(copy, 'calibration.json'), 'utf8')) as object;
    await writeFile(join(copy, 'calibration.json'), JSON.stringify({ ...calibration, method: 'none' }));
    await expect(loadOnnxModel(copy)).rejects.toThrow(/model_card.json says/);
  });

  it('checks the batch shape', async () => {
    await expect(model.predict(new Float32Array(5), 1)).rejects.toThrow(/expected 1 x 6 values/);
    await expect(model.predict(new Float32Array(0), 0)).resolves.toHaveLength(0);
  });
});
