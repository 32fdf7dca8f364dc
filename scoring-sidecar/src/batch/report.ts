// The cycle report (JSON, saved per cycle) and its one-line summary.
import type { ScoreStats } from './batch-scorer.js';
import type { ClientStats } from '../salesforce/index.js';
import type { MaterialReason } from './delta.js';

export interface DeadLetter {
  leadId: string;
  code: string;
  message: string;
  /** 'opportunity': a deal's score fields (opportunity cycles keep the record Id in `leadId`, as ScoreChange). */
  stage: 'extract' | 'lead' | 'opportunity' | 'history';
}

export interface StageFigures {
  ms: number;
  rowsPerS: number;
}

/**
 * The scoring stage per sub-stage, each as rows it handled per second of its own time (worker time summed
 * over partitions), and three groups: the inference path (online-store reads, features, onnxruntime), which
 * the issue compares with raw onnxruntime; explanations (keys, cache, exact TreeSHAP of changed leads; rows =
 * all leads); reasons and next-best actions (texts, actions, feature hashes).
 */
export interface ScoreSubStages {
  decode: StageFigures;
  storeRead: StageFigures;
  features: StageFigures;
  inference: StageFigures;
  explainCache: StageFigures;
  /** Exact TreeSHAP: rows = leads whose explanation key changed. */
  treeShap: StageFigures;
  reasons: StageFigures;
  actions: StageFigures;
  featureHash: StageFigures;
  rules: StageFigures;
  delta: StageFigures;
  resultWrite: StageFigures;
  /** The challenger's shadow scores (features and inference; rows = leads shadow-scored). */
  shadow: StageFigures;
  inferencePath: StageFigures;
  explanation: StageFigures;
  reasonsAndActions: StageFigures;
}

export function scoreSubStages(s: ScoreStats): ScoreSubStages {
  const fig = (rows: number, ms: number): StageFigures => ({
    ms: Math.round(ms),
    rowsPerS: perSecond(rows, ms),
  });
  const model = s.modelRows;
  return {
    decode: fig(s.scored, s.decodeMs),
    storeRead: fig(model, s.storeReadMs),
    features: fig(model, s.featuresMs),
    inference: fig(model, s.inferenceMs),
    explainCache: fig(model, s.explainCacheMs),
    treeShap: fig(s.explained, s.explainMs),
    reasons: fig(model, s.reasonsMs),
    actions: fig(model, s.actionsMs),
    featureHash: fig(model, s.hashMs),
    rules: fig(s.rulesRows, s.rulesMs),
    delta: fig(s.scored, s.deltaMs),
    resultWrite: fig(s.scored, s.resultWriteMs),
    shadow: fig(s.shadowRows, s.shadowMs),
    inferencePath: fig(model, s.storeReadMs + s.featuresMs + s.inferenceMs),
    explanation: fig(model, s.explainCacheMs + s.explainMs),
    reasonsAndActions: fig(model, s.reasonsMs + s.actionsMs + s.hashMs),
  };
}

/** One line of the sub-stage figures for logs and the bench. */
export function subStagesLine(sub: ScoreSubStages): string {
  return Object.entries(sub)
    .filter(([, f]) => f.ms > 0)
    .map(([name, f]) => `${name} ${f.rowsPerS}/s`)
    .join(', ');
}

export interface CycleReport {
  cycleId: string;
  region: string;
  mode: 'full' | 'incremental';
  status: 'completed';
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The one version the whole cycle scored with; the rule set's version when no model was available. */
  modelVersion: string;
  scoreSource: 'Model' | 'Rules';
  leads: {
    extracted: number;
    scored: number;
    unchanged: number;
    /** Material changes found (to write). */
    changed: number;
    /** Lead rows Salesforce accepted. */
    written: number;
    /** Changes not written: a newer score of the lead had been written already (event write-back, newer cycle). */
    superseded?: number;
    historyWritten: number;
    failed: number;
    /** Rows submitted again in a later job (lock errors, unprocessed rows). */
    retried: number;
  };
  failedByCode: Record<string, number>;
  changeReasons: Partial<Record<MaterialReason, number>>;
  explanations: { computed: number; reused: number; rowsPerS: number };
  salesforce: ClientStats & {
    /** DailyApiRequests used by the org between the cycle's start and end (all callers). */
    orgApiCalls: number | null;
    lockRetryRounds: number;
  };
  stages: {
    extract: StageFigures;
    /** Worker time, summed over partitions (wall time is lower with several workers). */
    score: StageFigures & {
      featuresMs: number;
      inferenceMs: number;
      explainMs: number;
      inferenceRowsPerS: number;
      subStages: ScoreSubStages;
    };
    write: StageFigures;
    report: { ms: number };
    /** Appending the cycle's scores to the audit log (absent when the cycle is not audited). */
    audit?: { entries: number; ms: number };
  };
  partitions: number;
  writeTasks: number;
  exportFile: string | null;
  /**
   * The live experiment's challenger scoring every lead in shadow (export columns only, never written to
   * Salesforce); null when no experiment was in shadow with the challenger at cycle start.
   */
  shadow: { experimentId: string; modelVersion: string; scored: number } | null;
}

/**
 * The share of the cycle's material changes it could not write, and whether it is over the configured
 * maximum (config/batch.json failures.maxRowShare): `leadrank batch run` then exits 1.
 */
export function failedRowShare(
  report: CycleReport,
  maxRowShare: number,
): { share: number; overLimit: boolean; message: string } {
  const attempted = report.leads.written + report.leads.failed;
  const share = attempted > 0 ? report.leads.failed / attempted : 0;
  return {
    share,
    overLimit: share > maxRowShare,
    message:
      `${report.leads.failed} of ${attempted} rows failed (${(100 * share).toFixed(1)} %, over ` +
      `failures.maxRowShare ${maxRowShare} in config/batch.json): see leadrank batch failures ${report.cycleId}`,
  };
}

export function summaryLine(r: CycleReport): string {
  const failed = Object.entries(r.failedByCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  return (
    `cycle ${r.cycleId} (${r.region}, ${r.scoreSource} ${r.modelVersion}): ${r.leads.extracted} extracted, ` +
    `${r.leads.scored} scored, ${r.leads.unchanged} unchanged, ${r.leads.written} written, ` +
    `${r.leads.failed} failed${failed ? ` (${failed})` : ''}, ${r.leads.retried} retried; ` +
    `${r.salesforce.apiCalls} API calls, ${r.salesforce.bulkJobs} Bulk jobs; ${(r.durationMs / 1000).toFixed(1)} s`
  );
}

export function addStats(into: ClientStats, from: Partial<ClientStats>): void {
  for (const key of Object.keys(into) as (keyof ClientStats)[]) into[key] += from[key] ?? 0;
}

export function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

export const perSecond = (rows: number, ms: number) => (ms > 0 ? Math.round((rows / ms) * 1000) : 0);
