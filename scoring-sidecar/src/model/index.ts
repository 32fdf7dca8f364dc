export { loadOnnxModel } from './onnx-scorer.js';
export type { OnnxModel } from './onnx-scorer.js';
export { applyCalibration, calibrationSchema, readCalibration } from './onnx-calibration.js';
export type { Calibration } from './onnx-calibration.js';
export { ALIASES, ModelRegistry, TARGETS, type ModelTarget } from './registry.js';
export { readScoreScale, scoreFromProbability } from './score-scale.js';
export { ModelHolder } from './model-holder.js';
export { leadrankPython, pythonModuleOutput, runPythonModule } from './python.js';
export * from './rules/index.js';
export {
  checkModelResidency,
  loadResidencyConfig,
  readTrainingSetResidency,
  RESIDENCY_FILE,
  residencySchema,
  type Residency,
  type ResidencyConfig,
} from './residency.js';
