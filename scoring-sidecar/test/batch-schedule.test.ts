// The schedule against real Redis (BullMQ) and the org simulator: one cycle per region at a time (a second
// start is refused and says why, in this process and from another runtime sharing the Redis), a cycle
// schedule that fired while no worker ran is caught up once, not once per missed fire, and retraining is
// scheduled from config/retraining.json on the same scheduler.
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { CycleRunningError } from '../src/batch/cycle-lock.js';
import { listCycles } from '../src/batch/cycle.js';
import {
  loadRetrainSchedules,
  retrainQueueName,
  retrainSchedulerId,
  scheduleRetraining,
} from '../src/batch/retrain-schedule.js';
import {
  openBatchQueues,
  runCycleInProcess,
  scheduleCycles,
  startBatchWorkers,
  waitForCycle,
} from '../src/batch/runners.js';
import { kitRuntime, REDIS_URL, repoRoot, seedLeads, startSimulator } from './batch-kit.js';

let sim: RunningOrgSimulator;
const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const prefix = () => {
  const p = `schedtest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  prefixes.push(p);
  return p;
};

beforeAll(async () => {
  sim = await startSimulator({ region: 'EU' });
  seedLeads(sim, 40, { region: 'EU', seed: 9 });
});

afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}*`);
    if (keys.length) await redis.del(...keys);
  }
  await redis.quit();
  await sim?.close();
});

describe('one cycle per region at a time', () => {
  it('refuses a second start while a cycle runs, naming the running cycle, and allows it after', async () => {
    const keyPrefix = prefix();
    const rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix });
    const other = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix }); // another process, same Redis
    try {
      const lease = await rt.cycleLock.acquire('EU-running');
      for (const runtime of [rt, other]) {
        const refused = await runCycleInProcess(runtime, { cycleId: 'EU-second', model: null }).catch(
          (e: Error) => e,
        );
        expect(refused).toBeInstanceOf(CycleRunningError);
        expect((refused as Error).message).toMatch(
          /cycle EU-second refused: cycle EU-running of this region has been running since \S+ \(host \S+, pid \d+\)/,
        );
      }
      expect(await listCycles(rt.state)).toEqual([]);
      await lease.release();
      const report = await runCycleInProcess(other, { cycleId: 'EU-second', model: null });
      expect(report.leads.written).toBe(40);
      expect(await rt.cycleLock.holder()).toBeNull();
    } finally {
      await rt.close();
      await other.close();
    }
  });
});

describe('the cycle schedule', () => {
  it('catches up a cycle missed while no worker ran once, not once per missed fire', async () => {
    const keyPrefix = prefix();
    const rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix });
    const queues = openBatchQueues(rt);
    try {
      const everyMs = 2000;
      await scheduleCycles(queues, everyMs, { model: null });
      await scheduleCycles(queues, everyMs, { model: null }); // a second scheduler process: still one schedule
      expect(await queues.cycles.getJobSchedulersCount()).toBe(1);
      // Three fires pass with no worker running.
      await new Promise((r) => setTimeout(r, 3 * everyMs + 500));
      const pending = await queues.cycles.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
      expect(Object.values(pending).reduce((a, b) => a + b, 0)).toBe(1);

      const workerStart = Date.now();
      const workers = startBatchWorkers(rt, { tasks: true, coordinator: true });
      try {
        const first = await (async () => {
          for (;;) {
            const ids = await listCycles(rt.state);
            if (ids.length) return ids[0]!;
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
        await waitForCycle(rt, first, 100, 60_000);
      } finally {
        await workers.close();
      }
      await queues.cycles.removeJobScheduler('leadrank-batch-cycle');
      // Cycle ids carry their job's creation time: exactly one was created before the worker came back.
      const idTime = (id: string) =>
        Date.parse(id.replace(/^EU-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
      const cycles = await listCycles(rt.state);
      expect(cycles.filter((id) => idTime(id) < Math.floor(workerStart / 1000) * 1000)).toHaveLength(1);
    } finally {
      await queues.close();
      await rt.close();
    }
  });

  it('schedules retraining from config/retraining.json on the same scheduler, one scheduler per target', async () => {
    const keyPrefix = prefix();
    const schedules = loadRetrainSchedules(join(repoRoot, 'config', 'retraining.json'));
    expect(schedules.map((s) => s.target)).toEqual(['lead', 'opportunity']);
    await scheduleRetraining({ redisUrl: REDIS_URL, region: 'EU', prefix: keyPrefix, schedules });
    await scheduleRetraining({ redisUrl: REDIS_URL, region: 'EU', prefix: keyPrefix, schedules });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(retrainQueueName('EU'), { connection, prefix: keyPrefix });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers).toHaveLength(2);
      for (const s of schedules) {
        const found = schedulers.find((x) => x.key === retrainSchedulerId(s.target));
        expect(found).toMatchObject({
          pattern: s.cron,
          tz: s.timezone,
          template: { data: { target: s.target } },
        });
        expect(found!.next).toBeGreaterThan(Date.now());
      }
      expect(retrainSchedulerId('lead')).toBe('leadrank-retrain'); // the id lead retraining always had
      // A file without targets.opportunity drops the deal scheduler: deal models are no longer retrained.
      await scheduleRetraining({
        redisUrl: REDIS_URL,
        region: 'EU',
        prefix: keyPrefix,
        schedules: schedules.slice(0, 1),
      });
      expect((await queue.getJobSchedulers()).map((x) => x.key)).toEqual(['leadrank-retrain']);
    } finally {
      await queue.close();
      await connection.quit();
    }
    expect(() => loadRetrainSchedules(join(repoRoot, 'config', 'batch.json'))).toThrow(
      /batch\.json: schedule\.cron/,
    );
  });
});
