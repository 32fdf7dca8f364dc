// Loads a model directory written by `python -m leadrank_training.train` and scores feature rows with
// onnxruntime-node: ONNX LightGBM probabilities, then calibration.json.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { readFeatureSpec, type FeatureSpec } from '../features/index.js';
import { applyCalibration, readCalibration } from './onnx-calibration.js';
import type { Calibration } from './onnx-calibration.js';

const INPUT = 'features';
const PROBABILITIES = 'probabilities';
/** Same files and framing as content_version() in training/leadrank_training/model_card.py. */
const VERSIONED_ARTIFACTS = ['model.onnx', 'calibration.json', 'feature-spec.json'] as const;

const modelCardSchema = z.object({
  version: z.string(),
  feature_spec: z.object({ hash: z.string() }),
});

export interface OnnxModel {
  /** Content hash of the model artifacts (model_card.json `version`). */
  version: string;
  spec: FeatureSpec;
  calibration: Calibration;
  /** Calibrated P(convert) per row; `rows` is row-major, nRows x spec.features.length, NaN = missing. */
  predict(rows: Float32Array, nRows: number): Promise<Float64Array>;
  /** The ONNX model's probabilities before calibration (for diagnostics and parity checks). */
  predictUncalibrated(rows: Float32Array, nRows: number): Promise<Float32Array>;
  close(): Promise<void>;
}

async function contentVersion(modelDir: string): Promise<string> {
  const digest = createHash('sha256');
  for (const name of VERSIONED_ARTIFACTS) {
    const data = await readFile(join(modelDir, name));
    digest.update(Buffer.concat([Buffer.from(`${name}\0${data.length}\0`), data]));
  }
  return `lr-${digest.digest('hex').slice(0, 16)}`;
}

export async function loadOnnxModel(modelDir: string): Promise<OnnxModel> {
  const card = modelCardSchema.parse(JSON.parse(await readFile(join(modelDir, 'model_card.json'), 'utf8')));
  const spec = await readFeatureSpec(modelDir);
  const calibration = await readCalibration(join(modelDir, 'calibration.json'));
  const actual = await contentVersion(modelDir);
  if (actual !== card.version) {
    throw new Error(
      `model artifacts in ${modelDir} hash to ${actual}, but model_card.json says ${card.version}`,
    );
  }
  if (card.feature_spec.hash !== spec.hash) throw new Error('model_card.json and feature-spec.json disagree');
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const nFeatures = spec.features.length;

  const predictUncalibrated = async (rows: Float32Array, nRows: number): Promise<Float32Array> => {
    if (!Number.isInteger(nRows) || nRows < 0 || rows.length !== nRows * nFeatures) {
      throw new Error(`expected ${nRows} x ${nFeatures} values, got ${rows.length}`);
    }
    if (nRows === 0) return new Float32Array(0);
    const result = await session.run({ [INPUT]: new ort.Tensor('float32', rows, [nRows, nFeatures]) }, [
      PROBABILITIES,
    ]);
    const probabilities = result[PROBABILITIES]?.data; // [nRows, 2]: P(0), P(1)
    if (!(probabilities instanceof Float32Array) || probabilities.length !== 2 * nRows) {
      throw new Error(`model.onnx did not return float32 '${PROBABILITIES}' of shape [${nRows}, 2]`);
    }
    const positive = new Float32Array(nRows);
    for (let i = 0; i < nRows; i++) positive[i] = probabilities[2 * i + 1] as number;
    return positive;
  };

  return {
    version: card.version,
    spec,
    calibration,
    predictUncalibrated,
    predict: async (rows, nRows) => applyCalibration(calibration, await predictUncalibrated(rows, nRows)),
    close: () => session.release(),
  };
}
