// The opportunity-win spec (config/features/opportunity.json): training rows and served vectors are the same
// numbers (a deal read as the Bulk API gives it → training set; the same deal through the Redis opportunity
// store → serving), the spec reads no field that is the outcome on a closed record, and the deal
// configuration is validated with errors naming the file and the field.
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  computeFeatures,
  encodeFeatures,
  OPPORTUNITY_CONFIG,
  OPPORTUNITY_WIN_FEATURES,
  opportunityInputs,
  opportunityTrainingSet,
} from '../src/features/index.js';
import { opportunityFromRow, parseSalesforceDateTime } from '../src/inputs/index.js';
import { loadDealConfig } from '../src/scoring/index.js';
import { createRedisOpportunityStore } from '../src/store/index.js';
import { seeded } from './api-test-kit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `lr-oppf-test-${randomUUID().slice(0, 8)}`;
const CONFIG_DIR = join(import.meta.dirname, '..', '..', 'config');
const cleanup: string[] = [];

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true })));
});

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** Deals as a Bulk API query returns them: strings, '' for null, the Account's fields dotted. */
function bulkRows(n: number): Record<string, string>[] {
  const rand = seeded(31);
  const start = Date.parse('2026-01-01T00:00:00Z');
  return Array.from({ length: n }, (_, i) => {
    const created = start + Math.floor(rand() * 300) * 86_400_000 + Math.floor(rand() * 86_400_000);
    const closed = rand() < 0.7;
    const hasAccount = rand() < 0.85;
    return {
      Id: `006${String(i + 1).padStart(12, '0')}AAA`,
      CreatedDate: new Date(created).toISOString().replace('Z', '+0000'),
      StageName: closed
        ? pick(rand, ['Closed Won', 'Closed Lost'])
        : pick(rand, ['Prospecting', 'Negotiation/Review']),
      Amount: rand() < 0.1 ? '' : String(Math.round(rand() * 90_000) + 1000),
      Probability: '',
      CloseDate: new Date(created + Math.floor(rand() * 90) * 86_400_000).toISOString().slice(0, 10),
      Type: rand() < 0.2 ? '' : pick(rand, ['New Customer', 'Existing Customer - Upgrade']),
      LeadSource: pick(rand, ['Web', 'Partner Referral', 'Purchased List', 'Trade Show']),
      IsClosed: String(closed),
      IsWon: String(closed && rand() < 0.35),
      LastActivityDate: rand() < 0.5 ? '' : new Date(created + 86_400_000 * 3).toISOString().slice(0, 10),
      AccountId: hasAccount ? `001${String(i + 1).padStart(12, '0')}AAA` : '',
      Data_Region__c: 'US',
      'Account.Industry': hasAccount ? pick(rand, ['Technology', 'Finance', 'Government', 'Retail']) : '',
      'Account.NumberOfEmployees': hasAccount ? String(Math.round(rand() * 5000) + 5) : '',
      'Account.AnnualRevenue': hasAccount && rand() < 0.6 ? String(Math.round(rand() * 5e7)) : '',
    };
  });
}

describe('the opportunity-win training set', () => {
  const rows = bulkRows(600);
  const set = opportunityTrainingSet(rows);

  it('holds one snapshot per closed deal at its creation, labelled by IsWon', () => {
    const closed = rows.filter((r) => r.IsClosed === 'true');
    expect(set.rows).toHaveLength(closed.length);
    const byId = new Map(rows.map((r) => [r.Id, r]));
    for (const row of set.rows) {
      const source = byId.get(row.leadId)!;
      expect(row.label).toBe(source.IsWon === 'true' ? 1 : 0);
      expect(row.snapshotAt.getTime()).toBe(parseSalesforceDateTime(source.CreatedDate!));
    }
    expect(set.spec.features.map((f) => f.name)).toEqual(OPPORTUNITY_WIN_FEATURES.map((f) => f.name));
  });

  it('gives exactly the vectors serving computes for the same deals read back from the Redis store', async () => {
    const store = createRedisOpportunityStore(REDIS_URL, 'US', { keyPrefix: PREFIX });
    try {
      await store.put(rows.map((r) => opportunityFromRow(r)));
      const stored = await store.get(set.rows.map((r) => r.leadId));
      let nonMissing = 0;
      set.rows.forEach((row, i) => {
        const served = encodeFeatures(
          set.spec,
          computeFeatures(OPPORTUNITY_WIN_FEATURES, opportunityInputs(stored[i]!), row.snapshotAt.getTime()),
        );
        served.forEach((v, c) => expect(Object.is(v, row.values[c]), `${row.leadId} ${c}`).toBe(true));
        nonMissing += served.filter((v) => v !== null).length;
      });
      // The account's fields reach the features through the parent (not all missing).
      const industry = set.spec.features.findIndex((f) => f.name === 'account_industry');
      expect(set.rows.filter((r) => r.values[industry] !== null).length).toBeGreaterThan(set.rows.length / 2);
      expect(nonMissing).toBeGreaterThan(set.rows.length * 6);
    } finally {
      await store.close();
    }
  });

  it('reads no field that is the outcome on a closed deal, and says why it left them out', () => {
    const read = OPPORTUNITY_CONFIG.features.map((f) => ('field' in f.source ? f.source.field : ''));
    for (const outcome of ['StageName', 'Probability', 'ForecastCategory', 'IsWon', 'IsClosed'])
      expect(read).not.toContain(outcome);
    expect(OPPORTUNITY_CONFIG.excluded?.map((e) => e.field)).toEqual(
      expect.arrayContaining(['StageName', 'Probability', 'IsWon', 'Name']),
    );
  });
});

describe('the deal configuration', () => {
  it('loads the shipped rules, actions and reasons', async () => {
    const deal = await loadDealConfig(CONFIG_DIR);
    expect(deal.ruleSet.version).toBe('deal-rules-1.0.0');
    expect(deal.actions.actions.map((a) => a.action)).toContain('CLOSE_PLAN');
  });

  it('names the file and the field of an action condition no deal has, and of a feature without reasons', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'deal-config-'));
    cleanup.push(dir);
    await cp(CONFIG_DIR, dir, { recursive: true });
    const actions = join(dir, 'actions', 'opportunity.json');
    await writeFile(actions, (await readFile(actions, 'utf8')).replace('"DaysToClose"', '"Lead_Score__c"'));
    const reasons = join(dir, 'reasons', 'opportunity-win.json');
    const catalogue = JSON.parse(await readFile(reasons, 'utf8')) as { features: Record<string, unknown> };
    delete catalogue.features.deal_type;
    await writeFile(reasons, JSON.stringify(catalogue));
    const error = await loadDealConfig(dir).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(error).toContain(
      `${actions}: actions[0] (Update_Close_Date).eligibility.conditions[0].field: unknown deal field "Lead_Score__c"`,
    );
    expect(error).toContain(`${reasons}: features: no reason texts for deal_type`);
  });
});
