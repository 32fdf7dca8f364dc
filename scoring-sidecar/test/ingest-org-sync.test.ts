// The continuous org sync against the org simulator (through the product's Salesforce client) and real Redis:
// initial load, incremental pulls, worklist moves, conversions/deletions/merges, the watermark kept on a
// failed store write, the region filter, overlap de-duplication, and `leadrank store sync --full`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type jsforce from 'jsforce';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import {
  fileWatermarkStore,
  loadSyncConfig,
  OrgSync,
  redisWatermarkStore,
  type WatermarkStore,
} from '../src/ingest/index.js';
import {
  createRedisWorklistIndex,
  loadRankingConfig,
  type ClosableWorklistIndex,
} from '../src/ranking/index.js';
import { SalesforceClient, connectToOrg } from '../src/salesforce/index.js';
import { createRedisStore, type OnlineFeatureStore, type Region } from '../src/store/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `lr-ingest-test-${randomUUID().slice(0, 8)}`;
const app = { clientId: 'ingest-test', clientSecret: 'ingest-test-secret' };
const log = pino({ level: 'silent' });
const ranking = loadRankingConfig();
const CONFIG = { overlapMs: 120_000, writeBatchRows: 200, maxWatermarkAgeDays: 13 };
const REPO = join(import.meta.dirname, '..', '..');

let root: string;
let sim: RunningOrgSimulator;
let conn: jsforce.Connection;
let redis: Redis;
let orgNow = Date.parse('2026-11-25T00:00:00Z'); // the org's clock, moved forward by the tests
const opened: { close(): Promise<void> }[] = [];

interface Deployment {
  region: Region;
  store: OnlineFeatureStore;
  index: ClosableWorklistIndex;
  watermarks: WatermarkStore;
  sync: OrgSync;
}

async function deployment(region: Region, prefix = `${PREFIX}-${region}`): Promise<Deployment> {
  const store = createRedisStore(REDIS_URL, region, { keyPrefix: prefix, logger: log });
  const index = createRedisWorklistIndex(REDIS_URL, region, {
    keyPrefix: prefix,
    closedStatuses: ranking.candidates.closedStatuses,
    logger: log,
  });
  const watermarks = redisWatermarkStore(REDIS_URL, region, { keyPrefix: prefix });
  opened.push(store, index, watermarks);
  const client = new SalesforceClient(conn, { log });
  const sync = new OrgSync({
    client,
    region,
    store,
    worklistIndex: index,
    ranking,
    watermarks,
    config: CONFIG,
    log,
  });
  return { region, store, index, watermarks, sync };
}

const tick = (ms = 60_000) => (orgNow += ms);
const admin = async (path: string, body: unknown) => {
  const res = await fetch(`${sim.url}/__admin${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};

async function openLeads(region: Region) {
  const res = await conn.query<{ Id: string; OwnerId: string; Territory__c: string | null; Status: string }>(
    `SELECT Id, OwnerId, Territory__c, Status FROM Lead WHERE Data_Region__c = '${region}' AND IsConverted = false AND Status NOT IN ('Closed - Not Converted', 'Closed - Converted') ORDER BY Id`,
    { autoFetch: true, maxFetch: 100_000 },
  );
  return res.records;
}

async function inWorklist(d: Deployment, lead: { Id: string }, owner: string, territory: string | null) {
  return (await d.index.candidatesFor(owner, territory)).some((c) => c.leadId === lead.Id);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'leadrank-ingest-'));
  await generateDataset({
    outDir: root,
    seed: 11,
    active: 500,
    historical: 100,
    dataEnd: '2026-11-24T00:00:00Z',
    euShare: 0.3,
    historyDays: 90,
  });
  sim = await startOrgSimulator({ port: 0, clients: [app], logger: log, clock: () => new Date(orgNow) });
  await seedFromDirectory(sim.ctx.store, root);
  conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
  redis = new Redis(REDIS_URL);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(opened.map((o) => o.close()));
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await sim?.close();
  await rm(root, { recursive: true, force: true });
});

describe('continuous org sync (US deployment)', () => {
  let us: Deployment;
  beforeAll(async () => {
    us = await deployment('US');
  });

  it('loads every open lead of the region in full first, and saves the watermark after the writes', async () => {
    expect(await us.watermarks.load()).toBeNull();
    const outcome = await us.sync.runOnce();
    const open = await openLeads('US');
    expect(outcome.mode).toBe('full');
    expect(outcome.upserted).toBe(open.length);
    const states = await us.store.getLeadStates(open.map((l) => l.Id));
    expect(states.every((s) => s !== null)).toBe(true);
    expect(JSON.stringify(states)).not.toMatch(/"(FirstName|LastName|Phone|Street)":"[^"]/); // no PII kept
    const rep = open.find((l) => l.Status.startsWith('Working'))!;
    expect(await inWorklist(us, rep, rep.OwnerId, rep.Territory__c)).toBe(true);
    const saved = await us.watermarks.load();
    expect(saved?.leads.modstamp).toBe(outcome.watermark);
    expect(outcome.accounts).toBeGreaterThan(0);

    // The next pull re-reads the overlap window behind the watermark (here: the whole seeded org, all written
    // in one second). The open leads the load applied are skipped; the closed and converted ones, which the
    // load did not read, are applied once (off every worklist) and skipped from then on.
    const settle = await us.sync.runOnce();
    expect(settle.mode).toBe('incremental');
    expect(settle.duplicates).toBeGreaterThanOrEqual(open.length);
    expect(settle.upserted - settle.closed).toBe(0);
    const quiet = await us.sync.runOnce();
    expect(quiet.rowsRead).toBe(quiet.duplicates);
  }, 60_000);

  it('picks up new and changed leads incrementally, re-reading the overlap without re-applying it', async () => {
    tick();
    const [changed] = await openLeads('US');
    await conn.sobject('Lead').update({ Id: changed!.Id, Industry: 'Biotechnology' });
    const created = (await conn.sobject('Lead').create({
      LastName: 'New',
      Company: 'Newco',
      Data_Region__c: 'US',
      LeadSource: 'Web',
    })) as { id: string };
    const first = await us.sync.runOnce();
    expect(first.mode).toBe('incremental');
    expect(first.upserted).toBe(2);
    const [newState, changedState] = await us.store.getLeadStates([created.id, changed!.Id]);
    expect(newState?.lead.Id).toBe(created.id);
    expect(changedState?.lead.Industry).toBe('Biotechnology');

    // Nothing changed since: the overlap window reads both rows again, and both are skipped as already applied.
    tick(10_000);
    const again = await us.sync.runOnce();
    expect(again.rowsRead).toBe(again.duplicates);
    expect(again.duplicates).toBeGreaterThanOrEqual(2);
    expect(again.upserted).toBe(0);
    expect(again.watermark).toBe(first.watermark);
    // A second change of one of them inside the window is applied (a new SystemModstamp).
    tick(10_000);
    await conn.sobject('Lead').update({ Id: changed!.Id, Industry: 'Banking' });
    const third = await us.sync.runOnce();
    expect(third.upserted).toBe(1);
    expect(third.duplicates).toBe(third.rowsRead - 1);
    expect((await us.store.getLeadStates([changed!.Id]))[0]?.lead.Industry).toBe('Banking');
  }, 60_000);

  it('moves a lead between worklists on owner and territory changes, and off them on a closed status', async () => {
    tick();
    const open = await openLeads('US');
    const lead = open.find((l) => l.Status.startsWith('Working'))!;
    const users = await conn.query<{ Id: string; Territory__c: string | null }>(
      'SELECT Id, Territory__c FROM User WHERE Territory__c != null ORDER BY Id',
    );
    const newOwner = users.records.find((u) => u.Id !== lead.OwnerId)!;
    await conn
      .sobject('Lead')
      .update({ Id: lead.Id, OwnerId: newOwner.Id, Territory__c: newOwner.Territory__c });
    await us.sync.runOnce();
    expect(await inWorklist(us, lead, lead.OwnerId, null)).toBe(false);
    expect(await inWorklist(us, lead, newOwner.Id, newOwner.Territory__c)).toBe(true);

    tick();
    await conn.sobject('Lead').update({ Id: lead.Id, Status: 'Closed - Not Converted' });
    const closed = await us.sync.runOnce();
    expect(closed.closed).toBe(1);
    expect(await inWorklist(us, lead, newOwner.Id, newOwner.Territory__c)).toBe(false);
  }, 60_000);

  it('removes converted, deleted and merged leads from the store and every worklist', async () => {
    tick();
    const open = await openLeads('US');
    const [converted, deleted, loser, master] = open.slice(-4) as [
      (typeof open)[0],
      (typeof open)[0],
      (typeof open)[0],
      (typeof open)[0],
    ];
    for (const l of [converted, deleted, loser])
      expect(await inWorklist(us, l, l.OwnerId, l.Territory__c)).toBe(true);
    await admin('/leads/convert', { leadId: converted.Id });
    await conn.sobject('Lead').destroy(deleted.Id);
    await admin('/leads/merge', { masterRecordId: master.Id, recordToMergeIds: [loser.Id] });
    const outcome = await us.sync.runOnce();
    expect(outcome.removed).toEqual({ deleted: 1, merged: 1, converted: 1 });
    const states = await us.store.getLeadStates([converted.Id, deleted.Id, loser.Id, master.Id]);
    expect(states.map((s) => s !== null)).toEqual([false, false, false, true]);
    for (const l of [converted, deleted, loser])
      expect(await inWorklist(us, l, l.OwnerId, l.Territory__c)).toBe(false);
    expect(await inWorklist(us, master, master.OwnerId, master.Territory__c)).toBe(true);
    // What the org says about them, read back as Salesforce documents it.
    const gone = await conn.request<{
      records: { Id: string; IsDeleted: boolean; MasterRecordId: string | null }[];
    }>(
      `/services/data/v62.0/queryAll?q=${encodeURIComponent(`SELECT Id, IsDeleted, MasterRecordId FROM Lead WHERE Id IN ('${deleted.Id}', '${loser.Id}') ORDER BY Id`)}`,
    );
    expect(gone.records.every((r) => r.IsDeleted)).toBe(true);
    expect(gone.records.find((r) => r.Id === loser.Id)?.MasterRecordId).toBe(master.Id);
  }, 60_000);

  it('keeps the watermark where it was when the store write fails, and applies the change on the next pull', async () => {
    tick();
    const [lead] = await openLeads('US');
    await conn.sobject('Lead').update({ Id: lead!.Id, Industry: 'Energy' });
    const before = await us.watermarks.load();
    // A store whose Redis is a closed port: a real connection error, not a mock.
    const broken = createRedisStore('redis://127.0.0.1:1', 'US', {
      keyPrefix: `${PREFIX}-US`,
      logger: log,
      redisOptions: {
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        lazyConnect: true,
        retryStrategy: () => null,
      },
    });
    opened.push(broken);
    const failing = new OrgSync({
      client: new SalesforceClient(conn, { log }),
      region: 'US',
      store: broken,
      worklistIndex: us.index,
      ranking,
      watermarks: us.watermarks,
      config: CONFIG,
      log,
    });
    await expect(failing.runOnce()).rejects.toThrow();
    expect(await us.watermarks.load()).toEqual(before);
    const retried = await us.sync.runOnce();
    expect(retried.upserted).toBeGreaterThanOrEqual(1);
    expect((await us.store.getLeadStates([lead!.Id]))[0]?.lead.Industry).toBe('Energy');
  }, 60_000);

  it('rides out an org outage (REQUEST_LIMIT_EXCEEDED, then 503) within a pull', async () => {
    const client = new SalesforceClient(conn, { log, retry: { baseDelayMs: 20, maxDelayMs: 100 } });
    const sync = new OrgSync({
      client,
      region: 'US',
      store: us.store,
      worklistIndex: us.index,
      ranking,
      watermarks: us.watermarks,
      config: CONFIG,
      log,
    });
    const outage = (errorCode: string, requests: number) =>
      fetch(`${sim.url}/__admin/outage`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ errorCode, requests }),
      });
    for (const [errorCode, industry] of [
      ['REQUEST_LIMIT_EXCEEDED', 'Shipping'],
      ['SERVER_UNAVAILABLE', 'Utilities'],
    ] as const) {
      tick();
      const [lead] = await openLeads('US');
      await conn.sobject('Lead').update({ Id: lead!.Id, Industry: industry });
      const retriedBefore = client.stats.retriedCalls;
      await outage(errorCode, 3);
      const outcome = await sync.runOnce();
      expect(client.stats.retriedCalls - retriedBefore).toBe(3);
      expect(outcome.upserted).toBe(1);
      expect((await us.store.getLeadStates([lead!.Id]))[0]?.lead.Industry).toBe(industry);
    }
  }, 60_000);

  it('`leadrank store sync --full` refills an emptied store and its worklists', async () => {
    const open = await openLeads('US');
    const rep = open.find((l) => l.Status.startsWith('Working'))!;
    const keys = await redis.keys(`${PREFIX}-US:*`);
    await redis.del(...keys); // what a Redis restart without persistence leaves
    expect((await us.store.getLeadStates([rep.Id]))[0]).toBeNull();
    // Asynchronous: the simulator runs in this process and must keep answering while the command runs.
    const run = await promisify(execFile)(
      join(REPO, 'node_modules', '.bin', 'tsx'),
      [join(REPO, 'scoring-sidecar', 'src', 'cli.ts'), 'store', 'sync', '--full'],
      {
        cwd: REPO,
        encoding: 'utf8',
        env: {
          ...process.env,
          LOG_LEVEL: 'warn',
          REGION: 'US',
          REDIS_URL,
          LEADRANK_REDIS_PREFIX: `${PREFIX}-US`,
          SF_LOGIN_URL: sim.url,
          SF_CLIENT_ID: app.clientId,
          SF_CLIENT_SECRET: app.clientSecret,
        },
        timeout: 120_000,
      },
    );
    expect(run.stderr).not.toMatch(/"level":50/);
    const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as { mode: string; upserted: number };
    expect(summary).toMatchObject({ mode: 'full', upserted: open.length });
    const states = await us.store.getLeadStates(open.map((l) => l.Id));
    expect(states.every((s) => s !== null)).toBe(true);
    expect(await inWorklist(us, rep, rep.OwnerId, rep.Territory__c)).toBe(true);
    expect(await us.watermarks.load()).not.toBeNull();
  }, 120_000);
});

describe('region filter', () => {
  it('an EU deployment reads only EU rows, in the query itself', async () => {
    const eu = await deployment('EU');
    const full = await eu.sync.runOnce();
    const openEu = await openLeads('EU');
    expect(full.rowsRead).toBe(openEu.length);
    expect(full.queries.every((q) => q.includes("Data_Region__c = 'EU'"))).toBe(true);
    await eu.sync.runOnce(); // settles the overlap window of the seeded org (see the first test)
    // A US-only change after the EU watermark is not even read by the EU pull.
    tick();
    const [usLead] = await openLeads('US');
    await conn.sobject('Lead').update({ Id: usLead!.Id, Industry: 'Retail' });
    const next = await eu.sync.runOnce();
    expect(next.mode).toBe('incremental');
    // Every row it read is an EU row it had applied already: the US change was not read at all.
    expect(next.rowsRead).toBe(next.duplicates);
    expect(next.upserted).toBe(0);
    expect(next.queries.every((q) => q.includes("Data_Region__c = 'EU'"))).toBe(true);
    expect((await eu.store.getLeadStates([usLead!.Id]))[0]).toBeNull();
  }, 60_000);
});

describe('file watermark', () => {
  it('round-trips through a file in the state dir and is replaced whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadrank-wm-'));
    const store = fileWatermarkStore(join(dir, 'sync-watermark.json'));
    expect(await store.load()).toBeNull();
    const w = {
      version: 1 as const,
      region: 'EU' as const,
      leads: {
        modstamp: '2026-11-25T00:00:00.000Z',
        seen: { '00Q000000000001AAA': '2026-11-25T00:00:00.000Z' },
      },
      accounts: null,
      savedAt: new Date().toISOString(),
    };
    await store.save(w);
    expect(await store.load()).toEqual(w);
    await store.clear();
    expect(await store.load()).toBeNull();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('config/sync.json', () => {
  it('loads the repository file and refuses a bad one naming the file and the field', async () => {
    expect(loadSyncConfig(join(REPO, 'config', 'sync.json')).maxWatermarkAgeDays).toBeLessThanOrEqual(14);
    const dir = await mkdtemp(join(tmpdir(), 'leadrank-sync-config-'));
    const file = join(dir, 'sync.json');
    await writeFile(
      file,
      JSON.stringify({
        intervalMs: 5,
        overlapMs: 0,
        writeBatchRows: 10,
        maxWatermarkAgeDays: 20,
        metricsPort: 0,
      }),
    );
    expect(() => loadSyncConfig(file)).toThrow(/sync\.json: intervalMs: .*; maxWatermarkAgeDays: /);
    await rm(dir, { recursive: true, force: true });
  });
});
