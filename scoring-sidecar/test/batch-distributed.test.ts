// The distributed cycle on BullMQ with worker processes: a worker SIGKILLed in the middle of a write task,
// and a chaos run (lock errors, a killed worker, the coordinator's process killed, Redis restarted). Afterwards
// every active lead in the org holds exactly its expected score: none lost, none stale, no history duplicated.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import type { CycleModel } from '../src/batch/cycle.js';
import { enqueueCycle, openBatchQueues, startBatchWorkers, waitForCycle } from '../src/batch/runners.js';
import { loadServingModel } from '../src/scoring/model-source.js';
import { trainSyntheticModel } from './api-test-kit.js';
import {
  checkOrg,
  kitRuntime,
  REDIS_URL,
  seedLeads,
  setFaults,
  spawnWorker,
  startRedisServer,
  startSimulator,
  stopProcess,
} from './batch-kit.js';

let model: CycleModel;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const dir = await trainSyntheticModel(mkdtempSync(join(tmpdir(), 'batch-model-')), 2000);
  const serving = await loadServingModel(dir);
  model = { version: serving.version, dir };
  await serving.onnx.close();
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map((c) => stopProcess(c, 'SIGKILL')));
});

const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('batch cycle on BullMQ', () => {
  let sim: RunningOrgSimulator;
  afterAll(async () => sim?.close());

  it('recovers the task of a worker killed mid-write: exact end state, no history row duplicated', async () => {
    sim = await startSimulator();
    seedLeads(sim, 3000, { region: 'EU', seed: 3 });
    // Slow API calls so the kill lands inside a task.
    await setFaults(sim, { latencyMs: 40 });
    const keyPrefix = `lrtest-kill-${process.pid}-${Date.now()}`;
    const rootDir = mkdtempSync(join(tmpdir(), 'batch-kill-'));
    const rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix, rootDir });
    const coordinator = startBatchWorkers(rt, { coordinator: true, tasks: false });
    const queues = openBatchQueues(rt);
    try {
      const victim = spawnWorker({ sim, redisUrl: REDIS_URL, keyPrefix, rootDir });
      children.push(victim);
      const cycleId = await enqueueCycle(queues, 'EU', { cycleId: 'EU-kill', model });
      // Kill the only worker while it runs a write task whose Bulk job has been submitted.
      await until('an active write task', async () =>
        (await queues.tasks.getJobs(['active'])).some((j) => j.name === 'write'),
      );
      await new Promise((r) => setTimeout(r, 150));
      await stopProcess(victim, 'SIGKILL');
      const rescuer = spawnWorker({ sim, redisUrl: REDIS_URL, keyPrefix, rootDir });
      children.push(rescuer);

      const report = await waitForCycle(rt, cycleId, 200, 120_000);
      expect(report.leads.extracted).toBe(3000);
      expect(report.leads.written).toBe(3000);
      expect(report.leads.failed).toBe(0);
      const check = await checkOrg(sim, rt, cycleId);
      expect(check.active).toBe(3000);
      expect(check.lost).toEqual([]);
      expect(check.stale).toEqual([]);
      expect(check.duplicatedHistory).toEqual([]);
      expect(check.historyRows).toBe(3000);
      await stopProcess(rescuer);
    } finally {
      await coordinator.close();
      await queues.close();
      await rt.close();
    }
  }, 180_000);
});

describe('chaos: lock errors, a killed worker, a killed coordinator and a Redis restart in one cycle', () => {
  const N = Number(process.env.BATCH_CHAOS_LEADS ?? 12_000);
  let sim: RunningOrgSimulator;
  let redis: ChildProcess | null = null;
  afterAll(async () => {
    await sim?.close();
    if (redis) await stopProcess(redis, 'SIGKILL');
  });

  it(`loses, duplicates and leaves stale nothing (${N} leads)`, async () => {
    const redisDir = mkdtempSync(join(tmpdir(), 'batch-redis-'));
    const port = 16_380 + (process.pid % 1000);
    const redisUrl = `redis://127.0.0.1:${port}`;
    redis = await startRedisServer(redisDir, port);
    sim = await startSimulator();
    seedLeads(sim, N, { region: 'EU', seed: 4 });
    await setFaults(sim, { lockErrorRate: 0.05, latencyMs: 5 });
    const keyPrefix = `lrtest-chaos-${process.pid}`;
    const rootDir = mkdtempSync(join(tmpdir(), 'batch-chaos-'));
    const overrides = { extract: { partitionSize: 1000 }, write: { chunkRows: 2000 } };
    const rt = await kitRuntime({ sim, redisUrl, keyPrefix, rootDir, overrides });
    const queues = openBatchQueues(rt);
    try {
      // Process 1 coordinates and works, process 2 works.
      const first = spawnWorker({ sim, redisUrl, keyPrefix, rootDir, coordinator: true, overrides });
      const second = spawnWorker({ sim, redisUrl, keyPrefix, rootDir, overrides });
      children.push(first, second);
      const cycleId = await enqueueCycle(queues, 'EU', { cycleId: 'EU-chaos', model });

      // 1. Kill the plain worker in the middle of a score task.
      await until('an active score task', async () =>
        (await queues.tasks.getJobs(['active'])).some((j) => j.name === 'score'),
      );
      await stopProcess(second, 'SIGKILL');
      // 2. Once writing has started, kill the coordinator's process too, and restart Redis while nobody runs.
      await until(
        'an active write task',
        async () => (await queues.tasks.getJobs(['active'])).some((j) => j.name === 'write'),
        120_000,
      );
      await stopProcess(first, 'SIGKILL');
      await stopProcess(redis, 'SIGTERM');
      redis = await startRedisServer(redisDir, port);
      // 3. Fresh processes take over: the cycle resumes from the state Redis persisted.
      const third = spawnWorker({ sim, redisUrl, keyPrefix, rootDir, coordinator: true, overrides });
      const fourth = spawnWorker({ sim, redisUrl, keyPrefix, rootDir, overrides });
      children.push(third, fourth);

      const report = await waitForCycle(rt, cycleId, 250, 240_000);
      expect(report.leads.extracted).toBe(N);
      expect(report.leads.retried).toBeGreaterThan(0);
      expect(report.failedByCode).toEqual({});
      expect(report.leads.written).toBe(N);
      const check = await checkOrg(sim, rt, cycleId);
      expect(check.active).toBe(N);
      expect(check.lost).toEqual([]);
      expect(check.stale).toEqual([]);
      expect(check.duplicatedHistory).toEqual([]);
      expect(check.historyRows).toBe(N);
      await Promise.all([stopProcess(third), stopProcess(fourth)]);
    } finally {
      await queues.close();
      await rt.close();
    }
  }, 300_000);
});
