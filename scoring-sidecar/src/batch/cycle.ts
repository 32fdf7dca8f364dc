// One rescoring cycle as resumable steps. Every step reads its input from the cycle state store and writes its
// output there in one transaction, so any step can run again (after a crash, a stalled queue job, a Redis
// restart) with the same result: partitions are scored from stored rows at the cycle's fixed instant with its
// one model version; Bulk jobs are checkpointed; Score_History__c rows are upserted on "<leadId>:<cycleId>".
// The coordinator (`coordinateCycle`) drives extract -> score -> write (+ lock-retry rounds) -> report and is
// itself resumable from the phase stored in the cycle's meta.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { bulkQuery, type BulkRow } from '../salesforce/bulk-query.js';
import type { Region } from '../store/index.js';
import {
  emptyScoreStats,
  type BatchScorer,
  type LeadToScore,
  type ScoredLead,
  type ScoreStats,
} from './batch-scorer.js';
import type { BatchConfig } from './config.js';
import {
  changeOf,
  historyUpsertCsv,
  leadUpdateCsv,
  materialReason,
  type MaterialReason,
  type ScoreChange,
} from './delta.js';
import { extractSoql, leadToScore, minimizeRow, publishedOf } from './lead-rows.js';
import {
  backoffDelay,
  emptyClientStats,
  type ClientStats,
  type SalesforceBulkClient,
} from './salesforce-client.js';
import {
  addStats,
  countBy,
  perSecond,
  scoreSubStages,
  summaryLine,
  type CycleReport,
  type DeadLetter,
} from './report.js';
import { getJson, packJson, unpackJson, type CycleStateStore } from './state-store.js';

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
  };
  /** Round 0 write tasks: [first, last] partition of each. */
  writePlan: [number, number][];
  round: number;
  /** Write tasks per round. */
  roundTasks: number[];
  writeMs: number;
  orgUsageAtStart: number | null;
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
  /** One client per process; its stats are read as deltas per step. */
  salesforce(): Promise<SalesforceBulkClient>;
  /** The scorer for the cycle's model (null: rules), cached per version. */
  scorer(model: CycleModel | null): Promise<BatchScorer>;
  /** Where the report and the Parquet export go (report.ts does the writing). */
  publish?(
    report: CycleReport,
    meta: CycleMeta,
    exportRows: AsyncIterable<ExportRow[]>,
  ): Promise<string | null>;
  monitor?: CycleMonitorHooks;
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

const k = {
  index: 'cycles',
  meta: (c: string) => `c:${c}:meta`,
  rows: (c: string, p: number) => `c:${c}:p:${p}:rows`,
  changes: (c: string, p: number) => `c:${c}:p:${p}:changes`,
  scores: (c: string, p: number) => `c:${c}:p:${p}:scores`,
  partResult: (c: string, p: number) => `c:${c}:p:${p}:result`,
  partMonitor: (c: string, p: number) => `c:${c}:p:${p}:monitor`,
  roundItems: (c: string, r: number) => `c:${c}:r:${r}:items`,
  writeResult: (c: string, r: number, w: number) => `c:${c}:w:${r}:${w}:result`,
  writeRetry: (c: string, r: number, w: number) => `c:${c}:w:${r}:${w}:retry`,
  writeDead: (c: string, r: number, w: number) => `c:${c}:w:${r}:${w}:dead`,
  writeDone: (c: string, r: number, w: number) => `c:${c}:w:${r}:${w}:written`,
  sfJob: (c: string, r: number, w: number, what: string) => `c:${c}:w:${r}:${w}:job:${what}`,
  paused: (c: string) => `c:${c}:paused`,
  report: (c: string) => `c:${c}:report`,
  dead: (c: string) => `c:${c}:dead`,
};
export const stateKeys = k;

export async function loadMeta(state: CycleStateStore, cycleId: string): Promise<CycleMeta> {
  const meta = await getJson<CycleMeta>(state, k.meta(cycleId));
  if (!meta) throw new Error(`cycle ${cycleId} is unknown (or older than the state retention)`);
  return meta;
}

const saveMeta = (state: CycleStateStore, meta: CycleMeta) =>
  state.set([[k.meta(meta.cycleId), JSON.stringify(meta)]]);

export async function listCycles(state: CycleStateStore): Promise<string[]> {
  return (await getJson<string[]>(state, k.index)) ?? [];
}

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

/** Records a cycle's meta once; a cycle that already exists is left as it is (idempotent start). */
export async function createCycle(ctx: BatchContext, c: NewCycle): Promise<CycleMeta> {
  const existing = await getJson<CycleMeta>(ctx.state, k.meta(c.cycleId));
  if (existing) return existing;
  const asOf = (c.asOf ?? new Date()).toISOString();
  const meta: CycleMeta = {
    cycleId: c.cycleId,
    region: ctx.region,
    mode: c.mode ?? 'full',
    since: c.since ?? null,
    limit: c.limit ?? null,
    asOf,
    startedAt: new Date().toISOString(),
    model: c.model,
    shadow: c.shadow ?? null,
    ruleSetVersion: c.ruleSetVersion,
    phase: 'extract',
    extract: { partitions: 0, rows: 0, lastId: null, done: false, ms: 0, attempts: 0 },
    writePlan: [],
    round: 0,
    roundTasks: [],
    writeMs: 0,
    orgUsageAtStart: null,
  };
  const index = (await listCycles(ctx.state)).filter((id) => id !== c.cycleId);
  index.push(c.cycleId);
  await ctx.state.set([
    [k.meta(c.cycleId), JSON.stringify(meta)],
    [k.index, JSON.stringify(index.slice(-200))],
  ]);
  return meta;
}

// ---------------------------------------------------------------- extract

/** Streams the region's active leads into partitions; resumes after the last stored Id if interrupted. */
async function extract(ctx: BatchContext, meta: CycleMeta, dispatcher: TaskDispatcher): Promise<void> {
  const client = await ctx.salesforce();
  const { partitionSize, closedStatuses } = ctx.config.extract;
  const started = Date.now();
  for (;;) {
    const remaining = meta.limit === null ? null : meta.limit - meta.extract.rows;
    if (remaining !== null && remaining <= 0) break;
    const soql = extractSoql(ctx.region, closedStatuses, {
      since: meta.since,
      afterId: meta.extract.lastId,
      limit: remaining,
    });
    let buffer: BulkRow[] = [];
    const flush = async () => {
      if (buffer.length === 0) return;
      const partition = meta.extract.partitions;
      const rows = buffer;
      buffer = [];
      meta.extract = {
        ...meta.extract,
        partitions: partition + 1,
        rows: meta.extract.rows + rows.length,
        lastId: rows[rows.length - 1]!.Id ?? meta.extract.lastId,
      };
      // Rows and the resume point in one transaction: a crash never loses or repeats a partition.
      await ctx.state.set([
        [k.rows(meta.cycleId, partition), packJson(rows)],
        [k.meta(meta.cycleId), JSON.stringify(meta)],
      ]);
      ctx.onProgress?.({
        phase: 'extract',
        partitions: partition + 1,
        scored: 0,
        extracted: meta.extract.rows,
        extractDone: false,
      });
      await dispatcher.dispatch([{ type: 'score', cycleId: meta.cycleId, partition }]);
    };
    try {
      await client.reserve(5);
      for await (const row of bulkQuery(client.conn, soql, {
        pollIntervalMs: Math.min(1000, ctx.config.bulkPoll.intervalMs),
        pollTimeoutMs: ctx.config.bulkPoll.timeoutMs,
      })) {
        buffer.push(minimizeRow(row, ctx.region));
        if (buffer.length >= partitionSize) await flush();
      }
      await flush();
      break;
    } catch (error) {
      meta.extract.attempts++;
      if (meta.extract.attempts >= ctx.config.http.maxAttempts) throw error;
      const delay = backoffDelay(
        meta.extract.attempts,
        ctx.config.http.baseDelayMs,
        ctx.config.http.maxDelayMs,
      );
      ctx.log.warn(
        { cycleId: meta.cycleId, lastId: meta.extract.lastId, delay, err: (error as Error).message },
        'extract failed, resuming',
      );
      await sleep(delay);
    }
  }
  meta.extract = { ...meta.extract, done: true, ms: meta.extract.ms + (Date.now() - started) };
  meta.phase = 'score';
  await saveMeta(ctx.state, meta);
}

// ---------------------------------------------------------------- score

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

// ---------------------------------------------------------------- write

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
const HISTORY_REASONS = new Set<MaterialReason>(['first', 'score', 'band', 'source']);

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
    outcome: Awaited<ReturnType<SalesforceBulkClient['runIngestJob']>>,
    stage: 'lead' | 'history',
    keyOf: (c: ScoreChange) => string,
  ): ScoreChange[] => {
    const failures = new Map<string, { code: string; message: string }>();
    for (const f of outcome.failed) failures.set(f.key, f);
    for (const key of outcome.unprocessed)
      failures.set(key, { code: 'UNPROCESSED', message: 'not processed by the job' });
    const ok: ScoreChange[] = [];
    for (const c of rows) {
      const failure = outcome.jobFailure
        ? { code: 'JOB_FAILED', message: outcome.jobFailure }
        : failures.get(keyOf(c));
      if (!failure) ok.push(c);
      else if (RETRYABLE_ROW_CODES.has(failure.code))
        retry.push({ change: c, stage, lastCode: failure.code });
      else dead.push({ leadId: c.leadId, code: failure.code, message: failure.message.slice(0, 300), stage });
    }
    return ok;
  };

  const leadStage = items.filter((i) => i.stage === 'lead').map((i) => i.change);
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

// ---------------------------------------------------------------- coordinator

async function waitForResults(
  ctx: BatchContext,
  keys: string[],
  tasks: BatchTask[],
  dispatcher: TaskDispatcher,
  onTick?: (done: number) => void,
): Promise<(Buffer | null)[]> {
  for (let tick = 0; ; tick++) {
    let results: (Buffer | null)[];
    try {
      results = await ctx.state.mget(keys);
    } catch (error) {
      // Redis restarting: keep waiting; the state is persisted and the workers resume by themselves.
      ctx.log.warn({ err: (error as Error).message }, 'cycle state unavailable, waiting');
      await sleep(ctx.config.queue.coordinatorPollMs);
      continue;
    }
    const done = results.filter((r) => r !== null).length;
    onTick?.(done);
    if (done === keys.length) return results;
    if (dispatcher.revive && tick % 5 === 4) {
      await dispatcher.revive(tasks.filter((_, i) => results[i] === null)).catch((error: Error) => {
        ctx.log.warn({ err: error.message }, 'could not re-queue failed tasks');
      });
    }
    await sleep(ctx.config.queue.coordinatorPollMs);
  }
}

async function scorePhase(
  ctx: BatchContext,
  meta: CycleMeta,
  dispatcher: TaskDispatcher,
): Promise<PartitionResult[]> {
  const n = meta.extract.partitions;
  const tasks: BatchTask[] = Array.from({ length: n }, (_, partition) => ({
    type: 'score',
    cycleId: meta.cycleId,
    partition,
  }));
  const keys = tasks.map((_, p) => k.partResult(meta.cycleId, p));
  const existing = await ctx.state.mget(keys);
  await dispatcher.dispatch(tasks.filter((_, p) => existing[p] === null));
  const results = await waitForResults(ctx, keys, tasks, dispatcher, (done) =>
    ctx.onProgress?.({
      phase: 'score',
      partitions: n,
      scored: done,
      extracted: meta.extract.rows,
      extractDone: true,
    }),
  );
  return results.map((r) => JSON.parse(r!.toString('utf8')) as PartitionResult);
}

/** Consecutive partitions grouped until a task holds about write.chunkRows changes. */
function planWrites(results: PartitionResult[], chunkRows: number): [number, number][] {
  const plan: [number, number][] = [];
  let start = 0;
  let rows = 0;
  results.forEach((r, p) => {
    rows += r.changes;
    if (rows >= chunkRows) {
      plan.push([start, p]);
      start = p + 1;
      rows = 0;
    }
  });
  if (start < results.length && rows > 0) plan.push([start, results.length - 1]);
  return plan;
}

async function writePhase(ctx: BatchContext, meta: CycleMeta, dispatcher: TaskDispatcher): Promise<void> {
  for (;;) {
    const round = meta.round;
    const count = meta.roundTasks[round] ?? 0;
    const started = Date.now();
    const tasks: BatchTask[] = Array.from({ length: count }, (_, chunk) => ({
      type: 'write',
      cycleId: meta.cycleId,
      round,
      chunk,
    }));
    const keys = tasks.map((_, w) => k.writeResult(meta.cycleId, round, w));
    const existing = await ctx.state.mget(keys);
    await dispatcher.dispatch(tasks.filter((_, w) => existing[w] === null));
    await waitForResults(ctx, keys, tasks, dispatcher);
    meta.writeMs += Date.now() - started;
    const retryData = await ctx.state.mget(tasks.map((_, w) => k.writeRetry(meta.cycleId, round, w)));
    const retry = retryData.flatMap((d) => (d ? unpackJson<RetryItem[]>(d) : []));
    if (retry.length === 0 || round >= ctx.config.lockRetry.maxRounds) break;
    const delay = backoffDelay(round + 1, ctx.config.lockRetry.baseDelayMs, ctx.config.lockRetry.maxDelayMs);
    ctx.log.info(
      { cycleId: meta.cycleId, round: round + 1, rows: retry.length, delay },
      'retrying locked rows in a later job',
    );
    await sleep(delay);
    meta.round = round + 1;
    meta.roundTasks[meta.round] = Math.ceil(retry.length / ctx.config.write.chunkRows);
    await ctx.state.set([
      [k.roundItems(meta.cycleId, meta.round), packJson(retry)],
      [k.meta(meta.cycleId), JSON.stringify(meta)],
    ]);
  }
  meta.phase = 'report';
  await saveMeta(ctx.state, meta);
}

async function* exportRowsOf(
  ctx: BatchContext,
  meta: CycleMeta,
  writtenIds: Set<string>,
): AsyncGenerator<ExportRow[]> {
  for (let p = 0; p < meta.extract.partitions; p++) {
    const data = await ctx.state.get(k.scores(meta.cycleId, p));
    if (!data) continue;
    // "written" means Salesforce took it, not only that it was a material change.
    yield unpackJson<ExportRow[]>(data).map(([id, score, band, source, , p, shadowScore, shadowP]) => [
      id,
      score,
      band,
      source,
      writtenIds.has(id) ? 1 : 0,
      p ?? null,
      shadowScore ?? null,
      shadowP ?? null,
    ]);
  }
}

async function reportPhase(
  ctx: BatchContext,
  meta: CycleMeta,
  parts: PartitionResult[],
  orgUsageEnd: number | null,
): Promise<CycleReport> {
  const started = Date.now();
  const c = meta.cycleId;
  const writeKeys: [number, number][] = meta.roundTasks.flatMap((n, r) =>
    Array.from({ length: n }, (_, w) => [r, w] as [number, number]),
  );
  const writes = (await ctx.state.mget(writeKeys.map(([r, w]) => k.writeResult(c, r, w)))).map(
    (d) => JSON.parse(d!.toString('utf8')) as WriteResult,
  );
  const deadData = await ctx.state.mget(writeKeys.map(([r, w]) => k.writeDead(c, r, w)));
  const dead: DeadLetter[] = [
    ...parts.flatMap((p) => p.invalid),
    ...deadData.flatMap((d) => (d ? unpackJson<DeadLetter[]>(d) : [])),
  ];
  // Rows still locked after the last round.
  const lastRound = meta.round;
  const lastRetry = await ctx.state.mget(
    writeKeys.filter(([r]) => r === lastRound).map(([r, w]) => k.writeRetry(c, r, w)),
  );
  for (const d of lastRetry) {
    for (const item of d ? unpackJson<RetryItem[]>(d) : []) {
      dead.push({
        leadId: item.change.leadId,
        code: item.lastCode,
        message: `still failing after ${lastRound} retry rounds`,
        stage: item.stage,
      });
    }
  }
  const writtenData = await ctx.state.mget(writeKeys.map(([r, w]) => k.writeDone(c, r, w)));
  const writtenIds = new Set(writtenData.flatMap((d) => (d ? unpackJson<string[]>(d) : [])));

  const client = emptyClientStats();
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
  const finishedAt = new Date();
  const report: CycleReport = {
    cycleId: c,
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
      historyWritten: writes.reduce((s, w) => s + w.historyWritten, 0),
      failed: dead.length,
      retried: writes.filter((_, i) => writeKeys[i]![0] > 0).reduce((s, w) => s + w.rows, 0),
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
    },
    partitions: meta.extract.partitions,
    writeTasks: writeKeys.length,
    exportFile: null,
    shadow: meta.shadow
      ? {
          experimentId: meta.shadow.experimentId,
          modelVersion: meta.shadow.model.version,
          scored: parts.reduce((s, p) => s + (p.shadowScored ?? 0), 0),
        }
      : null,
  };
  report.exportFile = (await ctx.publish?.(report, meta, exportRowsOf(ctx, meta, writtenIds))) ?? null;
  report.stages.report.ms = Date.now() - started;
  await ctx.state.set([
    [k.report(c), JSON.stringify(report)],
    [k.dead(c), packJson(dead)],
  ]);
  return report;
}

/** Drives a cycle from wherever its meta says it is to its report. Safe to call again after any failure. */
export async function coordinateCycle(
  ctx: BatchContext,
  cycleId: string,
  dispatcher: TaskDispatcher,
): Promise<CycleReport> {
  const done = await getJson<CycleReport>(ctx.state, k.report(cycleId));
  const meta = await loadMeta(ctx.state, cycleId);
  if (done && meta.phase === 'done') return done;
  try {
    return await driveCycle(ctx, meta, dispatcher);
  } catch (error) {
    // A failed history write must not hide the cycle's own error.
    await Promise.resolve(ctx.monitor?.cycleFailed(meta, error as Error)).catch(() => {});
    throw error;
  }
}

async function driveCycle(
  ctx: BatchContext,
  meta: CycleMeta,
  dispatcher: TaskDispatcher,
): Promise<CycleReport> {
  const cycleId = meta.cycleId;
  const log = ctx.log.child({ cycleId, region: meta.region });
  if (meta.orgUsageAtStart === null) {
    meta.orgUsageAtStart = (await (await ctx.salesforce()).limits()).used;
    await saveMeta(ctx.state, meta);
  }
  if (meta.phase === 'extract') {
    log.info(
      {
        phase: 'extract',
        resumeAfterId: meta.extract.lastId ? 'set' : null,
        model: meta.model?.version ?? null,
        shadow: meta.shadow
          ? { experimentId: meta.shadow.experimentId, model: meta.shadow.model.version }
          : null,
      },
      'cycle phase',
    );
    await extract(ctx, meta, dispatcher);
  }
  const parts = await scorePhase(ctx, meta, dispatcher);
  if (meta.phase === 'score') {
    meta.writePlan = planWrites(parts, ctx.config.write.chunkRows);
    meta.roundTasks = [meta.writePlan.length];
    meta.phase = 'write';
    await saveMeta(ctx.state, meta);
  }
  if (meta.phase === 'write') {
    log.info(
      { phase: 'write', tasks: meta.roundTasks[0], changes: parts.reduce((s, p) => s + p.changes, 0) },
      'cycle phase',
    );
    await writePhase(ctx, meta, dispatcher);
  }
  const orgLimits = await (await ctx.salesforce()).limits();
  const report = await reportPhase(ctx, meta, parts, orgLimits.used);
  if (ctx.monitor) {
    const summaries = await ctx.state.mget(
      Array.from({ length: meta.extract.partitions }, (_, p) => k.partMonitor(cycleId, p)),
    );
    await ctx.monitor
      .cycleCompleted(
        meta,
        {
          durationMs: report.durationMs,
          leadsScored: report.leads.scored,
          changesWritten: report.leads.written,
        },
        summaries.flatMap((d) => (d ? [JSON.parse(d.toString('utf8')) as unknown] : [])),
        orgLimits,
      )
      .catch((error: Error) => log.warn({ err: error.message }, 'cycle monitoring failed'));
  }
  meta.phase = 'done';
  await saveMeta(ctx.state, meta);
  // Lead rows and scores are dropped once reported; results, failures and the report stay for the retention.
  const bulky = [];
  for (let p = 0; p < meta.extract.partitions; p++)
    bulky.push(k.rows(cycleId, p), k.changes(cycleId, p), k.scores(cycleId, p), k.partMonitor(cycleId, p));
  await ctx.state.del(bulky);
  log.info({ report: { ...report.leads, failedByCode: report.failedByCode } }, summaryLine(report));
  return report;
}

export async function cycleReport(state: CycleStateStore, cycleId: string): Promise<CycleReport | null> {
  return getJson<CycleReport>(state, k.report(cycleId));
}

export async function cycleFailures(state: CycleStateStore, cycleId: string): Promise<DeadLetter[] | null> {
  const data = await state.get(k.dead(cycleId));
  return data ? unpackJson<DeadLetter[]>(data) : null;
}

/** Runs a task wherever it was received (queue worker or inline). */
export async function runTask(ctx: BatchContext, task: BatchTask): Promise<void> {
  if (task.type === 'score') await runScoreTask(ctx, task.cycleId, task.partition);
  else await runWriteTask(ctx, task.cycleId, task.round, task.chunk);
}

/** Cycle ids sort by time: `<region>-<yyyymmddThhmmssZ>`. */
export function newCycleId(region: Region, at = new Date()): string {
  return `${region}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}`;
}
