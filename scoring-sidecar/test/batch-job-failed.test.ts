// A Bulk job that ends `Failed` twice after Salesforce committed part of its rows (the simulator's ingest-job
// failure switch: the job fails after its first internal batches, as a job does on an internal error or a quota
// reached). The committed rows are reconciled from the jobs' successfulResults/failedResults: they count as
// written and get their Score_History__c row; only the rest is dead-lettered. And `leadrank batch run` exits 1
// when more than failures.maxRowShare of the changes failed, 0 otherwise.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bulkRuntime, failIngestJobs } from '../../org-simulator/src/bulk/index.js';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { cycleFailures } from '../src/batch/cycle-state.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import type { BatchRuntime } from '../src/batch/runtime.js';
import { CLIENT, FAST, kitRuntime, queryStore, repoRoot, seedLeads, startSimulator } from './batch-kit.js';

let sim: RunningOrgSimulator | undefined;
let rt: BatchRuntime | undefined;

afterEach(async () => {
  await rt?.close();
  rt = undefined;
  await sim?.close();
  sim = undefined;
});

describe('a Bulk job that ends Failed twice', () => {
  it('reconciles committed rows from the job results before dead-lettering the rest', async () => {
    sim = await startSimulator({ region: 'EU' });
    seedLeads(sim, 10, { region: 'EU', seed: 8 });
    bulkRuntime(sim.ctx, { ingestBatchSize: 4 });
    // Both submissions of the Lead update job commit their first internal batch (4 rows), then fail.
    failIngestJobs(sim.ctx, { object: 'Lead', afterRows: 4, jobs: 2 });
    rt = await kitRuntime({ sim });
    const report = await runCycleInProcess(rt, { mode: 'full' });

    const committed = queryStore(
      sim,
      `SELECT Id FROM Lead WHERE Data_Region__c = 'EU' AND Lead_Score__c != null ORDER BY Id`,
    ).map((r) => r.Id as string);
    expect(committed).toHaveLength(4);
    expect(report.leads.written).toBe(4);
    expect(report.leads.failed).toBe(6);

    const dead = (await cycleFailures(rt.state, report.cycleId)) ?? [];
    expect(dead).toHaveLength(6);
    expect(new Set(dead.map((d) => d.code))).toEqual(new Set(['JOB_FAILED']));
    for (const id of committed) expect(dead.some((d) => d.leadId === id)).toBe(false);

    const history = queryStore(sim, `SELECT External_Key__c FROM Score_History__c`).map(
      (r) => r.External_Key__c as string,
    );
    expect(history.sort()).toEqual(committed.map((id) => `${id}:${report.cycleId}`).sort());
  });
});

function runBatchCli(s: RunningOrgSimulator, rootDir: string): Promise<{ code: number | null; err: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'scoring-sidecar/src/cli.ts'), 'batch', 'run', '--region', 'EU'],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        REDIS_URL: '',
        LEADRANK_ROOT: rootDir,
        LEADRANK_STATE_DIR: join(rootDir, 'state'),
        LEADRANK_CONFIG_DIR: join(repoRoot, 'config'),
        LEADRANK_BATCH_OVERRIDES: JSON.stringify(FAST),
        SF_LOGIN_URL: s.url,
        SF_CLIENT_ID: CLIENT.clientId,
        SF_CLIENT_SECRET: CLIENT.clientSecret,
        DATABASE_URL: '',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, err })));
}

describe('leadrank batch run exit code', () => {
  it('is 1 when every row failed, naming the share and the setting; 0 when none did', async () => {
    sim = await startSimulator({ region: 'EU' });
    seedLeads(sim, 6, { region: 'EU', seed: 9 });
    failIngestJobs(sim.ctx, { object: 'Lead', afterRows: 0, jobs: 2 });
    const rootDir = mkdtempSync(join(tmpdir(), 'batch-exit-'));
    const failed = await runBatchCli(sim, rootDir);
    expect(failed.err).toContain('6 of 6 rows failed (100.0 %, over failures.maxRowShare 0.05');
    expect(failed.code).toBe(1);

    // The switch is used up: the next cycle writes every change.
    const ok = await runBatchCli(sim, rootDir);
    expect(ok.err).not.toContain('rows failed');
    expect(ok.code).toBe(0);
  });
});
