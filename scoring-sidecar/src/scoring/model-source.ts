// What the scoring service needs of a model: calibrated predictions, its TreeSHAP explainer and the feature
// definitions in the model's order. `current()` is null when there is no model (the caller uses rules).
// Sources: one directory loaded at start-up (LEADRANK_MODEL_DIR), or the registry's ModelHolder (hot swap).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadExplainer, type TreeExplainer } from '../explain/index.js';
import {
  ACTIVE_SPEC,
  servingDefinitions,
  type ActiveSpec,
  type FeatureDefinition,
  type FeatureSpec,
} from '../features/index.js';
import type { Logger } from 'pino';
import {
  loadOnnxModel,
  ModelHolder,
  readScoreScale,
  scoreFromProbability,
  type ModelRegistry,
  type OnnxModel,
} from '../model/index.js';

export interface ServingModel {
  readonly version: string;
  readonly spec: FeatureSpec;
  /** The definitions that compute the model's spec, in its order (servability.ts). */
  readonly features: readonly FeatureDefinition[];
  readonly explainer: TreeExplainer;
  /** Probability to the 0-100 score (percentile among the validation period; see model/score-scale.ts). */
  toScore(probability: number): number;
  /** Calibrated P(convert) of nRows row-major rows (NaN = missing). */
  predict(rows: Float32Array, nRows: number): Promise<Float64Array>;
  close(): Promise<void>;
  /** The same predictor as an OnnxModel-shaped view (the batch cycle reads `onnx.spec` / `onnx.predict`). */
  readonly onnx: Pick<OnnxModel, 'spec' | 'predict' | 'close'>;
}

export interface ModelStatus {
  version: string | null;
  loadedAt: string | null;
  lastError: string | null;
  /**
   * A model is configured but none can be served (cannot be loaded or read): rules answer with
   * fallbackReason 'model_unavailable' rather than 'no_model' (none configured, or rules-only on purpose).
   */
  unavailable?: boolean;
}

export interface ModelSource {
  current(): ServingModel | null;
  status(): ModelStatus;
  close(): Promise<void>;
}

function checkExplainer(explainer: TreeExplainer, spec: FeatureSpec, modelDir: string): void {
  if (explainer.featureNames.join(',') !== spec.features.map((f) => f.name).join(',')) {
    throw new Error(`model.json features differ from feature-spec.json in ${modelDir}`);
  }
}

/** Loads a model directory (model.onnx, calibration, model.json, feature spec, card) for serving. */
export async function loadServingModel(
  modelDir: string,
  active: ActiveSpec = ACTIVE_SPEC,
): Promise<ServingModel> {
  const onnx = await loadOnnxModel(modelDir);
  try {
    const features = servingDefinitions(onnx.spec, active);
    const explainer = loadExplainer(join(modelDir, 'model.json'));
    checkExplainer(explainer, onnx.spec, modelDir);
    const scale = readScoreScale(modelDir);
    return {
      version: onnx.version,
      spec: onnx.spec,
      features,
      explainer,
      toScore: (p) => scoreFromProbability(p, scale),
      predict: (rows, n) => onnx.predict(rows, n),
      close: () => onnx.close(),
      onnx,
    };
  } catch (error) {
    await onnx.close();
    throw error;
  }
}

/** Wraps an already loaded model (or none) as a source that never changes. */
export function fixedModelSource(
  model: ServingModel | null,
  lastError: string | null = null,
  unavailable = false,
): ModelSource {
  const loadedAt = model ? new Date().toISOString() : null;
  return {
    current: () => model,
    status: () => ({ version: model?.version ?? null, loadedAt, lastError, unavailable }),
    close: async () => model?.close(),
  };
}

/**
 * One model directory loaded at start-up (LEADRANK_MODEL_DIR): the stand-in until the registry-backed
 * ModelHolder serves hot swaps. A directory that fails to load leaves the service in rules fallback.
 */
export async function loadDirectoryModelSource(
  modelDir: string | undefined,
  active?: ActiveSpec,
): Promise<ModelSource> {
  if (!modelDir) return fixedModelSource(null, 'no model directory configured');
  if (!existsSync(modelDir)) return fixedModelSource(null, `model directory ${modelDir} does not exist`);
  try {
    return fixedModelSource(await loadServingModel(modelDir, active));
  } catch (error) {
    // The directory is there but its model cannot be loaded or read (corrupt or missing files).
    return fixedModelSource(null, (error as Error).message, true);
  }
}

/** What the scoring service needs beyond the ONNX session, read by the ModelHolder before each swap. */
export interface ServingExtras {
  explainer: TreeExplainer;
  toScore: (probability: number) => number;
}

/** The ModelHolder's `prepare`: a version whose explainer or score scale cannot be read is never swapped in. */
export function prepareServingExtras(dir: string, model: Pick<OnnxModel, 'spec'>): ServingExtras {
  let explainer: TreeExplainer;
  try {
    explainer = loadExplainer(join(dir, 'model.json'));
  } catch (error) {
    throw new Error(`cannot read ${join(dir, 'model.json')}: ${(error as Error).message}`);
  }
  checkExplainer(explainer, model.spec, dir);
  const scale = readScoreScale(dir);
  return { explainer, toScore: (p) => scoreFromProbability(p, scale) };
}

/**
 * The registry's ModelHolder as a source: its current champion with the explainer and score scale the holder
 * read before the swap (`prepareServingExtras`), so serving never reads the cache directory again.
 */
export function holderModelSource(holder: ModelHolder<ServingExtras>): ModelSource {
  let cached: { version: string; model: ServingModel } | null = null;
  return {
    current: () => {
      const held = holder.current();
      if (!held) return null;
      if (cached?.version !== held.version) {
        const predict = (rows: Float32Array, n: number) => held.predict(rows, n);
        const close = async () => {}; // the holder releases its sessions
        cached = {
          version: held.version,
          model: {
            version: held.version,
            spec: held.spec,
            features: held.definitions,
            explainer: held.prepared.explainer,
            toScore: held.prepared.toScore,
            predict,
            close,
            onnx: { spec: held.spec, predict, close },
          },
        };
      }
      return cached.model;
    },
    status: () => {
      const s = holder.status();
      return {
        version: s.version,
        loadedAt: s.loadedAt,
        lastError: s.lastError,
        unavailable: s.version === null && s.lastError !== null,
      };
    },
    close: () => holder.stop(),
  };
}

export interface RegistryModelSourceOptions {
  /** The registry of the target to serve (ModelRegistry.open(url, region, target)). */
  registry: ModelRegistry;
  cacheDir: string;
  /** The spec to serve by: the lead active spec (default) or the deal spec for the opportunity registry. */
  active?: ActiveSpec;
  alias?: 'champion' | 'challenger';
  pollIntervalMs?: number;
  /** Run on each fetched version before the swap (residency); a throw keeps the current model. */
  check?: (modelDir: string) => Promise<unknown>;
  logger: Logger;
}

/**
 * The alias of a registry, hot-swapped by a ModelHolder: loaded now when set, then polled. A registry that
 * cannot be read leaves the source empty (rules answer) until it can.
 */
export async function registryModelSource(o: RegistryModelSourceOptions): Promise<ModelSource> {
  const holder = new ModelHolder<ServingExtras>({
    registry: o.registry,
    cacheDir: o.cacheDir,
    prepare: async (dir, model) => {
      await o.check?.(dir);
      return prepareServingExtras(dir, model);
    },
    logger: o.logger,
    ...(o.active ? { active: o.active } : {}),
    ...(o.alias ? { alias: o.alias } : {}),
    ...(o.pollIntervalMs ? { pollIntervalMs: o.pollIntervalMs } : {}),
  });
  try {
    await holder.start();
  } catch (error) {
    o.logger.warn(
      { err: (error as Error).message, target: o.registry.target },
      'model registry unavailable: scoring by rules until it answers',
    );
  }
  return holderModelSource(holder);
}
