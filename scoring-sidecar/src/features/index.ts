// features/: one definition of every model input, computed the same way online and offline.
export {
  EVENT_TYPES,
  type EventType,
  type EngagementEvent,
  engagementEventSchema,
  utcDay,
} from './events.js';
export { EventAggregates, type EventAggregatesJson, MAX_WINDOW_DAYS } from './event-aggregates.js';
export {
  AsOfHistory,
  type ErpExtractRow,
  type MarketingExtractRow,
  erpExtractRowSchema,
  marketingExtractRowSchema,
  knownFromMs,
} from './extracts.js';
export {
  type LeadProfile,
  leadProfileSchema,
  leadProfileFromRow,
  LEAD_FIELD_SENSITIVITY,
  LEAD_PROFILE_FIELDS,
  parseSalesforceDateTime,
} from './lead-profile.js';
export {
  LEAD_CONVERSION_FEATURES,
  type FeatureDefinition,
  type FeatureInputs,
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
export { buildFeatureSpec, encodeFeatures, featuresForSpec, CategoryCounter } from './feature-spec.js';
export {
  type FeatureSpec,
  type TrainingRow,
  type Segments,
  SEGMENT_COLUMNS,
  writeTrainingSet,
  readFeatureSpec,
  featureSpecSchema,
} from './training-set-file.js';
