// The event write-back consumer against real Redis (BullMQ) and the org simulator through jsforce: queued
// material changes reach the org's Lead fields and Score_History__c, per lead the newest score wins, an older
// score never overwrites a newer one (here and in the batch write task), lock errors are retried, and a
// permanent failure becomes a dead letter that a replay writes.
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import { writebackRuntimeFromEnv, type WritebackRuntime } from '../src/commands/writeback-runtime.js';
import {
  createWritebackQueue,
  InProcessWritebackQueue,
  replayDeadLetters,
  startInProcessDrainer,
  startBullConsumer,
  writebackJobId,
  writebackQueueName,
  type ConsumerHandle,
  type WritebackJob,
  type WritebackQueue,
} from '../src/writeback/index.js';
import {
  connectTo,
  FAST,
  kitRuntime,
  queryStore,
  REDIS_URL,
  repoRoot,
  seedLeads,
  setFaults,
  startSimulator,
} from './batch-kit.js';

const PREFIX = `wbtest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const BULL_PREFIX = `${PREFIX}-bull`;
const ENV = {
  REDIS_URL,
  LEADRANK_BATCH_PREFIX: PREFIX,
  LEADRANK_BULLMQ_PREFIX: BULL_PREFIX,
  LEADRANK_BATCH_OVERRIDES: JSON.stringify({ ...FAST, http: { ...FAST.http, maxAttempts: 2 } }),
  LEADRANK_WRITEBACK_OVERRIDES: JSON.stringify({
    flushMs: 300,
    maxBatch: 200,
    retry: { maxAttempts: 12, baseDelayMs: 20, maxDelayMs: 200 },
  }),
};
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let sim: RunningOrgSimulator;
let leadIds: string[];
let registry: Registry;
let wb: WritebackRuntime;
let queue: WritebackQueue;
let consumer: ConsumerHandle;
let inspect: Queue;
let redis: Redis;

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function jobFor(leadId: string, score: number, scoredAt: string): WritebackJob {
  return {
    leadId,
    region: 'EU',
    score,
    band: score >= 50 ? 'A' : 'B',
    probability: score / 100,
    previousScore: null,
    previousBand: null,
    source: 'model',
    modelVersion: 'wb-test-v1',
    reasonLines: [`+ Score ${score} reason`],
    nextBestAction: 'Call now: engaged this week',
    featureHash: `hash-${score}`,
    scoredAt,
    requestId: `req-${score}`,
    trigger: 'events',
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves to the consumer's outcome of a queued job once BullMQ has completed it. */
const outcomeOf = (job: WritebackJob, suffix = '') =>
  waitFor(`job ${job.leadId}`, async () => {
    const j = await inspect.getJob(`${writebackJobId(job)}${suffix}`);
    return j?.finishedOn ? (j.returnvalue as string) : null;
  });

const leadOf = (id: string) =>
  queryStore(sim, `SELECT Id, Lead_Score__c, Score_Band__c, Scored_At__c FROM Lead WHERE Id = '${id}'`)[0]!;
const historyOf = (id: string) =>
  queryStore(sim, `SELECT External_Key__c, Score__c FROM Score_History__c WHERE Lead__c = '${id}'`);
/** A metric's value summed over series; `name` may be a histogram's `<name>_count`. */
const counter = async (name: string, labels: Record<string, string> = {}) => {
  const metrics = await registry.getMetricsAsJSON();
  const metric = metrics.find((m) => m.name === name || `${m.name}_count` === name);
  return ((metric?.values ?? []) as { value: number; labels: Record<string, unknown>; metricName?: string }[])
    .filter((v) => v.metricName === undefined || v.metricName === name)
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((s, v) => s + v.value, 0);
};

beforeAll(async () => {
  sim = await startSimulator({ region: 'EU' });
  seedLeads(sim, 60, { region: 'EU', seed: 5 });
  leadIds = queryStore(sim, 'SELECT Id FROM Lead ORDER BY Id').map((r) => r.Id as string);
  registry = new Registry();
  wb = writebackRuntimeFromEnv({
    env: ENV,
    region: 'EU',
    configDir: join(repoRoot, 'config'),
    log,
    registry,
    lagGauge: true,
    connect: () => connectTo(sim),
  });
  queue = createWritebackQueue(ENV, 'EU');
  consumer = startBullConsumer(wb.consumer, {
    redisUrl: REDIS_URL,
    region: 'EU',
    prefix: BULL_PREFIX,
    config: wb.config,
    deadLetters: wb.deadLetters,
    log,
  });
  redis = new Redis(REDIS_URL);
  inspect = new Queue(writebackQueueName('EU'), { connection: redis, prefix: BULL_PREFIX });
}, 60_000);

afterAll(async () => {
  await consumer?.close();
  await queue?.close();
  await inspect?.obliterate({ force: true }).catch(() => {});
  await inspect?.close();
  await wb?.close();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis?.quit();
  await sim?.close();
});

describe('write-back consumer', () => {
  it('writes a queued material change to the Lead and a Score_History__c row', async () => {
    const id = leadIds[0]!;
    const job = jobFor(id, 73, at(0));
    await queue.add([job]);
    expect(await outcomeOf(job)).toBe('written');
    const lead = leadOf(id);
    expect(lead.Lead_Score__c).toBe(73);
    expect(lead.Score_Band__c).toBe('A');
    expect(Date.parse(String(lead.Scored_At__c).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))).toBe(T0);
    expect(historyOf(id)).toEqual([
      expect.objectContaining({ External_Key__c: `${id}:evt-${T0}`, Score__c: 73 }),
    ]);
    expect(await counter('leadrank_writeback_written_total', { path: 'collections' })).toBe(1);
    expect(await counter('leadrank_writeback_write_lag_seconds_count')).toBe(1);
  });

  it('coalesces three queued changes of one lead into one write of the newest', async () => {
    const id = leadIds[1]!;
    const jobs = [jobFor(id, 40, at(1)), jobFor(id, 90, at(3)), jobFor(id, 61, at(2))];
    const supersededBefore = await counter('leadrank_writeback_superseded_total');
    await queue.add(jobs);
    const outcomes = await Promise.all(jobs.map((j) => outcomeOf(j)));
    expect(outcomes).toEqual(['superseded', 'written', 'superseded']);
    expect(leadOf(id).Lead_Score__c).toBe(90);
    // One write: one history row, the newest one.
    expect(historyOf(id)).toEqual([
      expect.objectContaining({ External_Key__c: `${id}:evt-${T0 + 3 * 60_000}` }),
    ]);
    expect((await counter('leadrank_writeback_superseded_total')) - supersededBefore).toBe(2);
  });

  it('never writes an older score after a newer one', async () => {
    const id = leadIds[2]!;
    const newer = jobFor(id, 80, at(10));
    await queue.add([newer]);
    expect(await outcomeOf(newer)).toBe('written');
    const older = jobFor(id, 20, at(5));
    await queue.add([older]);
    expect(await outcomeOf(older)).toBe('superseded');
    expect(leadOf(id).Lead_Score__c).toBe(80);
    expect(historyOf(id).map((h) => h.Score__c)).toEqual([80]);
  });

  it('retries UNABLE_TO_LOCK_ROW rows until they are written', async () => {
    const ids = leadIds.slice(10, 30);
    const jobs = ids.map((id, i) => jobFor(id, 30 + i, at(20)));
    await setFaults(sim, { lockErrorRate: 0.4, seed: 7 });
    try {
      await queue.add(jobs);
      const outcomes = await Promise.all(jobs.map((j) => outcomeOf(j)));
      expect(outcomes.every((o) => o === 'written')).toBe(true);
    } finally {
      await setFaults(sim, { lockErrorRate: 0 });
    }
    expect(await counter('leadrank_writeback_retries_total', { code: 'UNABLE_TO_LOCK_ROW' })).toBeGreaterThan(
      0,
    );
    ids.forEach((id, i) => expect(leadOf(id).Lead_Score__c).toBe(30 + i));
    expect(await wb.deadLetters.count()).toBe(0);
  });

  it('dead-letters a change that keeps failing, and a replay writes it', async () => {
    const id = leadIds[40]!;
    const job = jobFor(id, 66, at(30));
    await setFaults(sim, { errorRate5xx: 1 });
    try {
      await queue.add([job]);
      expect(await outcomeOf(job)).toBe('dead');
    } finally {
      await setFaults(sim, { errorRate5xx: 0 });
    }
    const letters = await wb.deadLetters.list();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ job: { leadId: id, score: 66 }, attempts: 12 });
    expect(['SERVER_UNAVAILABLE', 'UNKNOWN_EXCEPTION']).toContain(letters[0]!.code);
    expect(await counter('leadrank_writeback_dead_lettered_total')).toBe(1);
    expect(leadOf(id).Lead_Score__c).not.toBe(66);

    const now = new Date();
    expect(await replayDeadLetters(wb.deadLetters, queue, now)).toBe(1);
    expect(await outcomeOf(job, `-replay-${now.getTime()}`)).toBe('written');
    expect(leadOf(id).Lead_Score__c).toBe(66);
    expect(await wb.deadLetters.count()).toBe(0);
  });

  it('writes through one Bulk API 2.0 job above the volume threshold', async () => {
    const bulkRegistry = new Registry();
    const bulk = writebackRuntimeFromEnv({
      env: {
        ...ENV,
        LEADRANK_WRITEBACK_OVERRIDES: JSON.stringify({
          bulkThreshold: 2,
          retry: { baseDelayMs: 20, maxDelayMs: 200 },
        }),
      },
      region: 'EU',
      configDir: join(repoRoot, 'config'),
      log,
      registry: bulkRegistry,
      connect: () => connectTo(sim),
    });
    try {
      const ids = leadIds.slice(41, 44);
      const jobs = ids.map((id, i) => jobFor(id, 21 + i, at(60)));
      expect(await bulk.consumer.writeBatch(jobs)).toEqual(['written', 'written', 'written']);
      const written = (await bulkRegistry.getMetricsAsJSON()).find(
        (m) => m.name === 'leadrank_writeback_written_total',
      );
      expect(written?.values).toEqual([
        expect.objectContaining({ labels: { region: 'EU', path: 'bulk' }, value: 3 }),
      ]);
      ids.forEach((id, i) => {
        expect(leadOf(id).Lead_Score__c).toBe(21 + i);
        expect(historyOf(id)).toEqual([
          expect.objectContaining({ External_Key__c: `${id}:evt-${T0 + 60 * 60_000}`, Score__c: 21 + i }),
        ]);
      });
    } finally {
      await bulk.close();
    }
  });

  it('bounds the in-process queue (one entry per lead, the newest) and drains it into the org', async () => {
    const local = new InProcessWritebackQueue('EU', 3);
    const ids = leadIds.slice(31, 36);
    await local.add([jobFor(ids[0]!, 10, at(40)), jobFor(ids[0]!, 44, at(41)), jobFor(ids[0]!, 11, at(39))]);
    expect(local.size).toBe(1);
    await local.add(ids.slice(1).map((id, i) => jobFor(id, 50 + i, at(40))));
    // Five leads for three places: the two oldest entries (ids[0], ids[1]) were dropped and counted.
    expect(local.size).toBe(3);
    expect(local.dropped).toBe(2);
    const drainer = startInProcessDrainer(wb.consumer, local, { config: wb.config, log });
    try {
      await waitFor('the drain', async () => local.size === 0 && leadOf(ids[4]!).Lead_Score__c === 53);
    } finally {
      await drainer.close();
    }
    expect(ids.slice(2).map((id) => leadOf(id).Lead_Score__c)).toEqual([51, 52, 53]);
    expect(leadOf(ids[0]!).Lead_Score__c).not.toBe(44);
    expect(leadOf(ids[1]!).Lead_Score__c).not.toBe(50);
  });

  it('keeps the batch from writing an older cycle over a newer score (event write-back or newer cycle)', async () => {
    const rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix: PREFIX });
    try {
      // Event write-back at T0 + 100 min for one lead; a cycle scored at T0 + 50 min must leave it alone.
      const id = leadIds[50]!;
      const event = jobFor(id, 12, at(100));
      await queue.add([event]);
      expect(await outcomeOf(event)).toBe('written');
      const older = await runCycleInProcess(rt, { cycleId: 'EU-older', model: null, asOf: at(50) });
      expect(older.leads.superseded).toBeGreaterThanOrEqual(1);
      expect(leadOf(id).Lead_Score__c).toBe(12);

      // A newer cycle writes every lead (Lead_Score__c cleared in the org: each is a first score); then an
      // older cycle (resumed late) with changes for all of them writes none.
      const clearScores = () =>
        sim.ctx.store.update(
          'Lead',
          leadIds.map((Id) => ({ Id, Lead_Score__c: null })),
        );
      clearScores();
      const newer = await runCycleInProcess(rt, { cycleId: 'EU-newer', model: null, asOf: at(200) });
      expect(newer.leads.written).toBe(leadIds.length);
      clearScores();
      const late = await runCycleInProcess(rt, { cycleId: 'EU-late', model: null, asOf: at(150) });
      expect(late.leads.changed).toBe(leadIds.length);
      expect(late.leads.written).toBe(0);
      expect(late.leads.superseded).toBe(leadIds.length);
      expect(queryStore(sim, 'SELECT Id FROM Lead WHERE Lead_Score__c != null')).toHaveLength(0);
    } finally {
      await rt.close();
    }
  });
});

describe('write-back under the API-allocation guard', () => {
  it('pauses before passing its share of the daily allocation and resumes when the window frees', async () => {
    const org = await startSimulator({ region: 'EU' });
    seedLeads(org, 3, { region: 'EU', seed: 12 });
    const ids = queryStore(org, 'SELECT Id FROM Lead ORDER BY Id').map((r) => r.Id as string);
    // 10 calls a day, half of them for Leadrank: two writes (a /limits read, then 2 calls each) fit, a third waits.
    await setFaults(org, { dailyApiRequests: 10 });
    const guardRegistry = new Registry();
    const guarded = writebackRuntimeFromEnv({
      env: {
        ...ENV,
        // Its own namespace: this org's lead Ids repeat the first org's, whose newer scores are recorded.
        LEADRANK_BATCH_PREFIX: `${PREFIX}-alloc`,
        LEADRANK_BATCH_OVERRIDES: JSON.stringify({
          ...FAST,
          apiAllocation: { maxShare: 0.5, pauseCheckMs: 200 },
        }),
      },
      region: 'EU',
      configDir: join(repoRoot, 'config'),
      log,
      registry: guardRegistry,
      connect: () => connectTo(org),
    });
    try {
      expect(await guarded.consumer.writeBatch([jobFor(ids[0]!, 31, at(70))])).toEqual(['written']);
      expect(await guarded.consumer.writeBatch([jobFor(ids[1]!, 32, at(70))])).toEqual(['written']);
      const third = guarded.consumer.writeBatch([jobFor(ids[2]!, 33, at(70))]);
      const waited = await Promise.race([
        third.then(() => 'written'),
        new Promise((r) => setTimeout(() => r('paused'), 1500)),
      ]);
      expect(waited).toBe('paused');
      const score = () =>
        queryStore(org, `SELECT Lead_Score__c FROM Lead WHERE Id = '${ids[2]}'`)[0]!.Lead_Score__c;
      expect(score()).toBeNull();
      // A new day's allocation: the write goes through.
      await fetch(`${org.url}/__admin/usage/reset`, { method: 'POST' });
      expect(await third).toEqual(['written']);
      expect(score()).toBe(33);
      // The guard waited: no call was refused by the org (REQUEST_LIMIT_EXCEEDED) and retried.
      const retries = (await guardRegistry.getMetricsAsJSON()).find(
        (m) => m.name === 'leadrank_writeback_retries_total',
      );
      expect(retries?.values).toEqual([]);
    } finally {
      await guarded.close();
      await org.close();
    }
  });
});
