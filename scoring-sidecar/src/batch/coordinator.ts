// The coordinator: drives a cycle extract -> score -> write (+ lock-retry rounds) -> report, resumable from the
// phase stored in the cycle's meta; tasks reach workers through a TaskDispatcher.
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BatchContext,
  BatchTask,
  CycleMeta,
  ExportRow,
  PartitionResult,
  RetryItem,
  TaskDispatcher,
  WriteResult,
} from './cycle-contract.js';
import { auditPhase } from './audit-step.js';
import { buildCycleReport } from './cycle-report.js';
import { loadMeta, saveMeta, stateKeys as k } from './cycle-state.js';
import { extract } from './extract-step.js';
import { summaryLine, type CycleReport, type DeadLetter } from './report.js';
import { backoffDelay } from '../salesforce/index.js';
import { runScoreTask } from './score-task.js';
import { getJson, packJson, unpackJson } from './state-store.js';
import { runWriteTask } from './write-task.js';

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

/** Gathers the cycle's stored results, builds the report, publishes it with the export and stores it. */
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
  const writes = (await ctx.state.mget(writeKeys.map(([r, w]) => k.writeResult(c, r, w)))).map((d, i) => ({
    round: writeKeys[i]![0],
    result: JSON.parse(d!.toString('utf8')) as WriteResult,
  }));
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
  const report = buildCycleReport({ meta, parts, writes, dead, orgUsageEnd, finishedAt: new Date() });
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
    // Audited before any score is written: a score in Salesforce always has its audit entry.
    const audited = await auditPhase(ctx, meta);
    if (audited.entries > 0) {
      meta.audit = {
        entries: (meta.audit?.entries ?? 0) + audited.entries,
        ms: (meta.audit?.ms ?? 0) + Math.round(audited.ms),
      };
      log.info({ phase: 'audit', ...meta.audit }, 'cycle scores audited');
    }
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
    bulky.push(
      k.rows(cycleId, p),
      k.changes(cycleId, p),
      k.scores(cycleId, p),
      k.partMonitor(cycleId, p),
      k.partAudit(cycleId, p),
    );
  await ctx.state.del(bulky);
  log.info({ report: { ...report.leads, failedByCode: report.failedByCode } }, summaryLine(report));
  return report;
}

/** Runs a task wherever it was received (queue worker or inline). */
export async function runTask(ctx: BatchContext, task: BatchTask): Promise<void> {
  if (task.type === 'score') await runScoreTask(ctx, task.cycleId, task.partition);
  else await runWriteTask(ctx, task.cycleId, task.round, task.chunk);
}
