// The cycle report from a cycle's stored results: a pure function (no I/O, the clock passed in), so the
// figures a report prints can be checked from results alone.
import { emptyScoreStats, type ScoreStats } from './batch-scorer.js';
import type { CycleMeta, PartitionResult, WriteResult } from './cycle-contract.js';
import type { MaterialReason } from './delta.js';
import { addStats, countBy, perSecond, scoreSubStages, type CycleReport, type DeadLetter } from './report.js';
import { emptyClientStats } from '../salesforce/index.js';

export interface CycleReportInput {
  meta: CycleMeta;
  parts: readonly PartitionResult[];
  /** Every write task's result with its round (round > 0: lock-retry rounds). */
  writes: readonly { round: number; result: WriteResult }[];
  /** Extract rejects, write failures and rows still locked after the last round. */
  dead: readonly DeadLetter[];
  orgUsageEnd: number | null;
  finishedAt: Date;
}

export function buildCycleReport(input: CycleReportInput): CycleReport {
  const { meta, parts, dead, orgUsageEnd, finishedAt } = input;
  const writes = input.writes.map((w) => w.result);
  const client = emptyClientStats();
  addStats(client, meta.extract.client ?? {});
  for (const w of writes) addStats(client, w.client);
  const stats = emptyScoreStats();
  for (const p of parts)
    for (const key of Object.keys(stats) as (keyof ScoreStats)[]) stats[key] += p.stats[key];
  const why: Partial<Record<MaterialReason, number>> = {};
  for (const p of parts)
    for (const [reason, n] of Object.entries(p.why))
      why[reason as MaterialReason] = (why[reason as MaterialReason] ?? 0) + n;
  const scoreMs = parts.reduce((s, p) => s + p.ms, 0);
  const scored = parts.reduce((s, p) => s + p.scored, 0);
  const changed = parts.reduce((s, p) => s + p.changes, 0);
  return {
    cycleId: meta.cycleId,
    region: meta.region,
    mode: meta.mode,
    status: 'completed',
    startedAt: meta.startedAt,
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - Date.parse(meta.startedAt),
    modelVersion: meta.model?.version ?? meta.ruleSetVersion,
    scoreSource: meta.model ? 'Model' : 'Rules',
    leads: {
      extracted: meta.extract.rows,
      scored,
      unchanged: scored - changed,
      changed,
      written: writes.reduce((s, w) => s + w.written, 0),
      superseded: writes.reduce((s, w) => s + (w.superseded ?? 0), 0),
      historyWritten: writes.reduce((s, w) => s + w.historyWritten, 0),
      failed: dead.length,
      retried: input.writes.filter((w) => w.round > 0).reduce((s, w) => s + w.result.rows, 0),
    },
    failedByCode: countBy(dead, (d) => d.code),
    changeReasons: why,
    explanations: {
      computed: stats.explained,
      reused: stats.explanationsReused,
      rowsPerS: perSecond(stats.explained, stats.explainMs),
    },
    salesforce: {
      ...client,
      orgApiCalls:
        orgUsageEnd !== null && meta.orgUsageAtStart !== null ? orgUsageEnd - meta.orgUsageAtStart : null,
      lockRetryRounds: meta.round,
    },
    stages: {
      extract: { ms: meta.extract.ms, rowsPerS: perSecond(meta.extract.rows, meta.extract.ms) },
      score: {
        ms: scoreMs,
        rowsPerS: perSecond(scored, scoreMs),
        featuresMs: Math.round(stats.featuresMs),
        inferenceMs: Math.round(stats.inferenceMs),
        explainMs: Math.round(stats.explainMs),
        inferenceRowsPerS: perSecond(stats.modelRows, stats.inferenceMs),
        subStages: scoreSubStages(stats),
      },
      write: { ms: meta.writeMs, rowsPerS: perSecond(changed, meta.writeMs) },
      report: { ms: 0 },
      ...(meta.audit ? { audit: meta.audit } : {}),
    },
    partitions: meta.extract.partitions,
    writeTasks: input.writes.length,
    exportFile: null,
    shadow: meta.shadow
      ? {
          experimentId: meta.shadow.experimentId,
          modelVersion: meta.shadow.model.version,
          scored: parts.reduce((s, p) => s + (p.shadowScored ?? 0), 0),
        }
      : null,
  };
}
