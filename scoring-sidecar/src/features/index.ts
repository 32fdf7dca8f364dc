// features/: one definition of every model input, computed the same way online and offline, from inputs/.
export {
  ACTIVE_SPEC,
  activeSpecFile,
  activeSpecFrom,
  FEATURE_SPEC_ENV,
  LEAD_CONVERSION_FEATURES,
  LEAD_FEATURE_CONFIG,
} from './lead-features.js';
export {
  type ActiveSpec,
  customFieldsRead,
  objectFieldsRead,
  servingDefinitions,
  specTarget,
  storedLeadFields,
} from './servability.js';
export {
  featureConfigHash,
  specOverrides,
  specSource,
  specSourceSchema,
  type SpecOverride,
  type SpecSource,
} from './spec-source.js';
export {
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
export { contextDeclarations, interpretSpec, type SpecInputs } from './interpreter.js';
export {
  FeatureSpecError,
  loadFeatureConfig,
  loadFeatureSpec,
  parseFeatureConfig,
  parseJsonWithPositions,
  type Path as JsonPath,
  type SpecCheckOptions,
} from './spec-loader.js';
export { featureConfigSchema, type FeatureConfig, type SpecFeature } from './spec-schema.js';
export { exclusionReason, type DescribeField } from './describe-policy.js';
export { LEAD_SPEC_FILE } from './lead-features.js';
export { recordTrainingSet, fieldsRead } from './record-training-set.js';
export {
  DEFAULT_TARGET,
  trainingTarget,
  type OutcomeField,
  type SnapshotSchedule,
  type TrainingTarget,
} from './target.js';
export { proposeSpec, fieldsToSample, type Proposal, type FieldDecision } from './propose.js';
export {
  buildFeatureSpec,
  encodeFeatures,
  featuresForSpec,
  CategoryCounter,
  OTHER_CATEGORY,
} from './feature-spec.js';
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
  readContextFolder,
  type BuildResult,
  type SnapshotDesign,
} from './training-set-builder.js';
export {
  OPPORTUNITY_ACTIVE_SPEC,
  OPPORTUNITY_CONFIG,
  OPPORTUNITY_SPEC_FILE,
  OPPORTUNITY_WIN_FEATURES,
  opportunityInputs,
} from './opportunity-features.js';
export { opportunityTrainingSet } from './opportunity-training-set.js';
