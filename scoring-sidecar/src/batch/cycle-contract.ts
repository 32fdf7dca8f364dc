// The batch cycle's contract: its meta, its tasks, what each step stores, and what a step is given to run.
import type { Logger } from 'pino';
import type { Region } from '../store/index.js';
import type { LastWrittenScores } from '../writeback/index.js';
import type { BatchScorer, LeadToScore, ScoredLead, ScoreStats } from './batch-scorer.js';
import type { BatchConfig } from './config.js';
import type { MaterialReason, ScoreChange } from './delta.js';
import type { ClientStats, SalesforceClient } from '../salesforce/index.js';
import type { CycleReport, DeadLetter } from './report.js';
import type { CycleStateStore } from './state-store.js';

export type Phase = 'extract' | 'score' | 'write' | 'report' | 'done';

export interface CycleModel {
  version: string;
  dir: string;
}

/** The live experiment's challenger, scoring every lead in shadow (export only, never written). */
export interface CycleShadow {
  experimentId: string;
  model: CycleModel;
}

export interface CycleMeta {
  cycleId: string;
  region: Region;
  mode: 'full' | 'incremental';
  since: string | null;
  limit: number | null;
  /** The scoring instant of every lead in the cycle, and their Scored_At__c. */
  asOf: string;
  startedAt: string;
  model: CycleModel | null;
  /** Fixed at cycle start like the model; absent in metas written before shadow scoring existed. */
  shadow?: CycleShadow | null;
  ruleSetVersion: string;
  phase: Phase;
  extract: {
    partitions: number;
    rows: number;
    lastId: string | null;
    done: boolean;
    ms: number;
    attempts: number;
    /** Salesforce calls the extract made (absent in metas written before the extract was counted). */
    client?: ClientStats;
  };
  /** Round 0 write tasks: [first, last] partition of each. */
  writePlan: [number, number][];
  round: number;
  /** Write tasks per round. */
  roundTasks: number[];
  writeMs: number;
  orgUsageAtStart: number | null;
  /** Partitions whose scores are appended to the audit log (absent in metas written before batch auditing). */
  audited?: number;
  /** Audit entries appended and the time it took (ms), over every resumption. */
  audit?: { entries: number; ms: number };
}

export type BatchTask =
  | { type: 'score'; cycleId: string; partition: number }
  | { type: 'write'; cycleId: string; round: number; chunk: number };

export const taskId = (t: BatchTask) =>
  t.type === 'score' ? `${t.cycleId}_p${t.partition}` : `${t.cycleId}_w${t.round}_${t.chunk}`;

/** How tasks reach a worker: run inline (embedded runner) or as queue jobs (BullMQ). */
export interface TaskDispatcher {
  dispatch(tasks: BatchTask[]): Promise<void>;
  /** Called while waiting: re-queues tasks whose queue job failed for good. */
  revive?(tasks: BatchTask[]): Promise<void>;
}

export interface PartitionResult {
  rows: number;
  scored: number;
  changes: number;
  unchanged: number;
  why: Partial<Record<MaterialReason, number>>;
  invalid: DeadLetter[];
  stats: ScoreStats;
  /** Leads the shadow challenger scored (0 without a shadow, or when its scoring failed). */
  shadowScored?: number;
  ms: number;
}

export interface RetryItem {
  change: ScoreChange;
  stage: 'lead' | 'history';
  lastCode: string;
}

export interface WriteResult {
  rows: number;
  written: number;
  /** Changes skipped because a newer score of the lead was already written (absent in older results). */
  superseded?: number;
  historyWritten: number;
  retry: number;
  dead: number;
  failedByCode: Record<string, number>;
  client: ClientStats;
  ms: number;
}

/**
 * Monitoring hooks (monitoring/batch-monitor.ts implements them); a cycle runs the same without. A partition's
 * summary is stored with its results, so the coordinator gets every worker's summary through the cycle state.
 */
export interface CycleMonitorHooks {
  summarizePartition(
    meta: CycleMeta,
    leads: readonly LeadToScore[],
    scored: readonly ScoredLead[],
  ): Promise<unknown>;
  cycleCompleted(
    meta: CycleMeta,
    outcome: { durationMs: number; leadsScored: number; changesWritten: number },
    summaries: readonly unknown[],
    orgUsage: { used: number; limit: number } | null,
  ): Promise<void>;
  cycleFailed(meta: CycleMeta, error: Error): void | Promise<void>;
}

/** Everything a step needs; built once per process (see runtime.ts). */
export interface BatchContext {
  region: Region;
  config: BatchConfig;
  state: CycleStateStore;
  log: Logger;
  /** Per lead, the newest scoredAt written (shared with the event write-back); absent: no guard. */
  lastWritten?: LastWrittenScores;
  /** One client per process; its stats are read as deltas per step. */
  salesforce(): Promise<SalesforceClient>;
  /** The scorer for the cycle's model (null: rules), cached per version. */
  scorer(model: CycleModel | null): Promise<BatchScorer>;
  /** Where the report and the Parquet export go (report.ts does the writing). */
  publish?(
    report: CycleReport,
    meta: CycleMeta,
    exportRows: AsyncIterable<ExportRow[]>,
  ): Promise<string | null>;
  monitor?: CycleMonitorHooks;
  /**
   * The audit root (LEADRANK_AUDIT_DIR): every score of a cycle is appended to `<auditDir>/batch/<region>`
   * before any is written to Salesforce. Absent: the cycle's scores are not audited.
   */
  auditDir?: string;
  onProgress?(p: {
    phase: Phase;
    partitions: number;
    scored: number;
    extracted: number;
    extractDone: boolean;
  }): void;
}

/** One row of the BI export per scored lead (rows stored before a field existed end early: read as null). */
export type ExportRow = [
  leadId: string,
  score: number,
  band: string,
  source: string,
  written: 0 | 1,
  probability?: number | null,
  shadowScore?: number | null,
  shadowProbability?: number | null,
];

export interface NewCycle {
  cycleId: string;
  mode?: 'full' | 'incremental';
  since?: string | null;
  limit?: number | null;
  model: CycleModel | null;
  shadow?: CycleShadow | null;
  ruleSetVersion: string;
  asOf?: Date;
}
