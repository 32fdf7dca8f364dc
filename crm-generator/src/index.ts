export { generateDataset, FILES, ERP_COLUMNS, MARKETING_COLUMNS, GENERATOR_VERSION } from './generate.js';
export type { GenerateOptions, Manifest } from './generate.js';
export {
  bayesConversionProbability,
  bayesProbabilityFromCounts,
  countEventsUpTo,
  computeEta,
  computeEventLogMultiplier,
  standardSnapshotTimes,
  snapshotLabel,
  HazardSchedule,
  DEFAULT_GROUND_TRUTH_PARAMS,
} from './ground-truth.js';
export type { GroundTruthParams, LeadGroundTruth, LeadDrivers, ObservedEvent } from './ground-truth.js';
export { computeBayesAuc, readManifest } from './bayes-auc.js';
export { rocAuc } from './roc-auc.js';
export { caseSafeSuffix, to18, isValidId18, KEY_PREFIX } from './ids.js';
export { readNdjsonGz } from './ndjson.js';
export * from './fields.js';
export {
  BUDGET_BANDS,
  COLOURS,
  CUSTOM_FIELDS_METADATA_DIR,
  DEFAULT_CUSTOM_FIELD_PARAMS,
  type CustomFieldParams,
} from './custom-fields.js';
