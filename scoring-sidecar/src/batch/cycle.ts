// One rescoring cycle as resumable steps. Every step reads its input from the cycle state store and writes its
// output there in one transaction, so any step can run again (after a crash, a stalled queue job, a Redis
// restart) with the same result: partitions are scored from stored rows at the cycle's fixed instant with its
// one model version; Bulk jobs are checkpointed; Score_History__c rows are upserted on "<leadId>:<cycleId>".
// This module is the cycle's facade; each responsibility has its own file:
//   cycle-contract.ts (types) · cycle-state.ts (state keys, meta) · extract-step.ts · score-task.ts ·
//   write-task.ts · coordinator.ts · cycle-report.ts (pure report builder).
export * from './cycle-contract.js';
export {
  createCycle,
  cycleFailures,
  cycleReport,
  listCycles,
  loadMeta,
  newCycleId,
  stateKeys,
} from './cycle-state.js';
export { runScoreTask } from './score-task.js';
export { runWriteTask } from './write-task.js';
export { coordinateCycle, runTask } from './coordinator.js';
export { buildCycleReport, type CycleReportInput } from './cycle-report.js';
