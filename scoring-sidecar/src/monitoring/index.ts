// monitoring/: drift against the training baseline, data quality on ingest, Prometheus metrics and history.
export {
  computeBaseline,
  baselineFromTrainingSet,
  loadBaseline,
  writeBaseline,
  BASELINE_FILE,
  type Baseline,
} from './baseline.js';
export { loadMonitoringConfig, type MonitoringConfig } from './config.js';
export { checkExtract, checkEventStream, type ExtractDelivery, type ExtractCheck } from './data-quality.js';
export {
  populationStabilityIndex,
  driftBySlice,
  calibrationByDecile,
  type DriftSlice,
  type ScoredRow,
} from './drift.js';
export { MonitoringHistory, type BatchCycleRecord, type ExtractDeliveryRecord } from './history.js';
export { BatchMonitor, type MonitoredCycle, type PartitionSummary } from './batch-monitor.js';
export { ExtractRowChecker, type ExtractSummary } from './data-quality.js';
export { MonitoringMetrics } from './metrics.js';
export { Monitor, type MonitorDeps } from './monitor.js';
export {
  runCalibrationJob,
  calibrationSummary,
  readConvertedLeads,
  readExportedProbabilities,
  type CalibrationJobInput,
  type CalibrationJobResult,
} from './calibration-job.js';
