// The opportunity cycle run unattended, against the org simulator (jsforce) and real Redis: one cycle of the
// region at a time under its own lease (a lead cycle's lease does not block it; a scheduled fire while one runs is
// skipped), a cycle that failed mid-write
// resumes at its instant without auditing twice, every deal score is in the audit log with its cycle
// (`leadrank audit show <006…>`), the worker's scheduler role runs the cycle when due and two such workers run it
// once, and a bad config/opportunity-batch.json stops the worker naming the file and the field.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { auditHistory, verifyAuditLog, type AuditEntry } from '../src/audit/index.js';
import {
  CycleRunningError,
  cycleFailures,
  listOpportunityCycles,
  OPPORTUNITY_SCHEDULER_ID,
  opportunityCycleMeta,
  opportunityQueueName,
  opportunityCycleReport,
  runOpportunityCycleOnce,
  scheduleOpportunityCycles,
  startOpportunityCycleWorker,
  type BatchRuntime,
} from '../src/batch/index.js';
import { opportunityCycleStatus, opportunityScorerFromEnv } from '../src/commands/opportunities.js';
import { startWorker } from '../src/commands/worker.js';
import type { OpportunityScorer } from '../src/scoring/index.js';
import {
  CLIENT,
  FAST,
  kitRuntime,
  queryStore,
  REDIS_URL,
  repoRoot,
  setFaults,
  startSimulator,
} from './batch-kit.js';
import { seedOpportunities } from './support/opportunities.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const CONFIG_DIR = join(repoRoot, 'config');
const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const prefix = () => {
  const p = `oppsched-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  prefixes.push(p);
  return p;
};
const sims: RunningOrgSimulator[] = [];

afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}*`);
    if (keys.length) await redis.del(...keys);
  }
  await redis.quit();
  for (const sim of sims) await sim.close();
});

interface OrgDeal {
  Id: string;
  Opportunity_Score__c: number | null;
  Score_Band__c: string | null;
  Score_Reasons__c: string | null;
  Score_Source__c: string | null;
  Score_Model_Version__c: string | null;
  Scored_At__c: string | null;
}

const orgDeals = (sim: RunningOrgSimulator) =>
  queryStore(
    sim,
    'SELECT Id, Opportunity_Score__c, Score_Band__c, Score_Reasons__c, Score_Source__c, Score_Model_Version__c, ' +
      "Scored_At__c FROM Opportunity WHERE Data_Region__c = 'EU' AND IsClosed = false ORDER BY Id",
  ) as unknown as OrgDeal[];

/** The org answers datetimes as `…+0000`; the cycle records ISO `…Z`. */
const sameInstant = (a: string | null, b: string) => a !== null && Date.parse(a) === Date.parse(b);

const historyRows = (sim: RunningOrgSimulator, cycleId: string) =>
  queryStore(sim, `SELECT Record_Id__c, Score__c FROM Score_History__c WHERE Cycle_Id__c = '${cycleId}'`);

async function entriesOf(auditDir: string, ids: readonly string[]): Promise<Map<string, AuditEntry[]>> {
  const out = new Map<string, AuditEntry[]>();
  for (const id of ids) {
    const rows: AuditEntry[] = [];
    for await (const entry of auditHistory(auditDir, id)) rows.push(entry);
    out.set(id, rows);
  }
  return out;
}

describe('the opportunity cycle on the batch runtime', () => {
  let sim: RunningOrgSimulator;
  let deals: string[];
  let rt: BatchRuntime;
  let other: BatchRuntime;
  let scorer: OpportunityScorer;
  const rootDir = mkdtempSync(join(tmpdir(), 'opp-cycle-'));
  const auditDir = join(rootDir, 'var', 'audit');
  const keyPrefix = prefix();

  beforeAll(async () => {
    sim = await startSimulator({ region: 'EU' });
    sims.push(sim);
    deals = seedOpportunities(sim, 30, { region: 'EU', closed: 4 });
    rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix, rootDir });
    other = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix, rootDir }); // another process, same Redis
    scorer = await opportunityScorerFromEnv({}, 'EU', CONFIG_DIR);
  }, 60_000);

  afterAll(async () => {
    await scorer?.close();
    await rt?.close();
    await other?.close();
  });

  it('refuses a second opportunity cycle of the region, naming the running one; a lead cycle does not block it', async () => {
    const lease = await rt.opportunityCycleLock.acquire('opp-EU-running');
    try {
      for (const runtime of [rt, other]) {
        const refused = await runOpportunityCycleOnce(runtime, scorer, { cycleId: 'opp-EU-second' }).catch(
          (e: Error) => e,
        );
        expect(refused).toBeInstanceOf(CycleRunningError);
        expect((refused as Error).message).toMatch(
          /cycle opp-EU-second refused: cycle opp-EU-running of this region has been running since \S+ \(host \S+, pid \d+\)/,
        );
      }
      expect(await listOpportunityCycles(rt)).toEqual([]);
      // The lead cycle has its own lease: taking it while a deal cycle runs is not refused.
      const leadLease = await other.cycleLock.acquire('EU-lead');
      await leadLease.release();
    } finally {
      await lease.release();
    }
    expect(await rt.opportunityCycleLock.holder()).toBeNull();
  });

  it('skips a scheduled fire while another opportunity cycle holds the lease', async () => {
    const lease = await rt.opportunityCycleLock.acquire('opp-EU-by-hand');
    const worker = startOpportunityCycleWorker(rt, scorer);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(opportunityQueueName('EU'), { connection, prefix: keyPrefix });
    try {
      await scheduleOpportunityCycles(rt, 3_600_000);
      await scheduleOpportunityCycles(other, 3_600_000); // a second scheduler: still one schedule
      expect(await queue.getJobSchedulersCount()).toBe(1);
      const deadline = Date.now() + 20_000;
      let done: Job[] = [];
      while (done.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        done = await queue.getCompleted();
      }
      expect(done).toHaveLength(1);
      expect(done[0]!.returnvalue).toEqual({
        skipped: expect.stringMatching(/refused: cycle opp-EU-by-hand of this region has been running since/),
      });
      expect(await rt.metrics.registry.metrics()).toContain(
        'leadrank_opportunity_cycles_total{region="EU",outcome="skipped"} 1',
      );
      expect(await listOpportunityCycles(rt)).toEqual([]);
    } finally {
      await queue.removeJobScheduler(OPPORTUNITY_SCHEDULER_ID);
      await queue.close();
      await connection.quit();
      await worker.close();
      await lease.release();
    }
    expect(orgDeals(sim).every((d) => d.Opportunity_Score__c === null)).toBe(true);
  });

  it('resumes a cycle that failed mid-write at its instant, audits every deal once, then returns its report', async () => {
    const cycleId = 'opp-EU-20261201T000000Z';
    // The connection drops on the first write: the cycle fails after scoring and auditing.
    const client = await rt.salesforce();
    const update = client.updateRecords.bind(client);
    client.updateRecords = async () => {
      throw new Error('socket hang up');
    };
    const failed = await runOpportunityCycleOnce(rt, scorer, { cycleId }).catch((e: Error) => e);
    client.updateRecords = update;
    expect((failed as Error).message).toBe('socket hang up');
    const stopped = await opportunityCycleMeta(rt, cycleId);
    expect(stopped).toMatchObject({ phase: 'write', attempts: 1 });
    expect(orgDeals(sim).every((d) => d.Opportunity_Score__c === null)).toBe(true);
    // Audited before anything was written.
    expect([...(await entriesOf(auditDir, deals)).values()].every((e) => e.length === 1)).toBe(true);

    const report = await runOpportunityCycleOnce(other, scorer, { cycleId });
    expect(report).toMatchObject({
      cycleId,
      region: 'EU',
      asOf: stopped!.asOf,
      extracted: 30,
      scored: { model: 0, rules: 30 },
      modelVersion: 'deal-rules-1.0.0',
      changes: 30,
      written: 30,
      historyWritten: 30,
      failed: [],
      path: 'collections',
    });
    expect(await opportunityCycleMeta(rt, cycleId)).toMatchObject({ phase: 'done', attempts: 2 });
    const after = orgDeals(sim);
    expect(after.map((d) => d.Id)).toEqual(deals);
    expect(
      after.every((d) => d.Score_Source__c === 'Rules' && sameInstant(d.Scored_At__c, stopped!.asOf)),
    ).toBe(true);
    expect(historyRows(sim, cycleId)).toHaveLength(30);

    // Each deal's one entry is the score the org holds, with the cycle as its source.
    const entries = await entriesOf(auditDir, deals);
    for (const deal of after) {
      const [entry, ...more] = entries.get(deal.Id)!;
      expect(more).toEqual([]);
      expect(entry).toMatchObject({
        origin: 'batch',
        cycleId,
        caller: 'batch',
        region: 'EU',
        source: 'rules',
        modelVersion: deal.Score_Model_Version__c,
        score: deal.Opportunity_Score__c,
        band: deal.Score_Band__c,
        scoredAt: stopped!.asOf,
      });
      expect(entry!.reasons.join('\n')).toBe(deal.Score_Reasons__c ?? '');
    }
    const verified = await verifyAuditLog(auditDir);
    expect(verified.ok).toBe(true);
    expect(verified.chains.map((c) => c.chain)).toEqual(['batch-opportunities/EU']);
    expect(verified.entries).toBe(30);

    // Done: the same id answers the stored report and calls nothing.
    const calls = client.stats.apiCalls;
    expect(await runOpportunityCycleOnce(rt, scorer, { cycleId })).toEqual(report);
    expect(client.stats.apiCalls).toBe(calls);
    expect(await opportunityCycleReport(rt, cycleId)).toEqual(report);
    expect(await cycleFailures(rt.state, cycleId)).toEqual([]);
    const file = join(rootDir, 'var', 'batch', 'reports', 'EU', `${cycleId}.json`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
    const metrics = await other.metrics.registry.metrics();
    expect(metrics).toContain('leadrank_opportunity_cycles_total{region="EU",outcome="completed"} 1');
    expect(metrics).toContain('leadrank_opportunity_deals_total{region="EU",outcome="written"} 30');
    expect(await rt.metrics.registry.metrics()).toContain(
      'leadrank_opportunity_cycles_total{region="EU",outcome="failed"} 1',
    );
    // `leadrank opportunities status` reads the same state.
    const status = await opportunityCycleStatus(
      {
        REGION: 'EU',
        REDIS_URL,
        LEADRANK_BATCH_PREFIX: keyPrefix,
        LEADRANK_ROOT: rootDir,
        LEADRANK_CONFIG_DIR: CONFIG_DIR,
      },
      pino({ level: 'silent' }),
    );
    expect(status).toEqual({
      region: 'EU',
      running: null,
      cycles: [
        {
          cycleId,
          phase: 'done',
          attempts: 2,
          asOf: stopped!.asOf,
          report: {
            extracted: 30,
            changes: 30,
            written: 30,
            historyWritten: 30,
            failed: 0,
            modelVersion: 'deal-rules-1.0.0',
          },
        },
      ],
    });
  }, 120_000);

  it('dead-letters the deals Salesforce keeps refusing, for `leadrank batch failures <cycleId>`', async () => {
    // Three early deals reach negotiation: material changes; the org then locks every row it is asked to update.
    const moved = (
      queryStore(
        sim,
        "SELECT Id FROM Opportunity WHERE Data_Region__c = 'EU' AND IsClosed = false AND StageName IN ('Prospecting', 'Qualification') ORDER BY Id",
      ) as { Id: string }[]
    )
      .slice(0, 3)
      .map((d) => d.Id);
    expect(moved).toHaveLength(3);
    sim.ctx.store.update(
      'Opportunity',
      moved.map((Id) => ({ Id, StageName: 'Negotiation/Review' })),
    );
    const before = orgDeals(sim).filter((d) => moved.includes(d.Id));
    await setFaults(sim, { lockErrorRate: 1 });
    const cycleId = 'opp-EU-20261201T040000Z';
    try {
      const report = await runOpportunityCycleOnce(rt, scorer, { cycleId });
      expect(report).toMatchObject({ changes: 3, written: 0, historyWritten: 0 });
      expect(report.failed.map((f) => [f.opportunityId, f.stage, f.code])).toEqual(
        moved.map((id) => [id, 'opportunity', 'UNABLE_TO_LOCK_ROW']),
      );
    } finally {
      await setFaults(sim, { lockErrorRate: 0 });
    }
    const dead = await cycleFailures(rt.state, cycleId);
    expect(dead!.map((d) => [d.leadId, d.stage, d.code])).toEqual(
      moved.map((id) => [id, 'opportunity', 'UNABLE_TO_LOCK_ROW']),
    );
    expect(await rt.metrics.registry.metrics()).toContain(
      'leadrank_opportunity_deals_total{region="EU",outcome="failed"} 3',
    );
    // Not written: the org still holds the first cycle's scores for them, and no history row.
    expect(orgDeals(sim).filter((d) => moved.includes(d.Id))).toEqual(before);
    expect(historyRows(sim, cycleId)).toEqual([]);
  }, 60_000);

  it('shows a deal’s batch score with its cycle in `leadrank audit show <006…>`', () => {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, 'scoring-sidecar/src/cli.ts'),
        'audit',
        'show',
        deals[0]!,
        '--dir',
        auditDir,
      ],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LEADRANK_AUDIT_KEY_DIR: '' } },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const deal = orgDeals(sim).find((d) => d.Id === deals[0])!;
    expect(run.stdout).toContain('ORIGIN');
    expect(run.stdout).toContain('batch opp-EU-20261201T000000Z');
    expect(run.stdout).toContain(new Date(Date.parse(deal.Scored_At__c!)).toISOString());
    expect(run.stdout).toContain('deal-rules-1.0.0');
    for (const reason of (deal.Score_Reasons__c ?? '').split('\n').filter(Boolean))
      expect(run.stdout).toContain(reason);
  }, 60_000);
});

describe('the worker scheduler role', () => {
  const workers: WorkerProcess[] = [];
  afterAll(async () => {
    for (const w of workers) await w.stop();
  });

  /** The shipped config/ with the opportunity schedule replaced. */
  const configWith = (opportunityBatch: unknown) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'opp-config-')), 'config');
    cpSync(CONFIG_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'opportunity-batch.json'), JSON.stringify(opportunityBatch));
    return dir;
  };

  it('runs the opportunity cycle when due, once with two scheduler workers, writing and auditing every deal', async () => {
    const sim = await startSimulator({ region: 'EU' });
    sims.push(sim);
    const deals = seedOpportunities(sim, 25, { region: 'EU', seed: 8, closed: 3 });
    const keyPrefix = prefix();
    const rootDir = mkdtempSync(join(tmpdir(), 'opp-worker-'));
    const env = {
      REDIS_URL,
      LEADRANK_ROOT: rootDir,
      LEADRANK_BATCH_PREFIX: keyPrefix,
      LEADRANK_BULLMQ_PREFIX: `${keyPrefix}-bull`,
      LEADRANK_BATCH_OVERRIDES: JSON.stringify(FAST),
      // An hour apart: the schedule fires once when it is created, so any second cycle would be a duplicate.
      LEADRANK_CONFIG_DIR: configWith({
        version: 'test',
        schedule: { everyMs: 3_600_000 },
        write: { collectionsMaxRows: 2000 },
      }),
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: CLIENT.clientId,
      SF_CLIENT_SECRET: CLIENT.clientSecret,
    };
    const [a, b] = await Promise.all([
      startWorkerProcess({ roles: 'scheduler', env }),
      startWorkerProcess({ roles: 'scheduler', env }),
    ]);
    workers.push(a!, b!);
    const rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix, rootDir });
    try {
      const deadline = Date.now() + 60_000;
      let report = null;
      while (!report) {
        if (Date.now() > deadline) throw new Error('no opportunity cycle completed');
        const [id] = await listOpportunityCycles(rt);
        report = id ? await opportunityCycleReport(rt, id) : null;
        if (!report) await new Promise((r) => setTimeout(r, 200));
      }
      expect(report).toMatchObject({
        extracted: 25,
        changes: 25,
        written: 25,
        historyWritten: 25,
        failed: [],
      });
      expect(report.cycleId).toMatch(/^opp-EU-\d{8}T\d{6}Z$/);
      const after = orgDeals(sim);
      expect(after.map((d) => d.Id)).toEqual(deals);
      expect(
        after.every((d) => d.Score_Source__c === 'Rules' && sameInstant(d.Scored_At__c, report.asOf)),
      ).toBe(true);
      expect(historyRows(sim, report.cycleId)).toHaveLength(25);

      // Both workers stay up a while longer: still one cycle, one audit entry per deal.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await listOpportunityCycles(rt)).toEqual([report.cycleId]);
      const auditDir = join(rootDir, 'var', 'audit');
      const entries = await entriesOf(auditDir, deals);
      for (const id of deals)
        expect(entries.get(id)!.map((e) => [e.origin, e.cycleId])).toEqual([['batch', report.cycleId]]);
      expect((await verifyAuditLog(auditDir)).ok).toBe(true);
      const completed = (text: string) =>
        Number(
          /leadrank_opportunity_cycles_total\{region="EU",outcome="completed"\} (\d+)/.exec(text)?.[1] ?? 0,
        );
      expect(completed(await a!.metrics()) + completed(await b!.metrics())).toBe(1);
    } finally {
      await rt.close();
      await Promise.all([a!.stop(), b!.stop()]);
    }
    expect([a!.child.exitCode, b!.child.exitCode]).toEqual([0, 0]);
    expect(existsSync(join(rootDir, 'var', 'batch', 'reports', 'EU'))).toBe(true);
  }, 150_000);

  it('refuses to start on a bad opportunity schedule, naming the file and the field', async () => {
    const dir = configWith({
      version: 'test',
      schedule: { everyMs: 0 },
      write: { collectionsMaxRows: 2000 },
    });
    const start = startWorker({
      roles: ['scheduler'],
      region: 'EU',
      metricsPort: 0,
      env: { REDIS_URL, LEADRANK_CONFIG_DIR: dir },
    });
    await expect(start).rejects.toThrow(
      `${join(dir, 'opportunity-batch.json')}: schedule.everyMs: Too small: expected number to be >=1000`,
    );
    const missing = configWith({ version: 'test', schedule: { everyMs: 60_000 } });
    await expect(
      startWorker({
        roles: ['scheduler'],
        region: 'EU',
        metricsPort: 0,
        env: { REDIS_URL, LEADRANK_CONFIG_DIR: missing },
      }),
    ).rejects.toThrow(/opportunity-batch\.json: write: /);
  });
});
