// ranking/: a rep's worklist: candidate leads from a region's worklist index, ranked by expected value.
export type {
  ClosableWorklistIndex,
  RankedWorklist,
  ScoreBand,
  ScoreReason,
  ScoredCandidate,
  WorklistAction,
  WorklistIndex,
  WorklistItem,
  WorklistLead,
} from './types.js';
export {
  type RankingConfig,
  RankingConfigError,
  rankingConfigSchema,
  loadRankingConfig,
  parseRankingConfig,
  isInboundSource,
} from './config.js';
export { DEFAULT_CLOSED_STATUSES, ineligibility } from './candidates.js';
export type { WorklistIndexOptions } from './index-options.js';
export { createInProcessWorklistIndex } from './in-process-index.js';
export { createRedisWorklistIndex, type RedisWorklistIndexOptions } from './redis-index.js';
export { dealSizeOf, type DealSize } from './expected-value.js';
export { rankWorklist, explorationRng, uncertaintyOf } from './rank.js';
export { toSalesforceWorklistItem, type SalesforceWorklistItem } from './salesforce-shape.js';
