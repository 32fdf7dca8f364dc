// retention/: how long each store keeps data (config/retention.json), the run that removes what expired, and the
// scheduler's governance jobs (daily retention, periodic audit anchoring). See docs/operations.md#retention.
export {
  loadRetentionConfig,
  retentionConfigSchema,
  type RetainedStore,
  type RetentionConfig,
} from './config.js';
export { runRetention, type RetentionReport, type RetentionTargets, type StoreOutcome } from './run.js';
export {
  ANCHOR_SCHEDULER_ID,
  governanceLeaseKey,
  GovernanceJobRunning,
  governanceQueueName,
  RETENTION_SCHEDULER_ID,
  scheduleGovernance,
  startGovernanceWorker,
  underGovernanceLease,
  type GovernanceJob,
} from './schedule.js';
