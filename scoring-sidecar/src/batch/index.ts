// The batch stage's public surface: what commands/ and the top level use (cycle internals stay in the folder).
export {
  loadBatchConfig,
  loadOpportunityBatchConfig,
  OPPORTUNITY_BATCH_FILE,
  withOverrides,
  type BatchConfig,
  type BatchConfigOverrides,
  type OpportunityBatchConfig,
} from './config.js';
export { BatchMetrics } from './metrics.js';
export { batchSalesforceClient, verifiedClient } from './runtime.js';
export { createBatchRuntime, type BatchRuntime, type BatchRuntimeOptions } from './runtime.js';
export {
  enqueueCycle,
  openBatchQueues,
  OPPORTUNITY_SCHEDULER_ID,
  opportunityQueueName,
  scheduleOpportunityCycles,
  startOpportunityCycleWorker,
  runCycleInProcess,
  scheduleCycles,
  startBatchWorkers,
  waitForCycle,
  type CycleRequest,
} from './runners.js';
export {
  CycleRunningError,
  createRedisCycleLock,
  createInProcessCycleLock,
  type CycleLock,
} from './cycle-lock.js';
export {
  loadRetrainSchedules,
  retrainQueueName,
  RETRAIN_SCHEDULER_ID,
  retrainSchedulerId,
  runDealRetrain,
  scheduleRetraining,
  startRetrainWorker,
  type BuildDealTrainingSet,
  type RetrainSchedule,
} from './retrain-schedule.js';
export { cycleFailures, cycleReport, listCycles, loadMeta, type Phase } from './cycle.js';
export { failedRowShare, summaryLine } from './report.js';
export {
  getJson,
  type ExplanationCache,
  RedisExplanationCache,
  MemoryExplanationCache,
} from './state-store.js';
export {
  newOpportunityCycleId,
  runOpportunityCycle,
  type OpportunityCycleOptions,
  type OpportunityCycleReport,
} from './opportunity-cycle.js';
export {
  listOpportunityCycles,
  opportunityCycleMeta,
  opportunityCycleReport,
  runOpportunityCycleOnce,
  type OpportunityCycleMeta,
  type OpportunityCycleRequest,
} from './opportunity-runner.js';
