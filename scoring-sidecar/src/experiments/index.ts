// experiments/: rep-randomized tests of rankings and models, from shadow to full rollout, with guardrails.
export { ExperimentService, TeamRequiredError, type ServingPlan, type ExposureInput } from './service.js';
export {
  ExperimentStore,
  ModeChangedError,
  type ExperimentMode,
  type ExperimentState,
  type OutcomeRow,
} from './store.js';
export {
  experimentDefinitionSchema,
  loadExperimentDefinition,
  type ExperimentDefinition,
  type ArmRanking,
} from './definition.js';
export { bucketOf, armForBucket } from './assignment.js';
export { buildReport, decide, type ExperimentReport, type Decision } from './analysis.js';
export { formatReport } from './report-text.js';
export { importOutcomes, importPrePeriod, readOutcomes } from './outcomes.js';
export {
  estimateDifference,
  sampleRatioMismatch,
  minimumDetectableEffect,
  repsNeeded,
  estimateIcc,
  type Estimate,
  type ClusterCell,
  type Arm,
} from './stats.js';
export {
  armScorings,
  countingScores,
  withShadowScoring,
  SHADOW_CALLER,
  type ScoreCounter,
} from './scoring-arms.js';
export { DEFAULT_SIMULATION, simulateIntoService } from './simulate.js';
export { seededUniform } from './stats.js';
