// scoring/: the scoring pipeline (pipeline.ts) and its online door (micro-batched, deadline, audited).
export {
  checkProbabilities,
  reasonLine,
  ScoringPipeline,
  type Contributions,
  type Encoded,
  type NextBestActionResult,
  type PipelineLead,
  type PipelineOptions,
  type PipelineScore,
  type Reason,
  type ScoreSource,
  type StageTimer,
} from './pipeline.js';
export {
  createScoringService,
  StoreUnavailable,
  type AuditSink,
  type FallbackReason,
  type LeadNotFound,
  type LeadScore,
  type ScoreAuditEntry,
  type ScoreContext,
  type ScoreInput,
  type ScoreOutcome,
  type ScoringMetrics,
  type ScoringService,
  type ScoringServiceOptions,
} from './scoring-service.js';
export {
  fixedModelSource,
  holderModelSource,
  loadDirectoryModelSource,
  loadServingModel,
  prepareServingExtras,
  registryModelSource,
  type RegistryModelSourceOptions,
  type ServingExtras,
  type ModelSource,
  type ModelStatus,
  type ServingModel,
} from './model-source.js';
export { MicroBatcher } from './micro-batcher.js';
export { rescoreAfterEvents } from './event-rescore.js';
export {
  DEAL_PSEUDO_FIELDS,
  dealRecord,
  loadDealConfig,
  opportunityModelSource,
  opportunityModelSourceFromEnv,
  OpportunityScorer,
  type DealConfig,
  type OpportunityScore,
  type OpportunityScored,
  type OpportunityModelOptions,
  type OpportunityScorerOptions,
} from './opportunity-scoring.js';
