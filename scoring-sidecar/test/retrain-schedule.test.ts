// Scheduled retraining of deal models (config/retraining.json targets.opportunity): a bad entry is refused
// naming the file and the field, and a fired deal job, run by the worker's retrain worker against real Redis
// and the org simulator (jsforce), builds the deal training set from the org's closed deals through the
// product path (`leadrank opportunities training-set`), retrains with the real Python command and promotes
// the deal model in the region's deal registry, where the region's serving finds it.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { loadRetrainSchedules, retrainQueueName, startRetrainWorker } from '../src/batch/retrain-schedule.js';
import { buildOpportunityTrainingSet } from '../src/commands/opportunities.js';
import { ModelRegistry } from '../src/model/registry.js';
import { CLIENT, REDIS_URL, startSimulator } from './batch-kit.js';
import { closedDeals } from './support/registry-models.js';

const silent = pino({ level: 'silent' });
const SCHEDULE = { cron: '0 4 * * 1', timezone: 'UTC' };
const DEAL = {
  schedule: SCHEDULE,
  dataWindowDays: 730,
  holdoutDays: 120,
  horizonDays: 90,
  minRows: 1000,
  minHoldoutRows: 300,
};
const LEAD = {
  schedule: { cron: '0 3 * * 1', timezone: 'UTC' },
  dataWindowDays: 365,
  holdoutDays: 30,
  horizonDays: 30,
  minRows: 5000,
  minHoldoutRows: 5000,
};

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'retrain-schedule-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function configFile(name: string, content: unknown): Promise<string> {
  const file = join(work, name);
  await writeFile(file, JSON.stringify(content));
  return file;
}

describe('config/retraining.json targets', () => {
  it('reads each configured target, lead first', async () => {
    const file = await configFile('ok.json', { ...LEAD, targets: { opportunity: DEAL } });
    expect(loadRetrainSchedules(file)).toEqual([
      { target: 'lead', ...LEAD.schedule },
      { target: 'opportunity', ...SCHEDULE },
    ]);
    expect(loadRetrainSchedules(await configFile('lead-only.json', LEAD))).toEqual([
      { target: 'lead', ...LEAD.schedule },
    ]);
  });

  it.each([
    [
      { opportunity: { ...DEAL, schedule: { cron: 'every monday', timezone: 'UTC' } } },
      'targets.opportunity.schedule.cron',
    ],
    [
      { opportunity: { ...DEAL, schedule: { cron: '0 4 * * 1', timezone: 'Mars/Olympus' } } },
      'targets.opportunity.schedule.timezone',
    ],
    [{ opportunity: { ...DEAL, schedule: undefined } }, 'targets.opportunity.schedule'],
    [{ deals: DEAL }, 'targets: Unrecognized key: "deals"'],
  ])('refuses a bad target entry naming the file and the field (%#)', async (targets, field) => {
    const file = await configFile('bad.json', { ...LEAD, targets });
    expect(() => loadRetrainSchedules(file)).toThrow(`${file}: ${field}`);
  });
});

describe('a fired deal retraining job', () => {
  let sim: RunningOrgSimulator;
  const prefix = `retrainsched-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const redis = new Redis(REDIS_URL);

  beforeAll(async () => {
    sim = await startSimulator({ region: 'US' });
    // Closed deals of US over two years (created every 3 hours), each on its own account, as an org holds them.
    const deals = [...closedDeals(6000, 21, 'US')];
    const accounts = sim.ctx.store.insert(
      'Account',
      deals.map((d) => ({
        Id: d.AccountId,
        Name: `Account ${d.Id}`,
        Industry: d['Account.Industry'],
        NumberOfEmployees: Number(d['Account.NumberOfEmployees']),
        AnnualRevenue: Number(d['Account.AnnualRevenue']),
        Data_Region__c: 'US',
      })),
      { keepIds: true },
    );
    expect(accounts.every((r) => r.success)).toBe(true);
    const inserted = sim.ctx.store.insert(
      'Opportunity',
      deals.map((d) => ({
        Id: d.Id,
        Name: `Deal ${d.Id}`,
        AccountId: d.AccountId,
        CreatedDate: d.CreatedDate,
        StageName: d.StageName,
        IsClosed: true,
        IsWon: d.IsWon === 'true',
        Amount: Number(d.Amount),
        CloseDate: d.CloseDate,
        Type: d.Type,
        LeadSource: d.LeadSource,
        LastActivityDate: d.LastActivityDate,
        Data_Region__c: 'US',
      })),
      { keepIds: true },
    );
    expect(inserted.filter((r) => !r.success)).toEqual([]);
  }, 120_000);
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await sim?.close();
  });

  it('builds the set from the org, retrains and promotes the deal model in the region registry', async () => {
    const registry = join(work, 'registry');
    const config = await configFile('retraining.json', { ...LEAD, targets: { opportunity: DEAL } });
    const env = {
      ...process.env,
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: CLIENT.clientId,
      SF_CLIENT_SECRET: CLIENT.clientSecret,
      LEADRANK_RETRAIN_ARGS: `--registry ${registry} --config ${config} --work-dir ${join(work, 'run')}`,
    };
    const built: string[] = [];
    const worker = startRetrainWorker({
      redisUrl: REDIS_URL,
      region: 'US',
      prefix,
      log: silent,
      env,
      // What `leadrank worker` passes: the product's deal training-set build, for the worker's region.
      buildDealSet: async (out) => {
        built.push(out);
        return buildOpportunityTrainingSet(env, silent, out, 'US');
      },
    });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(retrainQueueName('US'), { connection, prefix });
    const events = new QueueEvents(retrainQueueName('US'), { connection: connection.duplicate(), prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add('retrain', { target: 'opportunity' });
      const result = (await job.waitUntilFinished(events, 240_000)) as { target: string; exitCode: number };
      expect(result).toEqual({ target: 'opportunity', exitCode: 0 });
      // The set was built for the run and removed after it.
      expect(built).toHaveLength(1);
      expect(existsSync(built[0]!)).toBe(false);

      // The region's deal registry holds it as challenger and champion; serving in US reads exactly that.
      const deals = ModelRegistry.open(registry, 'US', 'opportunity');
      expect(deals.store.url).toBe(`file://${join(registry, 'regions', 'US', 'targets', 'opportunity')}`);
      const champion = (await deals.alias('champion'))?.version;
      expect(champion).toMatch(/^lr-[0-9a-f]{16}$/);
      expect((await deals.alias('challenger'))?.version).toBe(champion);
      expect((await deals.card(champion!)).feature_spec.name).toBe('opportunity-win');
      // Nothing in the lead registries, nor in the root's deal registry.
      expect(await ModelRegistry.open(registry, 'US').versions()).toEqual([]);
      expect(existsSync(join(registry, 'targets'))).toBe(false);
      expect(existsSync(join(registry, 'versions'))).toBe(false);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
      await connection.quit();
    }
  }, 300_000);
});
