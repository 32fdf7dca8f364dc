// `leadrank worker` as a real child process started through the CLI: it exposes /metrics, drains the
// write-back queue into the org, and refuses bad roles with a message naming them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { verifyAuditLog } from '../src/audit/index.js';
import { listCycles } from '../src/batch/cycle.js';
import { governanceQueueName } from '../src/retention/index.js';
import { waitForCycle } from '../src/batch/runners.js';
import { createWritebackQueue, type WritebackJob } from '../src/writeback/index.js';
import {
  CLIENT,
  FAST,
  kitRuntime,
  queryStore,
  REDIS_URL,
  repoRoot,
  seedLeads,
  startSimulator,
} from './batch-kit.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const PREFIX = `workertest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let sim: RunningOrgSimulator;
let worker: WorkerProcess | undefined;
const redis = new Redis(REDIS_URL);

const envOf = (s: RunningOrgSimulator) => ({
  REDIS_URL,
  LEADRANK_BATCH_PREFIX: PREFIX,
  LEADRANK_BULLMQ_PREFIX: `${PREFIX}-bull`,
  LEADRANK_BATCH_OVERRIDES: JSON.stringify(FAST),
  LEADRANK_WRITEBACK_OVERRIDES: JSON.stringify({ flushMs: 200 }),
  LEADRANK_CONFIG_DIR: join(repoRoot, 'config'),
  SF_LOGIN_URL: s.url,
  SF_CLIENT_ID: CLIENT.clientId,
  SF_CLIENT_SECRET: CLIENT.clientSecret,
});

beforeAll(async () => {
  sim = await startSimulator({ region: 'EU' });
  seedLeads(sim, 5, { region: 'EU', seed: 3 });
});

afterAll(async () => {
  await worker?.stop();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await sim?.close();
});

describe('leadrank worker (child process)', () => {
  it('exposes /metrics and writes a queued score change to the org', async () => {
    worker = await startWorkerProcess({ roles: 'writeback', env: envOf(sim) });
    const before = await worker.metrics();
    expect(before).toContain('# TYPE leadrank_writeback_written_total counter');
    expect(before).toContain('# TYPE leadrank_writeback_lag_seconds gauge');
    expect(before).toContain('leadrank_worker_process_cpu_user_seconds_total');

    const leadId = queryStore(sim, 'SELECT Id FROM Lead ORDER BY Id')[0]!.Id as string;
    const job: WritebackJob = {
      leadId,
      region: 'EU',
      score: 88,
      band: 'A',
      probability: 0.88,
      previousScore: null,
      previousBand: null,
      source: 'rules',
      modelVersion: 'rules-v1',
      reasonLines: ['+ Opened three emails'],
      nextBestAction: null,
      featureHash: 'h',
      scoredAt: new Date().toISOString(),
      requestId: 'r',
      trigger: 'events',
    };
    const queue = createWritebackQueue(envOf(sim), 'EU');
    try {
      await queue.add([job]);
    } finally {
      await queue.close();
    }
    const deadline = Date.now() + 30_000;
    let text = '';
    while (Date.now() < deadline) {
      text = await worker.metrics();
      if (/leadrank_writeback_written_total\{region="EU",path="collections"\} 1/.test(text)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(text).toMatch(/leadrank_writeback_written_total\{region="EU",path="collections"\} 1/);
    expect(text).toMatch(/leadrank_writeback_write_lag_seconds_count\{region="EU"\} 1/);
    expect(
      queryStore(sim, `SELECT Lead_Score__c, Score_Source__c FROM Lead WHERE Id = '${leadId}'`)[0],
    ).toEqual(expect.objectContaining({ Lead_Score__c: 88, Score_Source__c: 'Rules' }));
    await worker.stop();
    expect(worker.child.exitCode).toBe(0);
  });

  it('runs the scheduled cycle with the batch and scheduler roles, and exposes its metrics', async () => {
    const rootDir = mkdtempSync(join(tmpdir(), 'worker-batch-'));
    const batchWorker = await startWorkerProcess({
      roles: 'batch,scheduler',
      env: {
        ...envOf(sim),
        LEADRANK_ROOT: rootDir,
        LEADRANK_BATCH_OVERRIDES: JSON.stringify({ ...FAST, schedule: { everyMs: 2000 } }),
      },
    });
    const rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix: PREFIX });
    try {
      const first = await (async () => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const ids = await listCycles(rt.state);
          if (ids.length) return ids[0]!;
          if (Date.now() > deadline) throw new Error('no cycle started');
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const report = await waitForCycle(rt, first, 100, 60_000);
      expect(report.leads.extracted).toBe(5);
      expect(report.scoreSource).toBe('Rules');
      const text = await batchWorker.metrics();
      expect(text).toMatch(/leadrank_batch_leads_total\{region="EU",outcome="scored"\} [1-9]/);
      // Every score of the cycle is in the worker's batch audit chain, which verifies.
      const audit = await verifyAuditLog(join(rootDir, 'var', 'audit'));
      expect(audit.ok).toBe(true);
      expect(audit.chains.map((c) => c.chain)).toEqual(['batch/EU']);
      expect(audit.entries).toBeGreaterThanOrEqual(5);
      // The scheduler role upserted the daily retention (no signing key here: no anchoring schedule).
      const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      const governance = new Queue(governanceQueueName('EU'), { connection, prefix: PREFIX });
      try {
        expect((await governance.getJobSchedulers()).map((j) => j.key)).toEqual(['leadrank-retention']);
      } finally {
        await governance.close();
        await connection.quit();
      }
    } finally {
      await batchWorker.stop();
      await rt.close();
    }
    expect(batchWorker.child.exitCode).toBe(0);
  });

  it('refuses an unknown role, naming it', () => {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, 'scoring-sidecar/src/cli.ts'),
        'worker',
        '--roles',
        'writeback,bogus',
      ],
      { cwd: repoRoot, env: { ...process.env, ...envOf(sim), REGION: 'EU' }, encoding: 'utf8' },
    );
    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).toContain('\\"bogus\\" is not a role');
  });
});
