// Failure handling against the org simulator's fault knobs, with the cycle state in a real Redis: per-row lock
// errors retried in later jobs, other row errors dead-lettered, 5xx retried with backoff, the API allocation
// guard pausing and resuming the cycle.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import {
  coordinateCycle,
  createCycle,
  cycleFailures,
  runTask,
  type CycleModel,
  type TaskDispatcher,
} from '../src/batch/cycle.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import type { BatchRuntime } from '../src/batch/runtime.js';
import { getJson } from '../src/batch/state-store.js';
import { loadServingModel } from '../src/scoring/model-source.js';
import { trainSyntheticModel } from './api-test-kit.js';
import {
  checkOrg,
  kitRuntime,
  queryStore,
  REDIS_URL,
  seedLeads,
  setFaults,
  startSimulator,
} from './batch-kit.js';

let model: CycleModel;
let sim: RunningOrgSimulator;
let rt: BatchRuntime | null = null;

beforeAll(async () => {
  const dir = await trainSyntheticModel(mkdtempSync(join(tmpdir(), 'batch-model-')), 2000);
  const serving = await loadServingModel(dir);
  model = { version: serving.version, dir };
  await serving.onnx.close();
}, 120_000);

afterEach(async () => {
  await rt?.close();
  rt = null;
  await sim?.close();
});

afterAll(async () => {
  await rt?.close();
});

const prefix = (name: string) => `lrtest-${name}-${process.pid}-${Date.now()}`;

describe('batch failure handling', () => {
  it('retries UNABLE_TO_LOCK_ROW rows in later jobs and dead-letters other row errors with their reason', async () => {
    sim = await startSimulator();
    seedLeads(sim, 1500, { region: 'EU', seed: 5 });
    await setFaults(sim, { lockErrorRate: 0.1 });
    rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix: prefix('lock') });
    const runtime = rt;
    // Five leads are deleted after the extract, before the first write: their updates must fail for good.
    const deleted = queryStore(
      sim,
      `SELECT Id FROM Lead WHERE Data_Region__c = 'EU' ORDER BY Id LIMIT 5`,
    ).map((r) => r.Id as string);
    let deletedYet = false;
    const dispatcher: TaskDispatcher = {
      dispatch: async (tasks) => {
        for (const task of tasks) {
          if (task.type === 'write' && !deletedYet) {
            sim.ctx.store.delete('Lead', deleted);
            deletedYet = true;
          }
          await runTask(runtime, task);
        }
      },
    };
    await createCycle(rt, { cycleId: 'EU-lock', model, ruleSetVersion: rt.ruleSetVersion });
    const report = await coordinateCycle(rt, 'EU-lock', dispatcher);

    expect(report.leads.extracted).toBe(1500);
    expect(report.leads.retried).toBeGreaterThan(0);
    expect(report.salesforce.lockRetryRounds).toBeGreaterThan(0);
    expect(report.leads.written).toBe(1495);
    expect(report.leads.failed).toBe(5);
    expect(Object.keys(report.failedByCode)).toHaveLength(1);
    expect(report.failedByCode.UNABLE_TO_LOCK_ROW).toBeUndefined();
    const failures = (await cycleFailures(rt.state, 'EU-lock'))!;
    expect(failures.map((f) => f.leadId).sort()).toEqual([...deleted].sort());
    expect(failures.every((f) => f.stage === 'lead' && f.message.length > 0)).toBe(true);

    const check = await checkOrg(sim, rt, 'EU-lock');
    expect(check.lost).toEqual([]);
    expect(check.stale).toEqual([]);
    expect(check.duplicatedHistory).toEqual([]);
    expect(check.historyRows).toBe(1495);
  }, 120_000);

  it('retries 5xx answers with backoff and still writes every lead exactly', async () => {
    sim = await startSimulator();
    seedLeads(sim, 1200, { region: 'EU', seed: 6 });
    await setFaults(sim, { errorRate5xx: 0.15, seed: 7 });
    rt = await kitRuntime({ sim, redisUrl: REDIS_URL, keyPrefix: prefix('5xx') });
    const report = await runCycleInProcess(rt, { model, cycleId: 'EU-5xx' });
    expect(report.salesforce.retriedCalls).toBeGreaterThan(0);
    expect(report.leads.written).toBe(1200);
    expect(report.leads.failed).toBe(0);
    const check = await checkOrg(sim, rt, 'EU-5xx');
    expect(check.lost).toEqual([]);
    expect(check.stale).toEqual([]);
    expect(check.duplicatedHistory).toEqual([]);
  }, 120_000);

  it('pauses before passing its share of the daily API allocation, reports it, and resumes', async () => {
    sim = await startSimulator();
    seedLeads(sim, 1200, { region: 'EU', seed: 8 });
    // The cycle needs about 25 calls; the guard allows 20 (half of 40).
    await setFaults(sim, { dailyApiRequests: 40 });
    rt = await kitRuntime({
      sim,
      redisUrl: REDIS_URL,
      keyPrefix: prefix('limits'),
      overrides: { apiAllocation: { maxShare: 0.5, pauseCheckMs: 300 } },
    });
    const state = rt.state;
    const running = runCycleInProcess(rt, { model, cycleId: 'EU-limits' });
    let paused: { used: number; limit: number } | null = null;
    for (let i = 0; i < 400 && !paused; i++) {
      paused = await getJson(state, 'paused');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(paused).not.toBeNull();
    expect(paused!.limit).toBe(40);
    expect(paused!.used).toBeLessThanOrEqual(20);
    // A new day's allocation: usage back to zero, the cycle carries on.
    await fetch(`${sim.url}/__admin/usage/reset`, { method: 'POST' });
    const report = await running;
    expect(report.salesforce.allocationPauses).toBeGreaterThanOrEqual(1);
    expect(report.salesforce.pausedMs).toBeGreaterThan(0);
    expect(report.leads.written).toBe(1200);
    expect(await getJson(state, 'paused')).toBeNull();
  }, 120_000);
});
