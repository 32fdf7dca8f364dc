// The cycle report (JSON, saved per cycle) and its one-line summary.
import type { ClientStats } from './salesforce-client.js';
import type { MaterialReason } from './delta.js';

export interface DeadLetter {
  leadId: string;
  code: string;
  message: string;
  stage: 'extract' | 'lead' | 'history';
}

export interface StageFigures {
  ms: number;
  rowsPerS: number;
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
    };
    write: StageFigures;
    report: { ms: number };
  };
  partitions: number;
  writeTasks: number;
  exportFile: string | null;
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
