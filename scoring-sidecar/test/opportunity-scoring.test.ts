// Opportunity scoring end to end against the org simulator (through the product's Salesforce client) and real
// Redis: the opportunity sync fills the store (region-filtered; closed and deleted deals leave), the batch
// cycle rescores every open deal and writes the score fields and Score_History__c rows back, only material
// changes, and POST /v1/score answers for the same deal exactly what the org now holds.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type jsforce from 'jsforce';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { loadBatchConfig, runOpportunityCycle } from '../src/batch/index.js';
import { loadRegionsConfig, loadScoringConfig } from '../src/config/index.js';
import { OpportunitySync, redisWatermarkStore } from '../src/ingest/index.js';
import { SalesforceClient, connectToOrg } from '../src/salesforce/index.js';
import { fixedModelSource, loadDealConfig, OpportunityScorer } from '../src/scoring/index.js';
import { startServer } from '../src/server.js';
import { createRedisOpportunityStore, type OpportunityStore } from '../src/store/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `lr-opp-test-${randomUUID().slice(0, 8)}`;
const app = { clientId: 'opp-test', clientSecret: 'opp-test-secret' };
const log = pino({ level: 'silent' });
const REPO = join(import.meta.dirname, '..', '..');
const CONFIG_DIR = join(REPO, 'config');
const SYNC = { overlapMs: 120_000, writeBatchRows: 200, maxWatermarkAgeDays: 13 };
const SECRET = 'us-client-secret';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let root: string;
let sim: RunningOrgSimulator;
let conn: jsforce.Connection;
let client: SalesforceClient;
let redis: Redis;
let store: OpportunityStore;
let orgNow = Date.parse('2026-11-25T00:00:00Z');
const tick = (ms = 60_000) => (orgNow += ms);

interface OrgDeal {
  Id: string;
  StageName: string;
  Opportunity_Score__c: number | null;
  Score_Band__c: string | null;
  Score_Reasons__c: string | null;
  Next_Best_Action__c: string | null;
  Score_Source__c: string | null;
  Score_Model_Version__c: string | null;
  Scored_At__c: string | null;
}

async function openDeals(region: 'US' | 'EU'): Promise<OrgDeal[]> {
  const res = await conn.query<OrgDeal>(
    'SELECT Id, StageName, Opportunity_Score__c, Score_Band__c, Score_Reasons__c, Next_Best_Action__c, ' +
      'Score_Source__c, Score_Model_Version__c, Scored_At__c FROM Opportunity ' +
      `WHERE Data_Region__c = '${region}' AND IsClosed = false ORDER BY Id`,
    { autoFetch: true, maxFetch: 100_000 },
  );
  return res.records;
}

async function scorer(): Promise<OpportunityScorer> {
  const scoring = loadScoringConfig(join(CONFIG_DIR, 'scoring.json'));
  return new OpportunityScorer({
    region: 'US',
    regions: loadRegionsConfig(join(CONFIG_DIR, 'regions.json')),
    bands: scoring.bands,
    topReasons: scoring.reasons.top,
    deal: await loadDealConfig(CONFIG_DIR),
    models: fixedModelSource(null),
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'leadrank-opp-'));
  await generateDataset({
    outDir: root,
    seed: 23,
    active: 300,
    historical: 1200,
    dataEnd: '2026-11-24T00:00:00Z',
    euShare: 0.3,
    historyDays: 120,
  });
  sim = await startOrgSimulator({ port: 0, clients: [app], logger: log, clock: () => new Date(orgNow) });
  await seedFromDirectory(sim.ctx.store, root);
  conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
  client = new SalesforceClient(conn, { log });
  redis = new Redis(REDIS_URL);
  store = createRedisOpportunityStore(REDIS_URL, 'US', { keyPrefix: PREFIX });
}, 180_000);

afterAll(async () => {
  await store?.close();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await sim?.close();
  await rm(root, { recursive: true, force: true });
});

describe('the org simulator', () => {
  it('describes the Opportunity score fields and the history Record_Id__c from force-app', async () => {
    const deal = await conn.sobject('Opportunity').describe();
    const byName = new Map(deal.fields.map((f) => [f.name, f]));
    expect(byName.get('Opportunity_Score__c')?.type).toBe('double');
    expect(byName.get('Score_Band__c')?.picklistValues?.map((p) => p.value)).toEqual(['A', 'B', 'C', 'D']);
    expect(byName.get('Score_Reasons__c')?.type).toBe('textarea');
    expect(byName.get('Data_Region__c')?.type).toBe('picklist');
    const history = await conn.sobject('Score_History__c').describe();
    expect(history.fields.find((f) => f.name === 'Record_Id__c')?.externalId).toBe(true);
  });
});

describe('opportunity scoring end to end (US deployment, deal rules)', () => {
  let sync: OpportunitySync;
  let asOf: Date;

  beforeAll(() => {
    const watermarks = redisWatermarkStore(REDIS_URL, 'US', { keyPrefix: `${PREFIX}:opportunities` });
    sync = new OpportunitySync({ client, region: 'US', store, watermarks, config: SYNC, log });
  });

  it('syncs the open opportunities of the region only, with their account', async () => {
    const open = await openDeals('US');
    expect(open.length).toBeGreaterThan(10);
    const outcome = await sync.runOnce();
    expect(outcome.mode).toBe('full');
    expect(outcome.upserted).toBe(open.length);
    expect(await store.count()).toBe(open.length);
    const [first] = await store.get([open[0]!.Id]);
    expect(first?.Data_Region__c).toBe('US');
    expect(
      (await store.get(open.map((d) => d.Id))).filter((r) => r?.Account?.Industry).length,
    ).toBeGreaterThan(0);
    const eu = await openDeals('EU');
    expect(eu.length).toBeGreaterThan(0);
    expect((await store.get(eu.map((d) => d.Id))).every((r) => r === null)).toBe(true);
    expect(outcome.queries.every((q) => q.includes("Data_Region__c = 'US'"))).toBe(true);
  }, 60_000);

  it('rescores every open deal and writes the fields and history rows back, then only material changes', async () => {
    tick();
    asOf = new Date(orgNow);
    const open = await openDeals('US');
    const deals = await scorer();
    const batch = loadBatchConfig(join(CONFIG_DIR, 'batch.json'));
    const first = await runOpportunityCycle({
      client,
      region: 'US',
      scorer: deals,
      materialChange: batch.materialChange,
      now: () => asOf,
      log,
    });
    expect(first.extracted).toBe(open.length);
    expect(first.scored.rules).toBe(open.length);
    expect(first.byReason.first).toBe(open.length);
    expect(first.written).toBe(open.length);
    expect(first.historyWritten).toBe(open.length);
    expect(first.failed).toEqual([]);
    expect(first.path).toBe('collections');

    const after = await openDeals('US');
    expect(after.every((d) => typeof d.Opportunity_Score__c === 'number')).toBe(true);
    expect(after.every((d) => d.Score_Source__c === 'Rules')).toBe(true);
    expect(after.every((d) => d.Score_Model_Version__c === 'deal-rules-1.0.0')).toBe(true);
    expect(new Set(after.map((d) => d.Score_Band__c)).size).toBeGreaterThan(1);
    const late = after.find(
      (d) => d.StageName === 'Negotiation/Review' || d.StageName === 'Proposal/Price Quote',
    );
    if (late) expect(late.Score_Reasons__c).toContain('+20 In a late stage (proposal or negotiation)');

    const rows = (
      await conn.query<{
        Opportunity__c: string;
        Record_Id__c: string;
        Score__c: number;
        External_Key__c: string;
      }>(
        `SELECT Opportunity__c, Record_Id__c, Score__c, External_Key__c, Lead__c FROM Score_History__c WHERE Cycle_Id__c = '${first.cycleId}'`,
        { autoFetch: true, maxFetch: 100_000 },
      )
    ).records;
    expect(rows.length).toBe(open.length);
    const byDeal = new Map(after.map((d) => [d.Id, d]));
    for (const row of rows) {
      expect(row.Record_Id__c).toBe(row.Opportunity__c);
      expect(row.External_Key__c).toBe(`${row.Opportunity__c}:${first.cycleId}`);
      expect(row.Score__c).toBe(byDeal.get(row.Opportunity__c)!.Opportunity_Score__c);
    }

    tick(3_600_000);
    const again = await runOpportunityCycle({
      client,
      region: 'US',
      scorer: deals,
      materialChange: batch.materialChange,
      now: () => new Date(orgNow),
      log,
    });
    expect(again.extracted).toBe(open.length);
    expect(again.changes).toBe(0);
    expect(again.written).toBe(0);
    await deals.close();
  }, 120_000);

  it('answers POST /v1/score for a deal with what the org holds, and refuses bad input by field', async () => {
    const auditDir = await mkdtemp(join(tmpdir(), 'opp-audit-'));
    const { port, stop, sidecar } = await startServer(
      {
        REGION: 'US',
        PORT: '0',
        HOST: '127.0.0.1',
        LEADRANK_CLIENTS: JSON.stringify([
          { clientId: 'salesforce-us', clientSecretSha256: sha(SECRET), region: 'US', name: 'US org' },
        ]),
        LEADRANK_TOKEN_SIGNING_KEY: 'test-signing-key-0123456789abcdef0123456789',
        LEADRANK_AUDIT_DIR: auditDir,
        LEADRANK_AUDIT_FSYNC: 'none',
        LEADRANK_STATE_DIR: `${auditDir}-state`,
        LEADRANK_RULES_ONLY: '1',
        REDIS_URL,
        LEADRANK_REDIS_PREFIX: PREFIX,
        LEADRANK_BULLMQ_PREFIX: PREFIX,
      },
      { logger: log, now: () => asOf },
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      const tokenRes = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=salesforce-us&client_secret=${SECRET}`,
      });
      const token = ((await tokenRes.json()) as { access_token: string }).access_token;
      const post = async (body: unknown) => {
        const res = await fetch(`${base}/v1/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
        return { status: res.status, json: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
      };

      const deals = await openDeals('US');
      for (const deal of deals.slice(0, 5)) {
        const { status, json } = await post({ object: 'Opportunity', id: deal.Id });
        expect(status).toBe(200);
        const s = json.scores[0];
        expect(s).toMatchObject({
          status: 200,
          object: 'Opportunity',
          opportunityId: deal.Id,
          source: 'rules',
        });
        expect(s.fallbackReason).toBe('no_model');
        // The batch wrote this deal at the same instant: the API's answer is what the org holds.
        expect(s.score).toBe(deal.Opportunity_Score__c);
        expect(s.band).toBe(deal.Score_Band__c);
        expect(s.reasonLines.join('\n')).toBe(deal.Score_Reasons__c ?? '');
        expect(s.nextBestAction ? `${s.nextBestAction.label}: ${s.nextBestAction.rationale}` : null).toBe(
          deal.Next_Best_Action__c,
        );
        expect(s.modelVersion).toBe(deal.Score_Model_Version__c);
      }
      // The key prefix alone says Opportunity; a batch answers 404 per unknown deal.
      const byPrefix = await post({ id: deals[0]!.Id });
      expect(byPrefix.json.scores[0].score).toBe(deals[0]!.Opportunity_Score__c);
      const batch = await post({
        object: 'Opportunity',
        opportunities: [{ id: deals[1]!.Id }, { id: '006000000000000AAA' }],
      });
      expect(batch.json.scores.map((s: { status: number }) => s.status)).toEqual([200, 404]);
      expect(batch.json.scores[1].error.code).toBe('opportunity_not_found');

      // A payload is scored on the spot and never stored.
      const payload = await post({
        object: 'Opportunity',
        id: '006000000000099AAA',
        fields: {
          CreatedDate: '2026-10-01T00:00:00.000Z',
          StageName: 'Negotiation/Review',
          Amount: 48000,
          CloseDate: '2026-12-10',
          Type: 'Existing Customer - Upgrade',
          LeadSource: 'Partner Referral',
          Account: { Industry: 'Technology', NumberOfEmployees: 1200 },
        },
      });
      expect(payload.status).toBe(200);
      expect(payload.json.scores[0].reasonLines).toContain('+20 In a late stage (proposal or negotiation)');
      expect(payload.json.scores[0].nextBestAction.action).toBe('CLOSE_PLAN');
      expect(await store.get(['006000000000099AAA'])).toEqual([null]);

      const badAmount = await post({
        object: 'Opportunity',
        id: '006000000000099AAA',
        fields: { CreatedDate: '2026-10-01T00:00:00.000Z', Amount: 'lots' },
      });
      expect(badAmount.status).toBe(400);
      expect(badAmount.json.error.message).toMatch(/^fields\.Amount: /);
      const badId = await post({ object: 'Opportunity', id: '00Q000000000001AAA' });
      expect(badId.status).toBe(400);
      expect(badId.json.error.message).toMatch(/^id: /);
      const badObject = await post({ object: 'Contact', id: deals[0]!.Id });
      expect(badObject.status).toBe(400);
      expect(badObject.json.error.message).toMatch(/^object: /);
      const euDeal = await post({ object: 'Opportunity', id: deals[0]!.Id, region: 'EU' });
      expect(euDeal.status).toBe(403);
      void sidecar;
    } finally {
      await stop();
      await rm(auditDir, { recursive: true, force: true });
      await rm(`${auditDir}-state`, { recursive: true, force: true });
    }
  }, 120_000);

  it('drops a deal from the store when it closes or is deleted', async () => {
    // One pull takes in what came before (the write-back moved every open deal's SystemModstamp; the
    // overlap window re-reads the seeded closed deals, which are not in the store), then the org changes.
    const settle = await sync.runOnce();
    expect(settle.mode).toBe('incremental');
    const [won, gone, stays] = await openDeals('US');
    tick();
    await conn.sobject('Opportunity').update({ Id: won!.Id, StageName: 'Closed Won' });
    await conn.sobject('Opportunity').destroy(gone!.Id);
    tick(180_000);
    const outcome = await sync.runOnce();
    expect(outcome.mode).toBe('incremental');
    expect(outcome.removed).toEqual({ closed: 1, deleted: 1 });
    expect(await store.get([won!.Id, gone!.Id])).toEqual([null, null]);
    expect((await store.get([stays!.Id]))[0]?.Id).toBe(stays!.Id);
  }, 60_000);
});
