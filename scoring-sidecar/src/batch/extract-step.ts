// The extract step: streams the region's active leads from Salesforce into stored partitions, resumably.
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, emptyClientStats, type BulkRow, type ClientStats } from '../salesforce/index.js';
import type { BatchContext, CycleMeta, TaskDispatcher } from './cycle-contract.js';
import { saveMeta, stateKeys as k } from './cycle-state.js';
import { extractSoql, minimizeRow } from './lead-rows.js';
import { packJson } from './state-store.js';

/** Streams the region's active leads into partitions; resumes after the last stored Id if interrupted. */
export async function extract(ctx: BatchContext, meta: CycleMeta, dispatcher: TaskDispatcher): Promise<void> {
  const client = await ctx.salesforce();
  const { partitionSize, closedStatuses } = ctx.config.extract;
  const started = Date.now();
  // The extract's calls join the cycle's Salesforce stats: deltas of the process's client, kept in the meta so
  // a resumed extract (another process) adds to them.
  const extractClient = meta.extract.client ?? emptyClientStats();
  const before = { ...client.stats };
  const countCalls = () => {
    for (const key of Object.keys(extractClient) as (keyof ClientStats)[])
      extractClient[key] += client.stats[key] - before[key];
    Object.assign(before, client.stats);
    meta.extract.client = extractClient;
  };
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
      countCalls();
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
      // The client's own Bulk query: the batch's http retry policy and poll settings, counted in its stats.
      for await (const row of client.bulkQuery(soql, {
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
  countCalls();
  meta.extract = { ...meta.extract, done: true, ms: meta.extract.ms + (Date.now() - started) };
  meta.phase = 'score';
  await saveMeta(ctx.state, meta);
}
