// `leadrank worker --roles sync` as real child processes: the worker loads the org into the shared store and
// worklists and follows changes; two workers of one region sync one at a time (the second waits, saying who holds
// the lease) and the second takes over when the holder is killed; the sync's metrics are on the worker's /metrics.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { createRedisWorklistIndex, loadRankingConfig } from '../src/ranking/index.js';
import { createRedisStore } from '../src/store/index.js';
import { CLIENT, queryStore, REDIS_URL, repoRoot, seedLeads, startSimulator } from './batch-kit.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const PREFIX = `syncworker-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const ranking = loadRankingConfig();
let sim: RunningOrgSimulator;
const workers: WorkerProcess[] = [];
const redis = new Redis(REDIS_URL);
const log = pino({ level: 'silent' });
const store = createRedisStore(REDIS_URL, 'EU', { keyPrefix: PREFIX, logger: log });
const index = createRedisWorklistIndex(REDIS_URL, 'EU', {
  keyPrefix: PREFIX,
  closedStatuses: ranking.candidates.closedStatuses,
  logger: log,
});

const env = () => ({
  REDIS_URL,
  LEADRANK_REDIS_PREFIX: PREFIX,
  LEADRANK_BATCH_PREFIX: PREFIX,
  LEADRANK_BULLMQ_PREFIX: `${PREFIX}-bull`,
  LEADRANK_SYNC_LEASE_MS: '3000',
  LEADRANK_CONFIG_DIR: join(repoRoot, 'config'),
  SF_LOGIN_URL: sim.url,
  SF_CLIENT_ID: CLIENT.clientId,
  SF_CLIENT_SECRET: CLIENT.clientSecret,
});
const start = async () => {
  const w = await startWorkerProcess({ roles: 'sync', env: env(), args: ['--sync-interval', '500ms'] });
  workers.push(w);
  return w;
};
const heldBy = async (w: WorkerProcess) =>
  /leadrank_sync_lease_held\{region="EU"\} 1/.test(await w.metrics());

async function until<T>(what: string, probe: () => Promise<T | null | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const inAnyWorklist = async (id: string, owner: string, territory: string | null) =>
  (await index.candidatesFor(owner, territory)).some((c) => c.leadId === id);

beforeAll(async () => {
  sim = await startSimulator({ region: 'EU' });
  seedLeads(sim, 30, { region: 'EU', seed: 5, closedEvery: 10 });
});

afterAll(async () => {
  for (const w of workers) await w.stop('SIGKILL');
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await Promise.allSettled([redis.quit(), store.close(), index.close()]);
  await sim?.close();
});

describe('leadrank worker --roles sync (child processes)', () => {
  it('loads the org, follows changes, runs once per region and hands over when its holder dies', async () => {
    const a = await start();
    await until('worker A to take the sync lease', () => heldBy(a));
    const open = queryStore(
      sim,
      `SELECT Id, OwnerId, Territory__c FROM Lead WHERE Data_Region__c = 'EU' AND Status NOT IN ('Closed - Not Converted')`,
    );
    expect(open.length).toBe(27);
    const first = open[0]!;
    await until('the initial load', async () =>
      inAnyWorklist(first.Id as string, first.OwnerId as string, (first.Territory__c as string) ?? null),
    );
    const states = await store.getLeadStates(open.map((l) => l.Id as string));
    expect(states.filter(Boolean).length).toBe(27);

    // A second worker of the region waits, and says who holds the lease.
    const b = await start();
    await until('worker B to log that it waits', async () =>
      b.logs.some((l) => l.includes('sync waits for its lease') && l.includes(`pid ${a.child.pid}`)),
    );
    expect(await heldBy(b)).toBe(false);

    // A change in the org reaches the worklists: the lead is closed, so it leaves every worklist.
    sim.ctx.store.update('Lead', [{ Id: first.Id, Status: 'Closed - Not Converted' }]);
    await until(
      'the close to leave the worklist',
      async () =>
        !(await inAnyWorklist(
          first.Id as string,
          first.OwnerId as string,
          (first.Territory__c as string) ?? null,
        )),
    );
    const metricsA = await a.metrics();
    expect(metricsA).toMatch(/leadrank_sync_pulls_total\{mode="incremental",region="EU"\} [1-9]/);
    expect(metricsA).toMatch(/leadrank_sync_rows_total\{outcome="closed",region="EU"\} [1-9]/);
    expect(metricsA).toContain('leadrank_worker_process_cpu_user_seconds_total');

    // The holder dies without releasing: B takes over once the lease expires, and keeps syncing.
    await a.stop('SIGKILL');
    await until('worker B to take over', () => heldBy(b), 20_000);
    const second = open[1]!;
    sim.ctx.store.update('Lead', [{ Id: second.Id, Status: 'Closed - Not Converted' }]);
    await until(
      'B to apply a change',
      async () =>
        !(await inAnyWorklist(
          second.Id as string,
          second.OwnerId as string,
          (second.Territory__c as string) ?? null,
        )),
    );
    await b.stop();
    expect(b.child.exitCode).toBe(0);
    expect(await redis.exists(`${PREFIX}:{EU}:sync:running`)).toBe(0); // released on a clean stop
  });
});
