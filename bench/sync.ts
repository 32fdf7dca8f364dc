// Benchmark of the org sync: initial load (leads/s, Bulk API 2.0 from the org simulator into the Redis store and
// worklist index) and one incremental pull after a burst of org changes (pull time, change -> store lag).
// Usage: npx tsx bench/sync.ts [--active 20000] [--changes 2000] [--redis-url redis://...]
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { OrgSync, redisWatermarkStore } from '../scoring-sidecar/src/ingest/index.js';
import { createRedisWorklistIndex, loadRankingConfig } from '../scoring-sidecar/src/ranking/index.js';
import { SalesforceClient, connectToOrg } from '../scoring-sidecar/src/salesforce/index.js';
import { createRedisStore } from '../scoring-sidecar/src/store/index.js';

const options = new Command()
  .option(
    '--active <n>',
    'active leads generated (both regions; the US share is loaded)',
    (v) => Number(v),
    20_000,
  )
  .option('--changes <n>', 'US leads changed before the incremental pull', (v) => Number(v), 2_000)
  .option('--redis-url <url>', 'Redis to use', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  .parse(process.argv)
  .opts() as { active: number; changes: number; redisUrl: string };

const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;

const log = pino({ level: 'silent' });
const prefix = `lr-bench-sync-${randomUUID().slice(0, 8)}`;
const root = await mkdtemp(join(os.tmpdir(), 'bench-sync-'));
const app = { clientId: 'bench-sync', clientSecret: randomUUID() };
const redis = new Redis(options.redisUrl);
console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}`,
);
console.log(`config: ${JSON.stringify(options)}`);
// The org is seeded an hour in the past, so the pull after the burst re-reads only recent changes (overlap 2 min).
let clockOffsetMs = -3_600_000;
const sim = await startOrgSimulator({
  port: 0,
  clients: [app],
  logger: log,
  clock: () => new Date(Date.now() + clockOffsetMs),
});
try {
  await generateDataset({
    outDir: root,
    seed: 7,
    active: options.active,
    historical: Math.round(options.active / 10),
    dataEnd: `${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`,
    euShare: 0.3,
    historyDays: 90,
  });
  await seedFromDirectory(sim.ctx.store, root);
  clockOffsetMs = 0;
  const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
  const ranking = loadRankingConfig();
  const store = createRedisStore(options.redisUrl, 'US', { keyPrefix: prefix, logger: log });
  const index = createRedisWorklistIndex(options.redisUrl, 'US', {
    keyPrefix: prefix,
    closedStatuses: ranking.candidates.closedStatuses,
    logger: log,
  });
  const watermarks = redisWatermarkStore(options.redisUrl, 'US', { keyPrefix: prefix });
  const lags: number[] = [];
  const sync = new OrgSync({
    client: new SalesforceClient(conn, { log }),
    region: 'US',
    store,
    worklistIndex: index,
    ranking,
    watermarks,
    config: { overlapMs: 120_000, writeBatchRows: 5_000, maxWatermarkAgeDays: 13 },
    log,
    onChangeApplied: (ms) => lags.push(ms),
  });

  let t = performance.now();
  const full = await sync.runOnce();
  const fullS = (performance.now() - t) / 1000;
  console.log(
    `initial load: ${full.upserted} US leads + ${full.accounts} account links in ${fullS.toFixed(2)} s ` +
      `= ${Math.round(full.upserted / fullS)} leads/s`,
  );
  // The watermark stays at the newest change applied, and each pull re-reads the overlap window behind it: here
  // the whole seeded org (written in one second, an hour ago). One small change moves the watermark to now.
  await sync.runOnce();
  const first = await conn.query<{ Id: string }>("SELECT Id FROM Lead WHERE Data_Region__c = 'US' LIMIT 1");
  await conn.sobject('Lead').update({ Id: first.records[0]!.Id, Rating: 'Cold' });
  await sync.runOnce();
  lags.length = 0;

  // A burst of changes through sObject Collections, then one pull.
  const ids: string[] = [];
  for await (const r of new SalesforceClient(conn, { log }).query(
    `SELECT Id FROM Lead WHERE Data_Region__c = 'US' AND IsConverted = false LIMIT ${options.changes}`,
  ))
    ids.push(r.Id as string);
  const writer = new SalesforceClient(conn, { log });
  t = performance.now();
  await writer.updateRecords(
    'Lead',
    ids.map((Id, i) => ({ Id, Rating: i % 2 ? 'Hot' : 'Warm' })),
  );
  const writeS = (performance.now() - t) / 1000;
  t = performance.now();
  const pull = await sync.runOnce();
  const pullS = (performance.now() - t) / 1000;
  lags.sort((a, b) => a - b);
  console.log(
    `incremental pull: ${pull.upserted} changed leads (${pull.duplicates} overlap re-reads skipped) in ` +
      `${pullS.toFixed(2)} s; the changes took ${writeS.toFixed(2)} s to write; change -> store lag ` +
      `p50 ${(quantile(lags, 0.5)! / 1000).toFixed(2)} s, p95 ${(quantile(lags, 0.95)! / 1000).toFixed(2)} s ` +
      `(one pull right after the burst; add the pull interval in production)`,
  );
  await Promise.all([store.close(), index.close(), watermarks.close()]);
  console.log(
    JSON.stringify({
      bench: 'sync',
      leads: full.upserted,
      initialLoadLeadsPerSec: Math.round(full.upserted / fullS),
      initialLoadSec: Number(fullS.toFixed(2)),
      changes: pull.upserted,
      incrementalPullSec: Number(pullS.toFixed(2)),
      lagP50Sec: Number((quantile(lags, 0.5)! / 1000).toFixed(2)),
      lagP95Sec: Number((quantile(lags, 0.95)! / 1000).toFixed(2)),
      cpus: os.cpus().length,
      loadAvg: Number(os.loadavg()[0]!.toFixed(1)),
    }),
  );
} finally {
  for (let cursor = '0'; ;) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    if ((cursor = next) === '0') break;
  }
  await redis.quit();
  await sim.close();
  await rm(root, { recursive: true, force: true });
}
