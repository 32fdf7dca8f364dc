// privacy/: erasure of a lead from everything Leadrank keeps (docs/audit.md "Erasure"). It sits above every store
// it erases from (.dependency-cruiser.mjs STAGES). Requests from lower stages (the org sync seeing a deleted or
// merged lead, or an Individual with ShouldForget) arrive on a queue the worker's privacy role consumes.
export {
  ERASURE_REASONS,
  erasureRequestSchema,
  receiptSchema,
  openReceiptStore,
  receiptIdOf,
  type ErasureReceipt,
  type ErasureRequest,
  type ErasureStep,
  type ReceiptStore,
} from './receipts.js';
export {
  auditTarget,
  batchStateTarget,
  experimentsTarget,
  explanationCacheTarget,
  featureStoreTarget,
  filesTarget,
  lastWrittenTarget,
  publishedScoresTarget,
  scoreHistoryTarget,
  worklistTarget,
  writebackLeftoversTarget,
  syncWatermarkTarget,
  type ErasureContext,
  type ErasureTarget,
} from './targets.js';
export { eraseLead, RegionMismatchError, type ErasureDeps, type ErasureOutcome } from './service.js';
export { erasureFromEnv, receiptStoreFromEnv, type ErasureSetup } from './from-env.js';
export { startErasureConsumer, type ErasureConsumerOptions, type ErasureJobResult } from './requests.js';
