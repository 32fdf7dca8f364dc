// Every batch score in the audit log: each score task stores its partition's audit entries with its results,
// and the coordinator (one per region at a time, under the cycle lease) appends them, partition by partition,
// to the region's batch chain `<auditDir>/batch/<region>` before the write phase: no score reaches Salesforce
// unaudited. A partition appended is counted in the cycle's meta, so a resumed cycle appends only the rest
// (a crash between an append and the count can append that one partition twice: at least once, never lost).
import { join } from 'node:path';
import { openAuditLog, type AuditEntry } from '../audit/index.js';
import type { ScoredLead } from './batch-scorer.js';
import type { BatchContext, CycleMeta } from './cycle-contract.js';
import { saveMeta, stateKeys as k } from './cycle-state.js';
import { unpackJson } from './state-store.js';

export const BATCH_AUDIT_CALLER = 'batch';

/** What a batch audit entry is made of: a scored lead, or a scored deal (its Id in `leadId`, as in ScoreChange). */
export type AuditedScore = Pick<
  ScoredLead,
  | 'leadId'
  | 'modelVersion'
  | 'source'
  | 'vector'
  | 'featureHash'
  | 'score'
  | 'band'
  | 'probability'
  | 'reasonLines'
  | 'nextBestAction'
>;

/**
 * One lead's audit entry. Compact next to an online entry: no feature names (the model version's spec names
 * them), but the feature vector itself, so a batch score is auditable with its inputs like an online one.
 */
export function batchAuditEntry(
  s: AuditedScore,
  meta: Pick<CycleMeta, 'cycleId' | 'region' | 'asOf'>,
): AuditEntry {
  return {
    requestId: meta.cycleId,
    caller: BATCH_AUDIT_CALLER,
    origin: 'batch',
    cycleId: meta.cycleId,
    leadId: s.leadId,
    region: meta.region,
    modelVersion: s.modelVersion,
    source: s.source,
    featureVector: s.vector ? [...s.vector] : [],
    featureHash: s.featureHash,
    score: s.score,
    band: s.band,
    // Rules give no probability; as online, the audit records the score's scale instead.
    probability: s.probability ?? s.score / 100,
    reasons: s.reasonLines,
    ...(s.nextBestAction ? { nextBestAction: s.nextBestAction } : {}),
    scoredAt: meta.asOf,
  };
}

/** The batch chain of a region under an audit root. */
export const batchAuditChainDir = (auditDir: string) => join(auditDir, 'batch');
/**
 * The opportunity cycles' chain (`<auditDir>/batch-opportunities/<region>`): its own, because the opportunity
 * cycle holds its own lease and may append while a lead cycle appends to `batch/` (one writer per chain).
 */
export const opportunityAuditChainDir = (auditDir: string) => join(auditDir, 'batch-opportunities');

/** Appends the partitions not yet audited; returns the entries appended and the time it took. */
export async function auditPhase(
  ctx: BatchContext,
  meta: CycleMeta,
): Promise<{ entries: number; ms: number }> {
  const started = performance.now();
  const n = meta.extract.partitions;
  if (!ctx.auditDir || (meta.audited ?? 0) >= n) return { entries: 0, ms: 0 };
  const log = await openAuditLog({ dir: batchAuditChainDir(ctx.auditDir), region: meta.region });
  let entries = 0;
  try {
    for (let p = meta.audited ?? 0; p < n; p++) {
      const data = await ctx.state.get(k.partAudit(meta.cycleId, p));
      if (!data) throw new Error(`cycle ${meta.cycleId} partition ${p}: audit entries missing`);
      const batch = unpackJson<AuditEntry[]>(data);
      if (batch.length > 0) await log.append(batch);
      entries += batch.length;
      meta.audited = p + 1;
      await saveMeta(ctx.state, meta);
    }
  } finally {
    await log.close();
  }
  return { entries, ms: performance.now() - started };
}
