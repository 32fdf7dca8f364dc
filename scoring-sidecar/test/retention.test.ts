// Retention (config/retention.json) applied by `leadrank retention run` and the scheduler's governance jobs:
// each store's data older than its period is removed, the rest kept; audit segments only whole and only under a
// signed checkpoint, after which `verify` with the public key passes; the daily run and the periodic anchoring
// are BullMQ job schedulers whose fired jobs run under a lease.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  featureHash,
  generateAnchorKeyPair,
  openAnchorStore,
  openAuditLog,
  publicKeyFromPem,
  verifyAuditLog,
  type AuditEntry,
} from '../src/audit/index.js';
import { registerRetentionCommands, runRetentionFromEnv } from '../src/commands/retention.js';
import { ExperimentStore } from '../src/experiments/index.js';
import { MonitoringHistory } from '../src/monitoring/index.js';
import {
  governanceLeaseKey,
  governanceQueueName,
  loadRetentionConfig,
  scheduleGovernance,
  startGovernanceWorker,
} from '../src/retention/index.js';
import { createRedisDeadLetters } from '../src/writeback/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const repoRoot = new URL('../..', import.meta.url).pathname;
const DAY = 86_400_000;
const NOW = new Date('2026-06-30T12:00:00Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY);
const compact = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
const prefix = `lrtest-retention-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const keys = generateAnchorKeyPair();
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  const leftovers = await redis.keys(`${prefix}*`);
  if (leftovers.length) await redis.del(...leftovers);
  await redis.quit();
});

describe('config/retention.json', () => {
  it('is valid, and a bad period is refused naming the file and the field', () => {
    const config = loadRetentionConfig(join(repoRoot, 'config', 'retention.json'));
    expect(config.days.auditSegments).toBeGreaterThanOrEqual(365);
    const dir = mkdtempSync(join(tmpdir(), 'retention-config-'));
    const bad = JSON.parse(readFileSync(join(repoRoot, 'config', 'retention.json'), 'utf8')) as {
      days: Record<string, number>;
    };
    bad.days.exports = 0;
    writeFileSync(join(dir, 'retention.json'), JSON.stringify(bad));
    expect(() => loadRetentionConfig(join(dir, 'retention.json'))).toThrow(
      /retention\.json: days\.exports: /,
    );
  });

  it("keeps Score_History__c as long as the org's ScoreHistoryRetention job does", () => {
    const config = loadRetentionConfig(join(repoRoot, 'config', 'retention.json'));
    const setting = readFileSync(
      join(repoRoot, 'force-app/main/default/customMetadata/Scoring_Setting.Default.md-meta.xml'),
      'utf8',
    );
    const field = /<field>History_Retention_Days__c<\/field>\s*<value[^>]*?(?:\/>|>([^<]*)<\/value>)/.exec(
      setting,
    );
    const apex = readFileSync(
      join(repoRoot, 'force-app/main/default/classes/ScoreHistoryRetention.cls'),
      'utf8',
    );
    const fallback = Number(/DEFAULT_DAYS = (\d+);/.exec(apex)![1]);
    const orgDays = field?.[1] ? Number(field[1]) : fallback;
    expect(config.days.scoreHistory).toBe(orgDays);
  });
});

function entry(n: number, at: Date): AuditEntry {
  const featureVector = [n, 1];
  return {
    requestId: `r-${n}`,
    caller: 'api',
    leadId: `00Q${String(n).padStart(12, '0')}AAA`,
    region: 'EU',
    modelVersion: 'm-1',
    source: 'model',
    featureVector,
    featureHash: featureHash(featureVector, 'spec'),
    score: 50,
    band: 'B',
    probability: 0.5,
    reasons: [],
    scoredAt: at.toISOString(),
  };
}

/** A deployment's root with every store filled on both sides of each store's cutoff. */
let fills = 0;
async function fillStores(): Promise<{ env: NodeJS.ProcessEnv; root: string; ns: string }> {
  const ns = `${prefix}-${++fills}`; // each deployment its own Redis namespace
  const root = mkdtempSync(join(tmpdir(), 'retention-run-'));
  const configDir = join(root, 'config');
  mkdirSync(configDir);
  copyFileSync(join(repoRoot, 'config', 'batch.json'), join(configDir, 'batch.json'));
  const config = JSON.parse(readFileSync(join(repoRoot, 'config', 'retention.json'), 'utf8')) as {
    days: Record<string, number>;
  };
  config.days = {
    auditSegments: 30,
    exports: 10,
    trainingSets: 100,
    experimentData: 60,
    scoreHistory: 30,
    deadLetters: 7,
    monitoring: 90,
  };
  writeFileSync(join(configDir, 'retention.json'), JSON.stringify(config));
  const stateDir = join(root, 'state');
  mkdirSync(stateDir);
  const env: NodeJS.ProcessEnv = {
    LEADRANK_ROOT: root,
    LEADRANK_CONFIG_DIR: configDir,
    LEADRANK_AUDIT_DIR: join(root, 'audit'),
    LEADRANK_AUDIT_ANCHOR_DIR: join(root, 'anchors'),
    LEADRANK_AUDIT_SIGNING_KEY: keys.privateKeyPem,
    LEADRANK_STATE_DIR: stateDir,
    REDIS_URL,
    LEADRANK_BATCH_PREFIX: ns,
    LEADRANK_REDIS_PREFIX: ns,
  };

  // Audit: days 40, 35 and 1 ago.
  let clock = daysAgo(40);
  const log = await openAuditLog({ dir: join(root, 'audit'), region: 'EU', clock: () => clock });
  let n = 0;
  for (const ago of [40, 35, 1]) {
    clock = daysAgo(ago);
    for (let i = 0; i < 5; i++) await log.append([entry(n++, clock)]);
  }
  await log.close();
  // Exports and reports: 20 and 2 days ago.
  for (const ago of [20, 2]) {
    const day = daysAgo(ago).toISOString().slice(0, 10);
    mkdirSync(join(root, 'exports', 'EU', day), { recursive: true });
    writeFileSync(join(root, 'exports', 'EU', day, 'scores.parquet'), 'x');
    mkdirSync(join(root, 'var', 'batch', 'reports', 'EU'), { recursive: true });
    writeFileSync(join(root, 'var', 'batch', 'reports', 'EU', `EU-${compact(daysAgo(ago))}.json`), '{}');
  }
  // Training sets: built 200 and 5 days ago.
  for (const ago of [200, 5]) {
    mkdirSync(join(root, 'var', 'training', 'EU', compact(daysAgo(ago))), { recursive: true });
    writeFileSync(join(root, 'var', 'training', 'EU', compact(daysAgo(ago)), 'training-set.parquet'), 'x');
  }
  // Experiment rows: exposures and outcomes 90 and 3 days ago.
  const experiments = await ExperimentStore.open(join(stateDir, 'experiments.db'));
  for (const [ago, lead] of [
    [90, '00QOLD000000001AAA'],
    [3, '00QNEW000000001AAA'],
  ] as const) {
    const at = daysAgo(ago).toISOString();
    await experiments.recordExposures('exp-1', [
      {
        repId: 'rep-1',
        unitId: 'rep-1',
        arm: 'treatment',
        share: 0.5,
        at,
        leadIds: [lead],
        fallbackLeads: 0,
      },
    ]);
    await experiments.upsertOutcomes('exp-1', [
      {
        leadId: lead,
        ownerId: 'rep-1',
        createdAt: at,
        converted: false,
        convertedAt: null,
        firstTouchAt: null,
        amount: 0,
        segments: { region: 'EU', lead_source: null, industry: null, company_size: null },
      },
    ]);
  }
  await experiments.close();
  // Monitoring: 120 and 10 days ago.
  const monitoring = await MonitoringHistory.open(join(stateDir, 'monitoring.db'));
  for (const ago of [120, 10]) {
    const at = daysAgo(ago);
    await monitoring.addScores(at.toISOString().slice(0, 10), 'EU', { A: 3 }, { model: 3 });
    await monitoring.recordBatchCycle({
      startedAt: at.toISOString(),
      region: 'EU',
      durationSeconds: 1,
      ok: true,
      leadsScored: 3,
      changesWritten: 1,
      error: null,
    });
  }
  await monitoring.close();
  // Dead letters: 30 and 1 days ago.
  const dead = createRedisDeadLetters(REDIS_URL, 'EU', ns);
  for (const ago of [30, 1])
    await dead.add([
      {
        job: { leadId: `00QDEAD${ago}`, score: 1 } as never,
        code: 'X',
        message: 'm',
        attempts: 1,
        at: daysAgo(ago).toISOString(),
      },
    ]);
  await dead.close();
  return { env, root, ns };
}

describe('leadrank retention run', () => {
  it('dry run counts, the run removes what expired in every store and keeps the rest; the audit log still verifies', async () => {
    const { env, root, ns } = await fillStores();
    const dry = await runRetentionFromEnv('EU', { env, now: NOW, dryRun: true });
    const by = (r: typeof dry) => Object.fromEntries(r.stores.map((s) => [s.store, s]));
    expect(by(dry).exports!.removed).toEqual({ days: 1, reports: 1 });
    expect(existsSync(join(root, 'exports', 'EU', daysAgo(20).toISOString().slice(0, 10)))).toBe(true);
    // Never anchored before: a dry run finds nothing covered.
    expect(by(dry).auditSegments!.removed).toEqual({});

    const report = await runRetentionFromEnv('EU', { env, now: NOW });
    const s = by(report);
    expect(s.auditSegments!.removed).toEqual({ 'segments EU': 2 });
    expect(s.exports!.removed).toEqual({ days: 1, reports: 1 });
    expect(s.trainingSets!.removed).toEqual({ sets: 1 });
    expect(s.experimentData!.removed).toEqual({ lead_exposures: 1, outcomes: 1 });
    expect(s.deadLetters!.removed).toEqual({ letters: 1 });
    expect(s.monitoring!.removed).toMatchObject({ score_bands: 1, score_sources: 1, batch_cycles: 1 });
    expect(s.scoreHistory!.skipped).toMatch(/ScoreHistoryRetention/);

    // What is kept is still there, what expired is gone.
    expect(existsSync(join(root, 'exports', 'EU', daysAgo(2).toISOString().slice(0, 10)))).toBe(true);
    expect(existsSync(join(root, 'exports', 'EU', daysAgo(20).toISOString().slice(0, 10)))).toBe(false);
    expect(existsSync(join(root, 'var', 'training', 'EU', compact(daysAgo(5))))).toBe(true);
    expect(existsSync(join(root, 'var', 'training', 'EU', compact(daysAgo(200))))).toBe(false);
    const experiments = await ExperimentStore.open(join(root, 'state', 'experiments.db'));
    expect((await experiments.leadExposures('exp-1')).map((e) => e.leadId)).toEqual(['00QNEW000000001AAA']);
    expect((await experiments.outcomes('exp-1')).map((e) => e.leadId)).toEqual(['00QNEW000000001AAA']);
    await experiments.close();
    const dead = createRedisDeadLetters(REDIS_URL, 'EU', ns);
    expect((await dead.list()).map((l) => l.at)).toEqual([daysAgo(1).toISOString()]);
    await dead.close();
    const verified = await verifyAuditLog(join(root, 'audit'), {
      anchors: {
        store: openAnchorStore({ auditDir: join(root, 'audit'), anchorDir: join(root, 'anchors') }),
        publicKey: publicKeyFromPem(keys.publicKeyPem),
      },
    });
    expect(verified.problem).toBeUndefined();
    expect(verified.entries).toBe(5);

    // Again: nothing more to remove.
    const again = by(await runRetentionFromEnv('EU', { env, now: NOW }));
    expect(again.exports!.removed).toEqual({ days: 0, reports: 0 });
    expect(again.auditSegments!.removed).toEqual({});
  }, 60_000);

  it('without the signing key removes no audit segment, and says why', async () => {
    const { env, root } = await fillStores();
    const report = await runRetentionFromEnv('EU', {
      env: { ...env, LEADRANK_AUDIT_SIGNING_KEY: '' },
      now: NOW,
    });
    expect(report.stores.find((s) => s.store === 'auditSegments')!.skipped).toMatch(
      /LEADRANK_AUDIT_SIGNING_KEY/,
    );
    expect((await verifyAuditLog(join(root, 'audit'))).entries).toBe(15);
  }, 60_000);

  it('the command prints a table per store and a JSON line', async () => {
    const { env } = await fillStores();
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const saved = { ...process.env };
    Object.assign(process.env, env, { REGION: 'EU', DATABASE_URL: '' });
    try {
      const program = new Command('leadrank').exitOverride();
      registerRetentionCommands(program);
      await program.parseAsync(['retention', 'run', '--dry-run'], { from: 'user' });
    } finally {
      process.env = saved;
      vi.restoreAllMocks();
    }
    const lines = out.join('\n').split('\n');
    expect(lines[0]).toMatch(/^STORE\s+KEEPS\s+CUTOFF\s+WOULD REMOVE$/);
    // Run now (after NOW): both export days and reports are past their 10 days.
    expect(lines).toContainEqual(
      expect.stringMatching(/^exports\s+10 d\s+\d{4}-\d{2}-\d{2}\s+2 days, 2 reports$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^scoreHistory\s+30 d\s+\S+\s+deleted in Salesforce by ScoreHistoryRetention/),
    );
    const json = JSON.parse(out.at(-1)!) as { dryRun: boolean; stores: unknown[] };
    expect(json.dryRun).toBe(true);
    expect(json.stores).toHaveLength(7);
  }, 60_000);
});

describe('the scheduler: daily retention and periodic audit anchoring', () => {
  it('upserts both job schedulers once, and runs fired jobs under the lease (a held lease skips the run)', async () => {
    const { env, root } = await fillStores();
    const config = loadRetentionConfig(join(env.LEADRANK_CONFIG_DIR!, 'retention.json'));
    for (let i = 0; i < 2; i++)
      await scheduleGovernance({
        redisUrl: REDIS_URL,
        region: 'EU',
        prefix,
        schedule: config.schedule,
        anchor: true,
      });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(governanceQueueName('EU'), { connection, prefix });
    const events = new QueueEvents(governanceQueueName('EU'), { connection: { url: REDIS_URL }, prefix });
    const ran: string[] = [];
    const worker = startGovernanceWorker({
      redisUrl: REDIS_URL,
      region: 'EU',
      prefix,
      log: pino({ level: 'silent' }),
      jobs: {
        anchor: async () => {
          ran.push('anchor');
          const { anchorFromEnv } = await import('../src/commands/retention.js');
          return anchorFromEnv(env);
        },
        retention: async () => void ran.push('retention'),
      },
    });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).toEqual(['leadrank-audit-anchor', 'leadrank-retention']);
      const anchor = schedulers.find((s) => s.key === 'leadrank-audit-anchor')!;
      expect(Number(anchor.every)).toBe(config.schedule.auditAnchor.everySeconds * 1000);
      const retention = schedulers.find((s) => s.key === 'leadrank-retention')!;
      expect(retention.pattern).toBe(config.schedule.retention.cron);

      // The anchoring scheduler fires at once: its job signs checkpoint 1 of the log.
      await vi.waitFor(() => expect(ran).toContain('anchor'), { timeout: 20_000, interval: 200 });
      await vi.waitFor(
        () => expect(existsSync(join(root, 'anchors', 'default', 'checkpoint-00000001.json'))).toBe(true),
        { timeout: 20_000, interval: 200 },
      );

      // Another process holds the retention lease: a fired run is skipped, not run twice.
      await redis.set(
        governanceLeaseKey(prefix, 'EU', 'retention'),
        '{"host":"other","pid":1}',
        'PX',
        30_000,
      );
      const skipped = await queue.add('retention', {});
      expect(await skipped.waitUntilFinished(events, 20_000)).toMatchObject({
        skipped: expect.stringMatching(/already running/),
      });
      expect(ran).not.toContain('retention');
      await redis.del(governanceLeaseKey(prefix, 'EU', 'retention'));
      const run = await queue.add('retention', {});
      await run.waitUntilFinished(events, 20_000);
      expect(ran).toContain('retention');
    } finally {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      await connection.quit();
    }
  }, 90_000);
});
