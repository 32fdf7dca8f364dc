// ingest/: the org sync, Salesforce -> the online store and the worklist index, as a continuous process.
export { OrgSync, type OrgSyncOptions, type SyncOutcome } from './org-sync.js';
export { loadSyncConfig, syncConfigSchema, type SyncConfig } from './config.js';
export {
  fileWatermarkStore,
  redisWatermarkStore,
  type SyncCursor,
  type Watermark,
  type WatermarkStore,
} from './watermark.js';
export { SyncMetrics } from './metrics.js';
export { runSyncLoop, outcomeSummary } from './runner.js';
export {
  createRedisSyncLease,
  syncLeaseKey,
  SyncRunningError,
  type HeldSyncLease,
  type SyncLease,
  type SyncLeaseHolder,
} from './sync-lease.js';
export {
  OpportunitySync,
  flattenRecord,
  type OpportunitySyncOptions,
  type OpportunitySyncOutcome,
} from './opportunity-sync.js';
export {
  createErasureRequestQueue,
  erasureJobId,
  erasureQueueName,
  ERASURE_JOB_OPTS,
  RECYCLE_BIN_MS,
  SYNC_ERASURE_REASONS,
  type ErasureRequestQueue,
  type SyncErasureReason,
  type SyncErasureRequest,
} from './erasure-requests.js';
