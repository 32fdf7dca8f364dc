// The demo on embedded defaults: a generated CRM in the org simulator, read back through the same client
// code production uses against a real org. Later stages (train, score, write back, serve) extend it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { bulkQuery } from '../scoring-sidecar/src/salesforce/bulk-query.js';
import { connectToOrg } from '../scoring-sidecar/src/salesforce/org-connection.js';
import { buildFromOrg } from '../scoring-sidecar/src/features/build-training-set.js';

const repoRoot = join(import.meta.dirname, '..');
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
const api = (await conn.limits()).DailyApiRequests;
if (api) console.log(`API requests used: ${api.Max - api.Remaining} of ${api.Max}`);

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
const python = process.env.LEADRANK_PYTHON ?? join(repoRoot, '.venv', 'bin', 'python');
const modelDir = join(repoRoot, 'var', 'models', 'demo');
const trained = spawnSync(
  python,
  [
    '-m',
    'leadrank_training.train',
    '--data',
    trainingDir,
    '--out',
    modelDir,
    '--params',
    join(repoRoot, 'config', 'training', 'lead-conversion.json'),
  ],
  {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, PYTHONPATH: join(repoRoot, 'training') },
  },
);
if (trained.status !== 0) throw new Error('training failed (exit ' + trained.status + ')');
const report = JSON.parse(readFileSync(join(modelDir, 'report.json'), 'utf8'));
const fmt = (x: number | undefined) => (x === undefined ? 'n/a' : x.toFixed(4));
console.log(
  `test ROC-AUC ${fmt(report.overall?.roc_auc)} (Bayes-optimal ceiling on the same rows ` +
    `${fmt(report.ceiling?.bayes_optimal?.roc_auc)}), ECE ${fmt(report.overall?.ece)}; report: ${join(modelDir, 'report.md')}`,
);

if (opts.once) {
  await sim.close();
} else {
  console.log(
    `\nThe org simulator keeps serving at ${sim.url} (client id ${demoApp.clientId}). Ctrl-C to stop.`,
  );
  process.on('SIGINT', () => void sim.close().then(() => process.exit(0)));
}
