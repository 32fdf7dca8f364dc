// The write task: one Lead update job and one Score_History__c upsert job per task of material changes.
import { createHash } from 'node:crypto';
import type { BatchContext, CycleMeta, RetryItem, WriteResult } from './cycle-contract.js';
import { loadMeta, stateKeys as k } from './cycle-state.js';
import { historyUpsertCsv, leadUpdateCsv, type MaterialReason, type ScoreChange } from './delta.js';
import { countBy, type DeadLetter } from './report.js';
import { emptyClientStats, type ClientStats, type SalesforceClient } from '../salesforce/index.js';
import { packJson, unpackJson } from './state-store.js';

/** Splits rows so each job's CSV stays under the byte budget. */
function splitByBytes<T>(
  rows: T[],
  csvOf: (rows: T[]) => string,
  maxBytes: number,
): { rows: T[]; csv: string }[] {
  if (rows.length === 0) return [];
  const csv = csvOf(rows);
  if (Buffer.byteLength(csv) <= maxBytes || rows.length === 1) return [{ rows, csv }];
  const half = Math.ceil(rows.length / 2);
  return [
    ...splitByBytes(rows.slice(0, half), csvOf, maxBytes),
    ...splitByBytes(rows.slice(half), csvOf, maxBytes),
  ];
}

const contentId = (csv: string) => createHash('sha1').update(csv).digest('hex').slice(0, 16);

async function writeTaskInput(
  ctx: BatchContext,
  meta: CycleMeta,
  round: number,
  chunk: number,
): Promise<RetryItem[]> {
  const size = ctx.config.write.chunkRows;
  if (round > 0) {
    const items = await ctx.state.get(k.roundItems(meta.cycleId, round));
    if (!items) throw new Error(`cycle ${meta.cycleId} round ${round}: retry items missing`);
    return unpackJson<RetryItem[]>(items).slice(chunk * size, (chunk + 1) * size);
  }
  const [first, last] = meta.writePlan[chunk]!;
  const keys = [];
  for (let p = first; p <= last; p++) keys.push(k.changes(meta.cycleId, p));
  const packed = await ctx.state.mget(keys);
  return packed.flatMap((data, i) => {
    if (!data) throw new Error(`cycle ${meta.cycleId} partition ${first + i}: changes missing`);
    return unpackJson<ScoreChange[]>(data).map((change) => ({
      change,
      stage: 'lead' as const,
      lastCode: '',
    }));
  });
}

const RETRYABLE_ROW_CODES = new Set(['UNABLE_TO_LOCK_ROW', 'UNPROCESSED']);
/**
 * Score_History__c holds score changes (first score, a move, a band or source change): refreshes of reasons,
 * actions or an old score update the Lead only, since each history row costs ~2 KB of org storage.
 */
export const HISTORY_REASONS = new Set<MaterialReason>(['first', 'score', 'band', 'source']);

/**
 * Writes one task's material changes: a Lead update job (rows sorted by Id), then a Score_History__c upsert
 * for the leads Salesforce accepted. Lock errors and unprocessed rows go to the next round; other errors to
 * the dead-letter list.
 */
export async function runWriteTask(
  ctx: BatchContext,
  cycleId: string,
  round: number,
  chunk: number,
): Promise<void> {
  if ((await ctx.state.get(k.writeResult(cycleId, round, chunk))) !== null) return;
  const meta = await loadMeta(ctx.state, cycleId);
  const started = Date.now();
  const client = await ctx.salesforce();
  const before = { ...client.stats };
  const items = (await writeTaskInput(ctx, meta, round, chunk)).sort((a, b) =>
    a.change.leadId < b.change.leadId ? -1 : a.change.leadId > b.change.leadId ? 1 : 0,
  );
  const retry: RetryItem[] = [];
  const dead: DeadLetter[] = [];
  const written: ScoreChange[] = [];
  const historyStage: ScoreChange[] = items.filter((i) => i.stage === 'history').map((i) => i.change);
  let historyWritten = 0;
  const checkpoint = (what: string) => ({
    load: async () => (await ctx.state.get(k.sfJob(cycleId, round, chunk, what)))?.toString('utf8') ?? null,
    save: (jobId: string) => ctx.state.set([[k.sfJob(cycleId, round, chunk, what), jobId]]),
  });
  const settle = (
    rows: ScoreChange[],
    outcome: Awaited<ReturnType<SalesforceClient['runIngestJob']>>,
    stage: 'lead' | 'history',
    keyOf: (c: ScoreChange) => string,
  ): ScoreChange[] => {
    const failures = new Map<string, { code: string; message: string }>();
    for (const f of outcome.failed) failures.set(f.key, f);
    for (const key of outcome.unprocessed)
      failures.set(key, { code: 'UNPROCESSED', message: 'not processed by the job' });
    const committed = new Set(outcome.committed);
    const ok: ScoreChange[] = [];
    for (const c of rows) {
      // A job that ended Failed: rows it committed are written, rows it rejected keep their code, and only
      // the rest is dead-lettered as JOB_FAILED.
      const key = keyOf(c);
      const failure = outcome.jobFailure
        ? committed.has(key)
          ? undefined
          : (failures.get(key) ?? { code: 'JOB_FAILED', message: outcome.jobFailure })
        : failures.get(key);
      if (!failure) ok.push(c);
      else if (RETRYABLE_ROW_CODES.has(failure.code))
        retry.push({ change: c, stage, lastCode: failure.code });
      else dead.push({ leadId: c.leadId, code: failure.code, message: failure.message.slice(0, 300), stage });
    }
    return ok;
  };

  // A newer score of the lead already written (an event write-back, or a newer cycle while this older one was
  // resumed): this cycle's older score is skipped, never written over it.
  const asOfMs = Date.parse(meta.asOf);
  const candidates = items.filter((i) => i.stage === 'lead').map((i) => i.change);
  const superseded = ctx.lastWritten
    ? await ctx.lastWritten.supersededOf(candidates.map((c) => ({ leadId: c.leadId, scoredAtMs: asOfMs })))
    : candidates.map(() => false);
  const leadStage = candidates.filter((_, i) => !superseded[i]);
  for (const part of splitByBytes(
    leadStage,
    (r) => leadUpdateCsv(r, meta.asOf),
    ctx.config.write.maxJobBytes,
  )) {
    const outcome = await client.runIngestJob(
      { object: 'Lead', operation: 'update', keyColumn: 'Id', csv: part.csv, rows: part.rows.length },
      checkpoint(`lead-${contentId(part.csv)}`),
    );
    const ok = settle(part.rows, outcome, 'lead', (c) => c.leadId);
    await ctx.lastWritten?.record(ok.map((c) => ({ leadId: c.leadId, scoredAtMs: asOfMs })));
    for (const c of ok) {
      written.push(c);
      if (HISTORY_REASONS.has(c.why)) historyStage.push(c);
    }
  }
  historyStage.sort((a, b) => (a.leadId < b.leadId ? -1 : a.leadId > b.leadId ? 1 : 0));
  const csvOf = (r: ScoreChange[]) => historyUpsertCsv(r, cycleId, ctx.region, meta.asOf);
  for (const part of splitByBytes(historyStage, csvOf, ctx.config.write.maxJobBytes)) {
    const outcome = await client.runIngestJob(
      {
        object: 'Score_History__c',
        operation: 'upsert',
        externalIdFieldName: 'External_Key__c',
        keyColumn: 'External_Key__c',
        csv: part.csv,
        rows: part.rows.length,
      },
      checkpoint(`history-${contentId(part.csv)}`),
    );
    historyWritten += settle(part.rows, outcome, 'history', (c) => `${c.leadId}:${cycleId}`).length;
  }

  const clientDelta = emptyClientStats();
  for (const key of Object.keys(clientDelta) as (keyof ClientStats)[])
    clientDelta[key] = client.stats[key] - before[key];
  const result: WriteResult = {
    rows: items.length,
    written: written.length,
    superseded: superseded.filter(Boolean).length,
    historyWritten,
    retry: retry.length,
    dead: dead.length,
    failedByCode: countBy(dead, (d) => d.code),
    client: clientDelta,
    ms: Date.now() - started,
  };
  await ctx.state.set([
    [k.writeRetry(cycleId, round, chunk), packJson(retry)],
    [k.writeDead(cycleId, round, chunk), packJson(dead)],
    [k.writeDone(cycleId, round, chunk), packJson(written.map((c) => c.leadId))],
    [k.writeResult(cycleId, round, chunk), JSON.stringify(result)],
  ]);
}
