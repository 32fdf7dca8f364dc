// The score task: scores one stored partition at the cycle's instant and stores its material changes.
import type { BulkRow } from '../salesforce/index.js';
import { emptyScoreStats, type LeadToScore, type ScoreStats } from './batch-scorer.js';
import type { BatchContext, CycleMeta, ExportRow, PartitionResult } from './cycle-contract.js';
import { loadMeta, stateKeys as k } from './cycle-state.js';
import { changeOf, materialReason, type ScoreChange } from './delta.js';
import { leadToScore, publishedOf } from './lead-rows.js';
import { countBy, type DeadLetter } from './report.js';
import { batchAuditEntry } from './audit-step.js';
import { packJson, unpackJson } from './state-store.js';

/** Scores one stored partition and records its material changes; a partition already done is skipped. */
export async function runScoreTask(ctx: BatchContext, cycleId: string, partition: number): Promise<void> {
  if ((await ctx.state.get(k.partResult(cycleId, partition))) !== null) return;
  const meta = await loadMeta(ctx.state, cycleId);
  const packed = await ctx.state.get(k.rows(cycleId, partition));
  if (!packed) throw new Error(`cycle ${cycleId} partition ${partition}: rows missing`);
  const started = Date.now();
  let decodeStart = performance.now();
  const rows = unpackJson<BulkRow[]>(packed);
  let decodeMs = performance.now() - decodeStart;
  const scorer = await ctx.scorer(meta.model);
  decodeStart = performance.now();
  const invalid: DeadLetter[] = [];
  const leads: ReturnType<typeof leadToScore>[] = [];
  const valid: BulkRow[] = [];
  for (const row of rows) {
    try {
      leads.push(leadToScore(row));
      valid.push(row);
    } catch (error) {
      invalid.push({
        leadId: row.Id ?? '',
        code: 'INVALID_LEAD_DATA',
        message: (error as Error).message.slice(0, 300),
        stage: 'extract',
      });
    }
  }
  decodeMs += performance.now() - decodeStart;
  const asOf = new Date(meta.asOf);
  const stats = emptyScoreStats();
  stats.decodeMs = decodeMs;
  const scored = await scorer.score(leads, asOf, stats);
  const shadow = await shadowScores(ctx, meta, leads, asOf, stats, partition);
  const deltaStart = performance.now();
  const changes: ScoreChange[] = [];
  const exportRows: ExportRow[] = [];
  scored.forEach((s, i) => {
    const previous = publishedOf(valid[i]!);
    const why = materialReason(previous, s, ctx.config.materialChange, asOf.getTime());
    if (why) changes.push(changeOf(previous, s, why));
    const sh = shadow?.[i];
    exportRows.push([
      s.leadId,
      s.score,
      s.band,
      s.source,
      why ? 1 : 0,
      s.probability,
      sh?.score ?? null,
      sh?.probability ?? null,
    ]);
  });
  stats.deltaMs = performance.now() - deltaStart;
  const packStart = performance.now();
  const packedChanges = packJson(changes);
  const packedScores = packJson(exportRows);
  const packedAudit = ctx.auditDir ? packJson(scored.map((s) => batchAuditEntry(s, meta))) : null;
  stats.resultWriteMs = performance.now() - packStart; // packing; the Redis write is not in the figure
  const summary = ctx.monitor
    ? await ctx.monitor.summarizePartition(meta, leads, scored).catch((error: Error) => {
        ctx.log.warn({ cycleId, partition, err: error.message }, 'partition monitoring summary failed');
        return null;
      })
    : null;
  const result: PartitionResult = {
    rows: rows.length,
    scored: scored.length,
    changes: changes.length,
    unchanged: scored.length - changes.length,
    why: countBy(changes, (c) => c.why),
    invalid,
    stats,
    shadowScored: shadow?.length ?? 0,
    ms: Date.now() - started,
  };
  await ctx.state.set([
    [k.changes(cycleId, partition), packedChanges],
    [k.scores(cycleId, partition), packedScores],
    ...(packedAudit ? [[k.partAudit(cycleId, partition), packedAudit] as [string, Buffer]] : []),
    ...(summary !== null
      ? [[k.partMonitor(cycleId, partition), JSON.stringify(summary)] as [string, string]]
      : []),
    [k.partResult(cycleId, partition), JSON.stringify(result)],
  ]);
}

/**
 * The shadow challenger's scores of a partition's leads (inference only), or null without a shadow. A failing
 * challenger costs its columns, never the cycle: the shown scores and the write-back do not depend on it.
 */
async function shadowScores(
  ctx: BatchContext,
  meta: CycleMeta,
  leads: readonly LeadToScore[],
  asOf: Date,
  stats: ScoreStats,
  partition: number,
): Promise<{ score: number; probability: number }[] | null> {
  if (!meta.shadow) return null;
  try {
    return await (await ctx.scorer(meta.shadow.model)).predict(leads, asOf, stats);
  } catch (error) {
    ctx.log.warn(
      { cycleId: meta.cycleId, partition, err: (error as Error).message },
      'shadow scoring failed: the partition exports no shadow scores',
    );
    return null;
  }
}
