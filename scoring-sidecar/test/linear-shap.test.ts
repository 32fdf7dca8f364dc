// The logistic candidate end to end: Python trains it (leadrank_training.parity --family logistic), writes
// held-out rows, its probabilities and its exact linear SHAP values; onnxruntime-node must reproduce the
// probabilities (1e-5) and the TypeScript linear explainer the SHAP values (1e-9) from model.json.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExplainer } from '../src/explain/index.js';
import type { TreeExplainer } from '../src/explain/index.js';
import { loadOnnxModel } from '../src/model/index.js';
import type { OnnxModel } from '../src/model/index.js';
import { leadrankPython } from '../src/model/python.js';

const ROWS = 2000;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('logistic model: ONNX and linear SHAP parity with Python', () => {
  let work: string;
  let model: OnnxModel;
  let explainer: TreeExplainer;
  let names: string[];
  let rows: Float32Array;
  let expectedP: Float64Array;
  let expectedRaw: Float64Array;
  let expectedShap: Float64Array;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'linear-shap-'));
    execFileSync(
      leadrankPython(),
      ['-m', 'leadrank_training.parity', '--family', 'logistic', '--rows', String(ROWS), '--out', work],
      { cwd: repoRoot, env: { ...process.env, PYTHONPATH: join(repoRoot, 'training') }, stdio: 'pipe' },
    );
    const summary = JSON.parse(await readFile(join(work, 'parity.json'), 'utf8')) as { features: string[] };
    names = summary.features;
    model = await loadOnnxModel(join(work, 'model'));
    explainer = loadExplainer(join(work, 'model', 'model.json'));
    const records = await parquetReadObjects({
      file: await asyncBufferFromFile(join(work, 'parity-rows.parquet')),
    });
    const shap = await parquetReadObjects({
      file: await asyncBufferFromFile(join(work, 'parity-shap.parquet')),
    });
    rows = new Float32Array(records.length * names.length);
    records.forEach((r, i) =>
      names.forEach((name, j) => {
        const v = r[name] as number | null;
        rows[i * names.length + j] = v === null ? NaN : v;
      }),
    );
    expectedP = Float64Array.from(records, (r) => r.p_calibrated as number);
    expectedRaw = Float64Array.from(records, (r) => r.p_uncalibrated as number);
    const width = names.length + 1;
    expectedShap = new Float64Array(shap.length * width);
    shap.forEach((r, i) => {
      for (let j = 0; j < width; j++) expectedShap[i * width + j] = r[`shap_${j}`] as number;
    });
  }, 120_000);
  afterAll(async () => {
    await model?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('onnxruntime-node scores the linear model like Python', async () => {
    expect(JSON.parse(await readFile(join(work, 'model', 'model_card.json'), 'utf8')).model.type).toBe(
      'logistic',
    );
    const p = await model.predict(rows, ROWS);
    let max = 0;
    for (let i = 0; i < ROWS; i++) max = Math.max(max, Math.abs(p[i]! - expectedP[i]!));
    expect(max).toBeLessThanOrEqual(1e-5);
  });

  it('linear SHAP in TypeScript equals the Python values and sums to the log-odds', () => {
    expect(explainer.featureNames).toEqual(names);
    const width = names.length + 1;
    const phi = explainer.explainBatch(Float64Array.from(rows), ROWS);
    let max = 0;
    let sumErr = 0;
    let nonZero = 0;
    for (let i = 0; i < ROWS; i++) {
      let sum = 0;
      for (let j = 0; j < width; j++) {
        const v = phi[i * width + j]!;
        max = Math.max(max, Math.abs(v - expectedShap[i * width + j]!));
        sum += v;
        if (j < names.length && v !== 0) nonZero++;
      }
      const logit = Math.log(expectedRaw[i]!) - Math.log1p(-expectedRaw[i]!);
      sumErr = Math.max(sumErr, Math.abs(sum - logit));
    }
    expect(max).toBeLessThanOrEqual(1e-9);
    expect(sumErr).toBeLessThanOrEqual(1e-6); // float32 ONNX inputs vs float64 sum
    expect(nonZero).toBeGreaterThan(ROWS); // real explanations, not zeros
    // A wrong expected value would be caught at the same tolerance.
    const single = explainer.explain(Array.from(rows.subarray(0, names.length)));
    expect(Math.abs(single[names.length]! + 1e-6 - expectedShap[names.length]!)).toBeGreaterThan(1e-9);
  });
});
