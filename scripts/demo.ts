// The demo: a generated CRM in the org simulator, read back through the same client code production uses
// against a real org; the org sync runs as the product's own command against Redis (REDIS_URL). Later stages
// (train, score, write back, serve) extend it.
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { startOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { bulkQuery } from '../scoring-sidecar/src/salesforce/bulk-query.js';
import { connectToOrg } from '../scoring-sidecar/src/salesforce/org-connection.js';
import { buildFromOrg } from '../scoring-sidecar/src/commands/build-training-set.js';
import { trainingCommand } from '../scoring-sidecar/src/model/python.js';
import { readNdjsonGz } from '@leadrank/crm-generator';
import { startPreviewServer } from '../preview/server.js';
import { summaryLine } from '../scoring-sidecar/src/batch/report.js';
import { loadExperimentDefinition } from '../scoring-sidecar/src/experiments/definition.js';
import { BatchMonitor } from '../scoring-sidecar/src/monitoring/batch-monitor.js';
import { baselineFromTrainingSet, writeBaseline } from '../scoring-sidecar/src/monitoring/baseline.js';
import { runCycleInProcess } from '../scoring-sidecar/src/batch/runners.js';
import { createBatchRuntime } from '../scoring-sidecar/src/batch/runtime.js';
import type { EngagementEvent } from '../scoring-sidecar/src/inputs/index.js';
import { createRedisWorklistIndex, loadRankingConfig } from '../scoring-sidecar/src/ranking/index.js';
import { startServer } from '../scoring-sidecar/src/server.js';
import { createRedisStore } from '../scoring-sidecar/src/store/index.js';
import { loadExtracts } from './lib/extracts.js';

const repoRoot = join(import.meta.dirname, '..');
process.env.LOG_LEVEL ??= 'warn'; // the demo prints its own summary; components log warnings and errors only
const { values: opts } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    port: { type: 'string', default: process.env.DEMO_ORG_PORT ?? '8787' },
    seed: { type: 'string', default: '42' },
    active: { type: 'string', default: '10000' },
    historical: { type: 'string', default: '40000' },
  },
});

function step(title: string): void {
  console.log(`\n── ${title}`);
}

function tsx(script: string, args: string[]): void {
  const res = spawnSync(join(repoRoot, 'node_modules', '.bin', 'tsx'), [join(repoRoot, script), ...args], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (res.status !== 0) throw new Error(`${script} ${args[0]} failed (exit ${res.status})`);
}

const dataDir = join(repoRoot, 'var', 'data', 'demo');
const xEducationCsv = join(repoRoot, '..', 'shared', 'data', 'x-education-leads.csv');
const xEducationDir = join(repoRoot, 'var', 'data', 'x-education');

step('1. CRM data (deterministic by seed)');
if (opts.fresh || !existsSync(join(dataDir, 'manifest.json'))) {
  tsx('crm-generator/src/cli.ts', [
    'generate',
    '--out',
    dataDir,
    '--seed',
    opts.seed,
    '--active',
    opts.active,
    '--historical',
    opts.historical,
  ]);
} else {
  console.log(`using ${dataDir} (pass --fresh to generate again)`);
}
const withXEducation = existsSync(xEducationCsv);
if (withXEducation && (opts.fresh || !existsSync(join(xEducationDir, 'manifest.json')))) {
  tsx('crm-generator/src/cli.ts', ['x-education', '--csv', xEducationCsv, '--out', xEducationDir]);
}

step('2. The org simulator (Salesforce REST, OAuth 2.0 and Bulk API 2.0 on SQLite)');
const dbFile = join(repoRoot, 'var', 'org', 'demo.db');
mkdirSync(join(repoRoot, 'var', 'org'), { recursive: true });
for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
// A Connected App for this run only: the secret lives in this process, never in the repository.
const demoApp = { clientId: 'leadrank-demo', clientSecret: randomBytes(24).toString('base64url') };
const sim = await startOrgSimulator({
  port: Number(opts.port),
  dbFile,
  clients: [demoApp],
  logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
});
const seeded = await seedFromDirectory(sim.ctx.store, dataDir);
const seededX = withXEducation ? await seedFromDirectory(sim.ctx.store, xEducationDir) : {};
console.log(
  `serving ${sim.url}; seeded`,
  seeded,
  withXEducation ? `and x-education ${JSON.stringify(seededX)}` : '',
);

step(
  '3. Reading the org back through the sidecar’s Salesforce client (OAuth client credentials + Bulk API 2.0)',
);
const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...demoApp });
const counts = {
  region: new Map<string, number>(),
  status: new Map<string, number>(),
  owner: new Map<string, number>(),
};
let leads = 0;
const bump = (m: Map<string, number>, k: unknown) =>
  m.set(String(k || '(none)'), (m.get(String(k || '(none)')) ?? 0) + 1);
const activeLeads = 'SELECT Id, Data_Region__c, Status, OwnerId FROM Lead WHERE IsConverted = false';
for await (const row of bulkQuery(conn, activeLeads)) {
  leads++;
  bump(counts.region, row.Data_Region__c);
  bump(counts.status, row.Status);
  bump(counts.owner, row.OwnerId);
}
const users = await conn.query<{ Id: string; Name: string; Territory__c: string | null }>(
  'SELECT Id, Name, Territory__c FROM User',
  { autoFetch: true, maxFetch: 100_000 },
);
const ownerName = new Map(
  users.records.map((u) => [u.Id, `${u.Name} (${u.Territory__c ?? 'no territory'})`]),
);
const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);

console.log(`\nleads not converted: ${leads}`);
console.log('by region:', Object.fromEntries(sorted(counts.region)));
console.log('by status:', Object.fromEntries(sorted(counts.status)));
console.log('top owners:');
console.table(
  sorted(counts.owner)
    .slice(0, 10)
    .map(([id, n]) => ({ owner: ownerName.get(id) ?? id, leads: n })),
);
const apiUsage = (await conn.limits()).DailyApiRequests;
if (apiUsage) console.log(`API requests used: ${apiUsage.Max - apiUsage.Remaining} of ${apiUsage.Max}`);

step(
  '4. A point-in-time training set from the org, the events and the daily extracts (one feature definition)',
);
const manifest = JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as { dataEnd: string };
const trainingDir = join(repoRoot, 'var', 'training', 'demo');
const started = Date.now();
const built = await buildFromOrg(conn, {
  out: trainingDir,
  events: join(dataDir, 'events.ndjson.gz'),
  extracts: join(dataDir, 'extracts'),
  dataEnd: new Date(manifest.dataEnd),
  leadFilter: 'Source_Record_Id__c = null', // the generated CRM, not the imported x-education leads
  groundTruth: dataDir,
});
console.log(
  `${built.snapshots} snapshots of ${built.leads - built.skippedLeads} leads (${built.positives} converted within ` +
    `30 days) in ${((Date.now() - started) / 1000).toFixed(1)} s → ${trainingDir}`,
);

step('5. Training: LightGBM, calibrated, exported to ONNX (Python)');
const modelDir = join(repoRoot, 'var', 'models', 'demo');
const train = trainingCommand(trainingDir, modelDir);
const trained = spawnSync(train.command, train.args, { cwd: train.cwd, env: train.env, stdio: 'inherit' });
if (trained.status !== 0) throw new Error('training failed (exit ' + trained.status + ')');
const report = JSON.parse(readFileSync(join(modelDir, 'report.json'), 'utf8'));
const fmt = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(4));
console.log(
  `test ROC-AUC ${fmt(report.overall?.roc_auc)} (Bayes-optimal ceiling on the same rows ` +
    `${fmt(report.ceiling?.bayes_optimal?.roc_auc)}), ECE ${fmt(report.overall?.ece)}; report: ${join(modelDir, 'report.md')}`,
);
const baseline = await baselineFromTrainingSet(trainingDir);
console.log(
  `drift baseline of ${baseline.features.length} features: ${await writeBaseline(modelDir, baseline)}`,
);

step(
  '6. The scoring sidecar (US deployment): online store and worklists filled from the org and the event stream',
);
const region = 'US' as const;
const ranking = loadRankingConfig(join(repoRoot, 'config', 'ranking.json'));
// The org sync runs as its own process (`leadrank store sync --full`), as in production: store and worklists
// live in Redis, under a prefix of the demo's own, emptied first.
const redisUrl = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
const redisPrefix = 'lr-demo';
const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
try {
  await redis.connect();
} catch {
  throw new Error(
    `the demo needs Redis at ${redisUrl} (the org sync is a process of its own): start one, e.g. ` +
      '`redis-server --daemonize yes`, or set REDIS_URL',
  );
}
for (let cursor = '0'; ;) {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}:*`, 'COUNT', 1000);
  if (keys.length > 0) await redis.del(...keys);
  if ((cursor = next) === '0') break;
}
await redis.quit();
const store = createRedisStore(redisUrl, region, { keyPrefix: redisPrefix });
const worklistIndex = createRedisWorklistIndex(redisUrl, region, {
  keyPrefix: redisPrefix,
  closedStatuses: ranking.candidates.closedStatuses,
});
const sidecarClient = { clientId: 'leadrank-demo-ui', clientSecret: randomBytes(24).toString('base64url') };
// The demo's own experiments and monitoring history, fresh each run (never the region's real state dir).
const stateDir = join(repoRoot, 'var', 'state', 'demo', region);
rmSync(stateDir, { recursive: true, force: true });
const quiet = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const sidecar = await startServer(
  {
    REGION: region,
    PORT: process.env.DEMO_SIDECAR_PORT ?? '8080',
    HOST: '127.0.0.1',
    LEADRANK_MODEL_DIR: modelDir,
    LEADRANK_AUDIT_DIR: join(repoRoot, 'var', 'audit', 'demo'),
    LEADRANK_STATE_DIR: stateDir,
    LEADRANK_TOKEN_SIGNING_KEY: randomBytes(32).toString('base64url'),
    LEADRANK_CLIENTS: JSON.stringify([
      {
        clientId: sidecarClient.clientId,
        clientSecretSha256: createHash('sha256').update(sidecarClient.clientSecret).digest('hex'),
        region,
        name: 'demo',
      },
    ]),
  },
  { store, worklistIndex, logger: quiet },
);
const sidecarUrl = `http://127.0.0.1:${sidecar.port}`;
// Asynchronous: the org simulator runs in this process and must answer the command's calls.
const syncRun = await promisify(execFile)(
  join(repoRoot, 'node_modules', '.bin', 'tsx'),
  [join(repoRoot, 'scoring-sidecar', 'src', 'cli.ts'), 'store', 'sync', '--full'],
  {
    cwd: repoRoot,
    encoding: 'utf8',
    env: {
      ...process.env,
      REGION: region,
      REDIS_URL: redisUrl,
      LEADRANK_REDIS_PREFIX: redisPrefix,
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: demoApp.clientId,
      SF_CLIENT_SECRET: demoApp.clientSecret,
      LEADRANK_SYNC_LEAD_FILTER: 'Source_Record_Id__c = null', // the generated CRM, not the imported x-education leads
    },
  },
);
const synced = JSON.parse(syncRun.stdout.trim().split('\n').pop()!) as { upserted: number; accounts: number };
// The extract replay below is not an operator surface yet: it needs the region's lead ids and ERP numbers.
const owned = { leadIds: new Set<string>(), erpAccountNumbers: new Set<string>() };
for (let cursor: string | undefined; ;) {
  const page = await store.leadIds(cursor, 5_000);
  for (const id of page.ids) owned.leadIds.add(id);
  if (page.cursor === null) break;
  cursor = page.cursor;
}
for await (const a of bulkQuery(
  conn,
  `SELECT ERP_Account_Number__c FROM Account WHERE ERP_Account_Number__c != null AND Data_Region__c = '${region}'`,
))
  owned.erpAccountNumbers.add(a.ERP_Account_Number__c!);
let events = 0;
let pending: EngagementEvent[] = [];
for await (const e of readNdjsonGz<EngagementEvent>(join(dataDir, 'events.ndjson.gz'))) {
  if (e.region !== region) continue; // EU events belong to the EU deployment
  pending.push(e);
  if (pending.length === 5_000) {
    events += (await store.applyEvents(pending)).applied;
    pending = [];
  }
}
events += (await store.applyEvents(pending)).applied;
const extractRows = await loadExtracts(store, join(dataDir, 'extracts'), owned);
console.log(
  `sidecar at ${sidecarUrl}: ${synced.upserted} open ${region} leads and ${synced.accounts} account links from the org ` +
    '(leadrank store sync --full), ' +
    `${events} engagement events, ${extractRows} extract rows`,
);

step('7. Scores, reasons and a rep’s worklist from the API (OAuth 2.0 client credentials)');
const tokenRes = await fetch(`${sidecarUrl}/oauth/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: sidecarClient.clientId,
    client_secret: sidecarClient.clientSecret,
  }),
});
const { access_token: token } = (await tokenRes.json()) as { access_token: string };
const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${sidecarUrl}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers },
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json() as Promise<Record<string, unknown>>;
};
const busiestRep = sorted(counts.owner).find(
  ([id]) => ownerName.has(id) && !ownerName.get(id)!.startsWith('Leadrank'),
)![0];
const worklist = (await api(`/v1/worklists/${busiestRep}`)) as {
  items?: { rank: number; leadId: string; score: number; band: string; why?: string[] }[];
};
console.log(`worklist of ${ownerName.get(busiestRep)}:`);
console.table(
  (worklist.items ?? []).slice(0, 8).map((item) => ({
    rank: item.rank,
    lead: item.leadId,
    score: item.score,
    band: item.band,
    why: item.why?.[0] ?? '',
  })),
);
const top = worklist.items?.[0];
if (top) {
  const scored = (await api('/v1/score', {
    method: 'POST',
    body: JSON.stringify({ leads: [{ id: top.leadId }] }),
  })) as { scores: unknown[] };
  console.log('POST /v1/score for the top lead:', JSON.stringify(scored.scores[0], null, 2));
}

step(
  '8. A batch cycle: rescore the region’s open leads and write material changes back through Bulk API 2.0',
);
process.env.LEADRANK_MODEL_DIR = modelDir;
const batch = await createBatchRuntime({
  region,
  rootDir: repoRoot,
  connect: async () => conn,
  featureStore: store,
  logger: quiet,
});
// The cycle reports to the sidecar's monitor: cycle record, band counts and drift on the dashboard.
batch.monitor = new BatchMonitor({ monitor: sidecar.sidecar.monitor });
const cycle = await runCycleInProcess(batch);
console.log(summaryLine(cycle));
const written = await conn.query<Record<string, unknown>>(
  "SELECT Id, Lead_Score__c, Score_Band__c, Score_Source__c, Score_Model_Version__c, Next_Best_Action__c FROM Lead WHERE Lead_Score__c != null AND Data_Region__c = 'US' ORDER BY Lead_Score__c DESC LIMIT 5",
);
console.table(written.records.map(({ attributes: _a, ...r }) => r));
const history = await conn.query('SELECT COUNT() FROM Score_History__c');
console.log(`Score_History__c rows (material changes only): ${history.totalSize}`);
await batch.close();

step('9. An experiment (model vs rules ranking, canary at 50 %) and the RevOps dashboard');
const experiments = sidecar.sidecar.experiments;
const definition = await loadExperimentDefinition(
  join(repoRoot, 'config', 'experiments', 'model-vs-rules.json'),
);
await experiments.create(definition, 'demo');
await experiments.startCanary(definition.id, 'demo', 'demo canary');
while ((await experiments.require(definition.id)).share < 0.5)
  await experiments.widen(definition.id, 'demo', 'demo');
const arms = { control: 0, treatment: 0 };
const demoReps = sorted(counts.owner)
  .filter(([id]) => ownerName.has(id) && !ownerName.get(id)!.startsWith('Leadrank'))
  .slice(0, 20);
for (const [rep] of demoReps) {
  const served = (await api(`/v1/worklists/${rep}`)) as {
    experiment: { arm: 'control' | 'treatment' } | null;
  };
  if (served.experiment) arms[served.experiment.arm] += 1;
}
await experiments.flush();
const exposed = (await experiments.store.leadExposures(definition.id)).length;
console.log(
  `${definition.id}: canary at ${(await experiments.require(definition.id)).share}; ${demoReps.length} reps' worklists ` +
    `served (${arms.treatment} treatment = model ranking, ${arms.control} control = rules ranking); ${exposed} leads exposed`,
);
console.log(`RevOps dashboard (this run's cycle, scores, drift and experiment): ${sidecarUrl}/dashboard/`);

step('10. The rep’s day in the package’s Lightning web components (local preview)');
const preview = await startPreviewServer({
  port: Number(process.env.DEMO_PREVIEW_PORT ?? 8790),
  sidecarUrl,
  sidecarClient,
  orgUrl: sim.url,
  orgClient: demoApp,
  logger: quiet,
});
console.log(`open ${preview.url}?rep=${busiestRep}`);

const stopAll = async () => {
  for (const [name, close] of [
    ['preview', () => preview.close()],
    ['sidecar', () => sidecar.stop()],
    ['org simulator', () => sim.close()],
  ] as const) {
    const closed = await Promise.race([close().then(() => true), sleep(5_000).then(() => false)]);
    if (!closed) console.error(`the ${name} did not close within 5 s`);
  }
};
if (opts.once) {
  await stopAll();
  process.exit(0); // pools and timers of the in-process components need not be waited for
} else {
  console.log(
    `\nServing: org simulator ${sim.url} (client id ${demoApp.clientId}), sidecar ${sidecarUrl}, ` +
      `preview ${preview.url}, RevOps dashboard ${sidecarUrl}/dashboard/. Ctrl-C to stop.`,
  );
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
}
