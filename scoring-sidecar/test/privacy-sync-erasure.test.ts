// Erasure requested by the org sync (#17.1): against the org simulator (through jsforce and the product's
// Salesforce client) and real Redis, a lead merged in the org, a lead whose Individual has ShouldForget and a
// deleted lead are queued by the next incremental sync on `leadrank-privacy-<region>`; the privacy consumer (the
// worker's privacy role) erases them with receipts naming the reason: the merged and forgotten ones at once, the
// deleted one only after the Recycle Bin delay. Their queued write-back jobs, dead letters and BullMQ events go
// too; a kept lead's stay. A final scan of every Redis key under the test's prefixes finds none of their ids.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type jsforce from 'jsforce';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import {
  createErasureRequestQueue,
  erasureQueueName,
  OrgSync,
  redisWatermarkStore,
  type ErasureRequestQueue,
  type WatermarkStore,
} from '../src/ingest/index.js';
import {
  featureStoreTarget,
  openReceiptStore,
  receiptIdOf,
  startErasureConsumer,
  syncWatermarkTarget,
  writebackLeftoversTarget,
  type ErasureReceipt,
  type ReceiptStore,
} from '../src/privacy/index.js';
import { parseRoles } from '../src/commands/worker.js';
import { loadRankingConfig } from '../src/ranking/index.js';
import { SalesforceClient } from '../src/salesforce/index.js';
import { createInProcessStore, createRedisStore, type OnlineFeatureStore } from '../src/store/index.js';
import { createRedisDeadLetters, createWritebackQueue, type WritebackJob } from '../src/writeback/index.js';
import { CLIENT, connectTo, REDIS_URL, startSimulator } from './batch-kit.js';

const PREFIX = `lr-erase-sync-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const BULL = `${PREFIX}-bull`;
const REGION = 'EU' as const;
const DELETE_DELAY_MS = 4_000;
const log = pino({ level: 'silent' });
const ranking = loadRankingConfig();

let sim: RunningOrgSimulator;
let conn: jsforce.Connection;
let redis: Redis;
let store: OnlineFeatureStore;
let requests: ErasureRequestQueue;
let receipts: ReceiptStore;
let sync: OrgSync;
let watermarks: WatermarkStore;
const closers: (() => Promise<unknown>)[] = [];
const ids: Record<'loser' | 'master' | 'forgotten' | 'deleted' | 'kept', string> = {} as never;
let individual: string;

const job = (leadId: string, scoredAt: string): WritebackJob => ({
  leadId,
  region: REGION,
  score: 71,
  band: 'A',
  probability: 0.71,
  previousScore: null,
  previousBand: null,
  source: 'model',
  modelVersion: 'test',
  reasonLines: [],
  nextBestAction: null,
  featureHash: 'f'.repeat(16),
  scoredAt,
  requestId: 'req-1',
  trigger: 'events',
});

async function receiptOf(leadId: string): Promise<ErasureReceipt | null> {
  return receipts.get(receiptIdOf(await receipts.subjectHash(REGION, leadId)));
}

async function waitForReceipt(leadId: string, timeoutMs = 20_000): Promise<ErasureReceipt> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await receiptOf(leadId);
    if (r?.status === 'done') return r;
    if (Date.now() > until) throw new Error(`no finished receipt after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Every key under the test's prefixes whose name or value contains `needle`. */
async function redisMentions(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const match of [`${PREFIX}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        let text = key;
        if (type === 'string') text += (await redis.getBuffer(key))?.toString('latin1') ?? '';
        else if (type === 'hash') text += JSON.stringify(await redis.hgetall(key));
        else if (type === 'list') text += JSON.stringify(await redis.lrange(key, 0, -1));
        else if (type === 'set') text += JSON.stringify(await redis.smembers(key));
        else if (type === 'zset') text += JSON.stringify(await redis.zrange(key, 0, -1));
        else if (type === 'stream') text += JSON.stringify(await redis.xrange(key, '-', '+'));
        if (text.includes(needle)) found.push(key);
      }
    } while (cursor !== '0');
  }
  return found;
}

beforeAll(async () => {
  sim = await startSimulator();
  conn = await connectTo(sim);
  redis = new Redis(REDIS_URL);
  individual = ((await conn.sobject('Individual').create({ LastName: 'Forget-Me' })) as { id: string }).id;
  const created = (await conn.sobject('Lead').create(
    ['loser', 'master', 'forgotten', 'deleted', 'kept'].map((name) => ({
      LastName: `Erase ${name}`,
      Company: 'Acme Privacy',
      Status: 'Open - Not Contacted',
      Data_Region__c: REGION,
      ...(name === 'forgotten' ? { IndividualId: individual } : {}),
    })),
  )) as { id: string; success: boolean }[];
  expect(created.every((c) => c.success)).toBe(true);
  ['loser', 'master', 'forgotten', 'deleted', 'kept'].forEach(
    (name, i) => (ids[name as keyof typeof ids] = created[i]!.id),
  );
  store = createRedisStore(REDIS_URL, REGION, { keyPrefix: PREFIX, logger: log });
  watermarks = redisWatermarkStore(REDIS_URL, REGION, { keyPrefix: PREFIX });
  requests = createErasureRequestQueue(REDIS_URL, REGION, { prefix: BULL, deleteDelayMs: DELETE_DELAY_MS });
  closers.push(
    () => store.close(),
    () => watermarks.close(),
    () => requests.close(),
  );
  sync = new OrgSync({
    client: new SalesforceClient(conn, { log }),
    region: REGION,
    store,
    worklistIndex: null,
    ranking,
    watermarks,
    config: { overlapMs: 120_000, writeBatchRows: 200, maxWatermarkAgeDays: 13 },
    erasureRequests: requests,
    log,
  });
  receipts = openReceiptStore(mkdtempSync(join(tmpdir(), 'leadrank-erase-sync-')));
}, 60_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
  await sim?.close();
});

describe('erasure requested by the org sync', () => {
  it('queues merged, forgotten and deleted leads; the privacy consumer erases them and their write-back leftovers', async () => {
    const full = await sync.runOnce();
    expect(full.mode).toBe('full');
    expect(full.erasureRequests).toBe(0);
    expect((await store.getLeadStates(Object.values(ids))).every((s) => s !== null)).toBe(true);

    // Write-back leftovers: a queued job and a dead letter for the merged lead, the deleted lead and the kept one.
    const wb = createWritebackQueue({ REDIS_URL, LEADRANK_BULLMQ_PREFIX: BULL }, REGION);
    const dead = createRedisDeadLetters(REDIS_URL, REGION, PREFIX);
    closers.push(
      () => wb.close(),
      () => dead.close(),
    );
    const at = new Date().toISOString();
    await wb.add([job(ids.loser, at), job(ids.kept, at)]);
    await dead.add(
      [ids.loser, ids.deleted, ids.kept].map((leadId) => ({
        job: job(leadId, at),
        code: 'PERMANENT',
        message: 'test',
        attempts: 1,
        at,
      })),
    );

    // The org: a merge, ShouldForget on the Individual, a (soft) delete.
    const res = await fetch(`${sim.url}/__admin/leads/merge`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ masterRecordId: ids.master, recordToMergeIds: [ids.loser] }),
    });
    expect(res.status).toBe(200);
    await conn.sobject('Individual').update({ Id: individual, ShouldForget: true });
    await conn.sobject('Lead').destroy(ids.deleted);

    const queuedAt = Date.now();
    const inc = await sync.runOnce();
    expect(inc.mode).toBe('incremental');
    expect(inc.removed).toMatchObject({ merged: 1, deleted: 1 });
    expect(inc.erasureRequests).toBe(3);
    expect(inc.queries.some((q) => q.startsWith('SELECT Id FROM Individual WHERE ShouldForget = true'))).toBe(
      true,
    );
    // Read again in the overlap window: the same requests, no new jobs.
    const again = await sync.runOnce();
    expect(again.erasureRequests).toBeGreaterThanOrEqual(1); // the Individual is read again
    const privacyQueue = new Queue(erasureQueueName(REGION), { connection: redis.duplicate(), prefix: BULL });
    closers.push(() => privacyQueue.close());
    const counts = await privacyQueue.getJobCounts('wait', 'delayed', 'active', 'completed', 'failed');
    expect((counts.wait ?? 0) + (counts.active ?? 0) + (counts.completed ?? 0)).toBeLessThanOrEqual(2);
    expect(counts.delayed).toBe(1);

    const consumer = startErasureConsumer({
      redisUrl: REDIS_URL,
      region: REGION,
      prefix: BULL,
      targets: [
        featureStoreTarget(store, `redis ${PREFIX}`),
        writebackLeftoversTarget(REDIS_URL, REGION, { keyPrefix: PREFIX, bullPrefix: BULL }),
        syncWatermarkTarget(watermarks, `redis ${PREFIX}`),
      ],
      receipts,
      isLive: async (leadId) => (await store.getLeadStates([leadId]))[0] !== null,
      log,
    });
    closers.push(() => consumer.close());

    const merged = await waitForReceipt(ids.loser);
    expect(merged.reason).toBe('lead-merged');
    const leftovers = merged.steps.find((s) => s.store === 'write-back queue and dead letters');
    expect(leftovers?.removed).toBe(2); // its queued job and its dead letter
    const forgotten = await waitForReceipt(ids.forgotten);
    expect(forgotten.reason).toBe('individual-forget');
    expect(forgotten.steps.find((s) => s.store.startsWith('online feature store'))?.removed).toBe(1);
    expect((await store.getLeadStates([ids.forgotten]))[0]).toBeNull();
    // The deleted lead waits out the Recycle Bin delay (an undelete would cancel it).
    const deleted = await waitForReceipt(ids.deleted, DELETE_DELAY_MS + 20_000);
    expect(deleted.reason).toBe('lead-deleted');
    expect(Date.parse(deleted.requestedAt)).toBeGreaterThanOrEqual(queuedAt + DELETE_DELAY_MS);
    expect(deleted.steps.find((s) => s.store === 'write-back queue and dead letters')?.removed).toBe(1);

    // Nothing of the erased leads is left under the test's prefixes (jobs, dead letters, BullMQ events, the
    // privacy queue's own jobs); the kept lead's job and dead letter stay.
    for (const id of [ids.loser, ids.forgotten, ids.deleted]) expect(await redisMentions(id)).toEqual([]);
    expect((await dead.list()).map((l) => l.job.leadId)).toEqual([ids.kept]);
    expect((await redisMentions(ids.kept)).length).toBeGreaterThan(0);
    const after = await privacyQueue.getJobCounts('wait', 'delayed', 'active', 'completed', 'failed');
    expect(Object.values(after).every((n) => n === 0)).toBe(true);
    // The master of the merge and the kept lead stay in the store.
    expect((await store.getLeadStates([ids.master, ids.kept])).every((s) => s !== null)).toBe(true);
  }, 90_000);

  it('drops a delayed deletion request when the lead comes back (undeleted)', async () => {
    const leadId = ids.kept;
    await requests.add([{ leadId, region: REGION, reason: 'lead-deleted' }]);
    expect(await requests.cancelDeleted([leadId])).toBe(1);
    expect(await requests.cancelDeleted([leadId])).toBe(0);
  });

  it('goes on in an org without data protection details (no Individual object), reading no ShouldForget', async () => {
    const bare = await startOrgSimulator({
      port: 0,
      clients: [CLIENT],
      logger: pino({ level: 'silent' }),
      schema: loadOrgSchema({ dataProtection: false }),
    });
    try {
      const bareConn = await connectTo(bare);
      await expect(bareConn.query('SELECT Id FROM Individual')).rejects.toMatchObject({
        errorCode: 'INVALID_TYPE',
      });
      await bareConn.sobject('Lead').create({
        LastName: 'No Individual',
        Company: 'Acme Privacy',
        Status: 'Open - Not Contacted',
        Data_Region__c: REGION,
      });
      const bareWatermarks = redisWatermarkStore(REDIS_URL, REGION, { keyPrefix: `${PREFIX}-bare` });
      closers.push(() => bareWatermarks.close());
      const warnings: string[] = [];
      const bareLog = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
      const outcome = await new OrgSync({
        client: new SalesforceClient(bareConn, { log: bareLog }),
        region: REGION,
        store: createInProcessStore(REGION),
        worklistIndex: null,
        ranking,
        watermarks: bareWatermarks,
        config: { overlapMs: 120_000, writeBatchRows: 200, maxWatermarkAgeDays: 13 },
        erasureRequests: requests,
        log: bareLog,
      }).runOnce();
      expect(outcome.upserted).toBe(1);
      expect(outcome.erasureRequests).toBe(0);
      expect(warnings.some((w) => w.includes('no Individual object'))).toBe(true);
    } finally {
      await bare.close();
    }
  });

  it('is a worker role', () => {
    expect(parseRoles('sync,privacy')).toEqual(['sync', 'privacy']);
    expect(() => parseRoles('forget')).toThrow(/"forget" is not a role; use a comma list of .*privacy/);
  });
});
