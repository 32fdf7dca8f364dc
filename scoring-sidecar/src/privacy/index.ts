// privacy/: erasure of a lead from everything Leadrank keeps (docs/audit.md "Erasure"). It sits above every store
// it erases from (.dependency-cruiser.mjs STAGES). Requests from lower stages (the org sync seeing a deleted or
// merged lead) are meant to arrive through a queue the worker consumes; that queue is not built yet.
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
  type ErasureContext,
  type ErasureTarget,
} from './targets.js';
export { eraseLead, RegionMismatchError, type ErasureDeps, type ErasureOutcome } from './service.js';
export { erasureFromEnv, receiptStoreFromEnv, type ErasureSetup } from './from-env.js';
