// features/: one definition of every model input, computed the same way online and offline, from inputs/.
export {
  LEAD_CONVERSION_FEATURES,
  type FeatureDefinition,
  type FeatureValue,
  computeFeatures,
  validateFeatureSet,
  titleSeniority,
} from './definitions.js';
export {
  snapshotsOf,
  featuresAsOf,
  type LeadHistory,
  type LeadFieldChange,
  type Snapshot,
} from './point-in-time.js';
export { featureHash } from './feature-hash.js';
export { buildFeatureSpec, encodeFeatures, featuresForSpec, CategoryCounter } from './feature-spec.js';
export {
  type FeatureSpec,
  type TrainingRow,
  type Segments,
  SEGMENT_COLUMNS,
  writeTrainingSet,
  readFeatureSpec,
  featureSpecSchema,
  makeFeatureSpec,
  type FeatureDefinition as FeatureSpecEntry,
} from './training-set-file.js';
export {
  buildTrainingSet,
  DEFAULT_SNAPSHOT_DESIGN,
  type BuildResult,
  type SnapshotDesign,
} from './training-set-builder.js';
