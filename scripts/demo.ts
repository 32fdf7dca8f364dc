// The demo: Leadrank run as an operator runs it, against a stand-in world. The world is set up outside the
// product: a generated CRM (crm-generator) loaded into the org simulator (the client's org), the marketing
// platform's event stream and the ERP / marketing daily extracts (files of the generated CRM). Everything Leadrank
// does goes through its operator surfaces only: `leadrank` commands run as child processes, and its HTTP API.
// The org is inspected as its admin would (SOQL through jsforce), never through Leadrank's code.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import jsforce from 'jsforce';
import pino from 'pino';
import { startOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { CUSTOM_FIELDS_METADATA_DIR, readNdjsonGz } from '@leadrank/crm-generator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import { startPreviewServer } from '../preview/server.js';

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
const demoStarted = Date.now();

function step(title: string): void {
  console.log(`\n── ${title}`);
}

const tsxBin = join(repoRoot, 'node_modules', '.bin', 'tsx');
/** A command line as an operator would type it. */
const shown = (args: string[]) => args.map((a) => (/[\s"'*]/.test(a) ? JSON.stringify(a) : a)).join(' ');
/** The environment of a child: this one's, with `extra` over it (an undefined value removes the variable). */
function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}
const leadrankCli = join(repoRoot, 'scoring-sidecar', 'src', 'cli.ts');

/** Runs a command to completion, asynchronously: the org simulator in this process must answer its calls. */
async function run(
  label: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  console.log(`$ ${label} ${shown(args)}`);
  const child = spawn(tsxBin, [script, ...args], {
    cwd: repoRoot,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    process.stdout.write(chunk);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${label} ${args[0]} ${args[1] ?? ''} failed (exit ${code})`);
  return stdout;
}
const lastJsonLine = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop()!) as T;

/** Long-running `leadrank` processes (the API, the write-back worker): stopped at the end. */
const processes: { name: string; child: ChildProcess }[] = [];
function startLeadrank(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  console.log(`$ leadrank ${shown(args)} &`);
  const child = spawn(tsxBin, [leadrankCli, ...args], {
    cwd: repoRoot,
    env: childEnv(env),
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group: tsx runs the command in a node child of its own, and a SIGKILL of tsx alone would
    // leave that grandchild running; the group is killed whole (killGroup).
    detached: true,
  });
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`✖ ${name} exited (code ${code}, signal ${signal})`);
  });
  processes.push({ name, child });
  return child;
}
let stopping = false;
const killGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};
// A demo that fails part-way leaves no `leadrank` process behind (tsx and the node process it runs alike).
process.on('exit', () => {
  for (const { child } of processes) killGroup(child, 'SIGKILL');
});

const dataDir = join(repoRoot, 'var', 'data', 'demo');
const generator = join(repoRoot, 'crm-generator', 'src', 'cli.ts');

step('1. CRM data (deterministic by seed), with the client’s own custom Lead fields');
/** A world generated before the demo asked for custom fields has none: generated again. */
const hasCustomFields = () =>
  existsSync(join(dataDir, 'manifest.json')) &&
  (
    JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as {
      groundTruth?: { params?: { customFields?: unknown } };
    }
  ).groundTruth?.params?.customFields !== undefined;
if (opts.fresh || !hasCustomFields()) {
  await run('crm-generator', generator, [
    'generate',
    '--out',
    dataDir,
    '--seed',
    opts.seed,
    '--active',
    opts.active,
    '--historical',
    opts.historical,
    // Budget_Band__c and Demo_Requested__c (informative), Favourite_Colour__c and Lucky_Number__c (noise),
    // Personal_Mobile__c (a personal phone, classified Confidential): docs/data.md, "Custom fields".
    '--custom-fields',
  ]);
} else {
  console.log(`using ${dataDir} (pass --fresh to generate again)`);
}

step('2. The org simulator (Salesforce REST, OAuth 2.0 and Bulk API 2.0 on SQLite): the client’s org');
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
  // The client's custom fields (their SFDX metadata, classification included) deployed on Leadrank's package.
  schema: loadOrgSchema({ extraMetadataDirs: [CUSTOM_FIELDS_METADATA_DIR] }),
});
const seeded = await seedFromDirectory(sim.ctx.store, dataDir);
console.log(`serving ${sim.url}; seeded`, seeded);

step('3. The org as its admin sees it (SOQL through jsforce, outside Leadrank)');
const admin = new jsforce.Connection({
  oauth2: { loginUrl: sim.url, ...demoApp },
  loginUrl: sim.url,
  version: '62.0',
});
await admin.authorize({ grant_type: 'client_credentials' });
const counts = {
  region: new Map<string, number>(),
  status: new Map<string, number>(),
  owner: new Map<string, number>(),
};
const bump = (m: Map<string, number>, k: unknown) =>
  m.set(String(k || '(none)'), (m.get(String(k || '(none)')) ?? 0) + 1);
const openLeads = await admin.query<{ Data_Region__c: string | null; Status: string; OwnerId: string }>(
  'SELECT Id, Data_Region__c, Status, OwnerId FROM Lead WHERE IsConverted = false',
  { autoFetch: true, maxFetch: 1_000_000 },
);
for (const row of openLeads.records) {
  bump(counts.region, row.Data_Region__c);
  bump(counts.status, row.Status);
  bump(counts.owner, row.OwnerId);
}
const users = await admin.query<{ Id: string; Name: string; Territory__c: string | null }>(
  'SELECT Id, Name, Territory__c FROM User',
  { autoFetch: true, maxFetch: 100_000 },
);
const ownerName = new Map(
  users.records.map((u) => [u.Id, `${u.Name} (${u.Territory__c ?? 'no territory'})`]),
);
const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
console.log(`\nleads not converted: ${openLeads.records.length}`);
console.log('by region:', Object.fromEntries(sorted(counts.region)));
console.log('by status:', Object.fromEntries(sorted(counts.status)));
console.log('top owners:');
console.table(
  sorted(counts.owner)
    .slice(0, 10)
    .map(([id, n]) => ({ owner: ownerName.get(id) ?? id, leads: n })),
);

// Every `leadrank` process of this run: the US deployment, its Redis namespace, the demo's own state dirs.
const region = 'US' as const;
const redisUrl = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
const redisPrefix = 'lr-demo';
const modelDir = join(repoRoot, 'var', 'models', 'demo');
const opportunityModelDir = join(repoRoot, 'var', 'models', 'demo-opportunities');
const registryDir = join(repoRoot, 'var', 'registry', 'demo');
const stateDir = join(repoRoot, 'var', 'state', 'demo', region);
const sidecarPort = Number(process.env.DEMO_SIDECAR_PORT ?? 8080);
const sidecarUrl = `http://127.0.0.1:${sidecarPort}`;
const sidecarClient = { clientId: 'leadrank-demo-ui', clientSecret: randomBytes(24).toString('base64url') };
const leadrankEnv: NodeJS.ProcessEnv = {
  REGION: region,
  SF_LOGIN_URL: sim.url,
  SF_CLIENT_ID: demoApp.clientId,
  SF_CLIENT_SECRET: demoApp.clientSecret,
  REDIS_URL: redisUrl,
  LEADRANK_REDIS_PREFIX: redisPrefix,
  LEADRANK_BATCH_PREFIX: redisPrefix,
  LEADRANK_BULLMQ_PREFIX: `${redisPrefix}-bull`,
  LEADRANK_MODEL_DIR: modelDir,
  // The deal model (trained and registered in step 6): `leadrank serve` and `leadrank opportunities batch` score
  // deals with it from its directory, as they score leads with LEADRANK_MODEL_DIR.
  LEADRANK_OPPORTUNITY_MODEL_DIR: opportunityModelDir,
  LEADRANK_STATE_DIR: stateDir,
  LEADRANK_AUDIT_DIR: join(repoRoot, 'var', 'audit', 'demo'),
  LEADRANK_SYNC_LEAD_FILTER: 'Source_Record_Id__c = null', // the generated CRM, not leads a client imported (`leadrank import`)
  LOG_LEVEL: process.env.LOG_LEVEL,
  // The demo's shared state (experiments, monitoring history) is SQLite under its state dir, fresh each run.
  DATABASE_URL: undefined,
};
const leadrank = (args: string[]) => run('leadrank', leadrankCli, args, leadrankEnv);

step('4. The client’s custom fields: a feature spec proposed from the org’s metadata and a sample');
// `features propose` reads the Lead describe and each field's classification, samples the fields metadata does
// not exclude, and says per field `use` (how it is read) or `skip` (why). The shipped lead model below keeps the
// shipped spec (config/features/lead.json); what the proposed fields add: docs/model.md, "Custom fields carry signal".
const proposedSpec = join(repoRoot, 'var', 'features', 'demo-lead-proposed.json');
mkdirSync(join(repoRoot, 'var', 'features'), { recursive: true });
const proposal = await leadrank(['features', 'propose', '--target', 'lead', '--out', proposedSpec]);
const clientFields = readdirSync(join(CUSTOM_FIELDS_METADATA_DIR, 'objects', 'Lead', 'fields')).map(
  (f) => f.split('.')[0]!,
);
const onClientField = proposal
  .split('\n')
  .map((line) => /^(use |skip)\s+(\w+)(?::\s*)?(.*)$/.exec(line))
  .filter((m): m is RegExpExecArray => m !== null && clientFields.includes(m[2]!));
const proposed = onClientField.filter((m) => m[1] === 'use ').map((m) => m[2]!);
const refused = onClientField
  .filter((m) => m[1] === 'skip')
  .map((m) => (m[3]!.startsWith(m[2]!) ? m[3]! : `${m[2]}: ${m[3]}`));
console.log(
  `the client's custom fields (${clientFields.join(', ')}): proposed ${proposed.join(', ') || 'none'}; ` +
    `refused ${refused.join('; ') || 'none'} → ${proposedSpec}`,
);

step(
  '5. A point-in-time training set from the org, the events and the daily extracts (one feature definition)',
);
const manifest = JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as { dataEnd: string };
const trainingDir = join(repoRoot, 'var', 'training', 'demo');
const built = lastJsonLine<{
  snapshots: number;
  leads: number;
  skippedLeads: number;
  positives: number;
  seconds: number;
}>(
  await leadrank([
    'training-set',
    'build',
    // Residency: the deployment's region learns from its own leads only (docs/operations.md).
    '--region',
    region,
    '--out',
    trainingDir,
    '--events',
    join(dataDir, 'events.ndjson.gz'),
    '--extracts',
    join(dataDir, 'extracts'),
    '--data-end',
    new Date(manifest.dataEnd).toISOString(),
    '--lead-filter',
    'Source_Record_Id__c = null',
    '--ground-truth',
    dataDir,
  ]),
);
console.log(
  `${built.snapshots} snapshots of ${built.leads - built.skippedLeads} leads (${built.positives} converted within ` +
    `30 days) in ${built.seconds.toFixed(1)} s → ${trainingDir}`,
);

step('6. Training: LightGBM, calibrated, exported to ONNX (Python); the drift baseline beside the model');
const trained = lastJsonLine<{ rocAuc: number | null; ece: number | null; ceilingRocAuc: number | null }>(
  await leadrank(['model', 'train', '--data', trainingDir, '--out', modelDir]),
);
const fmt = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
console.log(
  `test ROC-AUC ${fmt(trained.rocAuc)} (Bayes-optimal ceiling on the same rows ${fmt(trained.ceilingRocAuc)}), ` +
    `ECE ${fmt(trained.ece)}; report: ${join(modelDir, 'report.md')}`,
);
await leadrank(['monitoring', 'baseline', '--training-set', trainingDir, '--model-dir', modelDir]);
// The deal model: won among the region's closed opportunities (one snapshot per deal at creation).
const opportunityTrainingDir = join(repoRoot, 'var', 'training', 'demo-opportunities');
const dealSet = lastJsonLine<{ rows: number; won: number }>(
  await leadrank(['opportunities', 'training-set', '--region', region, '--out', opportunityTrainingDir]),
);
// Registered as the opportunity champion in the demo's registry (fresh each run), region US. Served, like the
// lead model, from its directory (LEADRANK_OPPORTUNITY_MODEL_DIR beside LEADRANK_MODEL_DIR).
rmSync(registryDir, { recursive: true, force: true });
const dealModel = lastJsonLine<{
  rocAuc: number | null;
  ece: number | null;
  registered?: { version: string; alias: string };
}>(
  await leadrank([
    'model',
    '--target',
    'opportunity',
    '--registry',
    registryDir,
    'train',
    '--register',
    'champion',
    '--data',
    opportunityTrainingDir,
    '--out',
    opportunityModelDir,
    '--params',
    join(repoRoot, 'config', 'training', 'opportunity-win.json'),
    '--region',
    region,
  ]),
);
// Where the champion alias landed: the region's registry (regions/<R>/) or the registry's root layout.
const registeredAt = [join(registryDir, 'regions', region), registryDir]
  .map((at) => join(at, 'targets', 'opportunity', 'aliases', 'champion.json'))
  .find((file) => existsSync(file));
console.log(
  `deal model: ${dealSet.rows} closed ${region} opportunities (${dealSet.won} won); test ROC-AUC ` +
    `${fmt(dealModel.rocAuc)}, ECE ${fmt(dealModel.ece)} → ${opportunityModelDir}; registered as ` +
    `${dealModel.registered?.alias ?? '(none)'} ${dealModel.registered?.version ?? ''} ` +
    `(${registeredAt ? relative(repoRoot, registeredAt) : 'alias not found'})`,
);

step(
  '7. The scoring sidecar (US deployment): `leadrank serve`, the org sync, the event stream, the extracts',
);
// The demo's namespace in Redis and its own state (experiments, monitoring history), emptied first.
const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
try {
  await redis.connect();
} catch {
  throw new Error(`the demo needs Redis at ${redisUrl}: npm run demo starts one, or set REDIS_URL`);
}
for (const pattern of [`${redisPrefix}:*`, `${redisPrefix}-bull:*`]) {
  for (let cursor = '0'; ;) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    if ((cursor = next) === '0') break;
  }
}
await redis.quit();
rmSync(stateDir, { recursive: true, force: true });
mkdirSync(stateDir, { recursive: true });
const apiEnv: NodeJS.ProcessEnv = {
  ...leadrankEnv,
  HOST: '127.0.0.1',
  LEADRANK_TOKEN_SIGNING_KEY: randomBytes(32).toString('base64url'),
  LEADRANK_CLIENTS: JSON.stringify([
    {
      clientId: sidecarClient.clientId,
      clientSecretSha256: createHash('sha256').update(sidecarClient.clientSecret).digest('hex'),
      region,
      name: 'demo',
    },
  ]),
};
startLeadrank('leadrank serve', ['serve', '--port', String(sidecarPort)], apiEnv);
for (let waited = 0; ; waited += 500) {
  const up = await fetch(`${sidecarUrl}/healthz`).then(
    (r) => r.ok,
    () => false,
  );
  if (up) break;
  if (waited > 120_000) throw new Error(`leadrank serve did not answer ${sidecarUrl}/healthz within 120 s`);
  await sleep(500);
}
const synced = lastJsonLine<{ upserted: number; accounts: number }>(
  await leadrank(['store', 'sync', '--full']),
);
// Event-driven score changes reach the org through the write-back queue, drained by its worker.
startLeadrank('leadrank worker', ['worker', '--roles', 'writeback', '--metrics-port', '0'], leadrankEnv);

const tokenRes = await fetch(`${sidecarUrl}/oauth/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: sidecarClient.clientId,
    client_secret: sidecarClient.clientSecret,
  }),
});
if (!tokenRes.ok) throw new Error(`/oauth/token: HTTP ${tokenRes.status} ${await tokenRes.text()}`);
const { access_token: token } = (await tokenRes.json()) as { access_token: string };
/**
 * One API call as a well-behaved client makes it: a 503 (the store did not answer within its timeout, on a busy
 * machine) or a 429 is retried after its Retry-After (else 1 s), up to 5 times; anything else not 2xx fails.
 */
const api = async <T = Record<string, unknown>>(path: string, init: RequestInit = {}): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${sidecarUrl}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers },
    });
    if ((res.status === 503 || res.status === 429) && attempt < 6) {
      const wait = Number(res.headers.get('retry-after')) || 1;
      console.log(`${path}: HTTP ${res.status}, retrying in ${wait} s (attempt ${attempt} of 5)`);
      await res.body?.cancel();
      await sleep(wait * 1000);
      continue;
    }
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json() as Promise<T>;
  }
};

// The marketing platform's event stream: the region's events, POSTed as it would (grouped by lead, so that each
// request rescores a few leads many events each).
const byLead = new Map<string, unknown[]>();
for await (const e of readNdjsonGz<{ leadId: string; region: string }>(join(dataDir, 'events.ndjson.gz'))) {
  if (e.region !== region) continue; // EU events belong to the EU deployment
  const list = byLead.get(e.leadId);
  if (list) list.push(e);
  else byLead.set(e.leadId, [e]);
}
const eventTotals = { posted: 0, applied: 0, rescored: 0, writebackQueued: 0 };
let batch: unknown[] = [];
const postEvents = async () => {
  if (batch.length === 0) return;
  const r = await api<{ applied: number; rescored: number; writebackQueued: number }>('/v1/events', {
    method: 'POST',
    body: JSON.stringify({ events: batch }),
  });
  eventTotals.posted += batch.length;
  eventTotals.applied += r.applied;
  eventTotals.rescored += r.rescored;
  eventTotals.writebackQueued += r.writebackQueued;
  batch = [];
};
for (const events of byLead.values()) {
  if (batch.length + events.length > 5_000) await postEvents();
  batch.push(...events);
}
await postEvents();
byLead.clear();

// The ERP and marketing systems' daily extracts, as the region's files (a `region` column), POSTed as CSV.
const usErpAccounts = new Set<string>();
for await (const a of readNdjsonGz<{ ERP_Account_Number__c: string | null; Data_Region__c: string }>(
  join(dataDir, 'accounts.ndjson.gz'),
))
  if (a.Data_Region__c === region && a.ERP_Account_Number__c) usErpAccounts.add(a.ERP_Account_Number__c);
const usLeads = new Set<string>();
for (const file of ['leads.ndjson.gz', 'leads-historical.ndjson.gz'])
  for await (const l of readNdjsonGz<{ Id: string; Data_Region__c: string }>(join(dataDir, file)))
    if (l.Data_Region__c === region) usLeads.add(l.Id);
/** One CSV of every day's file, the region's rows only (first column: the key), with `region` appended. */
async function regionExtract(kind: 'erp' | 'marketing', owned: Set<string>): Promise<string> {
  const dir = join(dataDir, 'extracts', kind);
  const lines: string[] = [];
  for (const file of readdirSync(dir).sort()) {
    let header = true;
    const rl = createInterface({ input: createReadStream(join(dir, file)).pipe(createGunzip()) });
    for await (const line of rl) {
      if (header) {
        if (lines.length === 0) lines.push(`${line},region`);
        header = false;
      } else if (line && owned.has(line.slice(0, line.indexOf(',')))) lines.push(`${line},${region}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
let extractRows = 0;
for (const [kind, owned] of [
  ['erp', usErpAccounts],
  ['marketing', usLeads],
] as const) {
  const r = await api<{ rows: number }>(`/v1/extracts/${kind}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/csv' },
    body: await regionExtract(kind, owned),
  });
  extractRows += r.rows;
}
console.log(
  `sidecar at ${sidecarUrl}: ${synced.upserted} open ${region} leads and ${synced.accounts} account links from the ` +
    `org (leadrank store sync --full); POST /v1/events: ${eventTotals.applied} of ${eventTotals.posted} engagement ` +
    `events applied, ${eventTotals.rescored} leads rescored, ${eventTotals.writebackQueued} score changes queued ` +
    `for write-back; POST /v1/extracts: ${extractRows} extract rows`,
);

step('8. Scores, reasons and a rep’s worklist from the API (OAuth 2.0 client credentials)');
const isRep = (id: string) => ownerName.has(id) && !ownerName.get(id)!.startsWith('Leadrank');
const busiestRep = sorted(counts.owner).find(([id]) => isRep(id))![0];
const worklist = await api<{
  items?: { rank: number; leadId: string; score: number; band: string; why?: string[] }[];
}>(`/v1/worklists/${busiestRep}`);
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
  const scored = await api<{ scores: unknown[] }>('/v1/score', {
    method: 'POST',
    body: JSON.stringify({ leads: [{ id: top.leadId }] }),
  });
  console.log('POST /v1/score for the top lead:', JSON.stringify(scored.scores[0], null, 2));
}

step(
  '9. A batch cycle: rescore the region’s open leads and write material changes back through Bulk API 2.0',
);
await leadrank(['batch', 'run', '--region', region]);
const written = await admin.query<Record<string, unknown>>(
  "SELECT Id, Lead_Score__c, Score_Band__c, Score_Source__c, Score_Model_Version__c, Next_Best_Action__c FROM Lead WHERE Lead_Score__c != null AND Data_Region__c = 'US' ORDER BY Lead_Score__c DESC LIMIT 5",
);
console.table(written.records.map(({ attributes: _a, ...r }) => r));
const history = await admin.query('SELECT COUNT() FROM Score_History__c');
console.log(`Score_History__c rows (material changes only): ${history.totalSize}`);
await leadrank(['writeback', 'status', '--region', region]);

step(
  '10. Opportunity scoring: open deals synced, rescored by the deal model and written back; one deal from the API',
);
const dealsSynced = lastJsonLine<{ upserted: number; stored: number }>(
  await leadrank(['opportunities', 'sync', '--full']),
);
const dealCycle = lastJsonLine<{
  extracted: number;
  scored: { model: number; rules: number };
  changes: number;
  written: number;
  historyWritten: number;
}>(await leadrank(['opportunities', 'batch']));
console.log(
  `${dealsSynced.stored} open ${region} deals in the opportunity store; batch: ${dealCycle.extracted} rescored ` +
    `(${dealCycle.scored.model} by model, ${dealCycle.scored.rules} by rules), ${dealCycle.changes} material ` +
    `changes, ${dealCycle.written} Opportunity rows and ${dealCycle.historyWritten} Score_History__c rows written`,
);
const topDeals = await admin.query<Record<string, unknown>>(
  `SELECT Id, Name, StageName, Amount, Opportunity_Score__c, Score_Band__c, Next_Best_Action__c FROM Opportunity WHERE IsClosed = false AND Opportunity_Score__c != null AND Data_Region__c = '${region}' ORDER BY Opportunity_Score__c DESC LIMIT 5`,
);
console.table(topDeals.records.map(({ attributes: _a, ...r }) => r));
const topDeal = topDeals.records[0]?.Id as string | undefined;
if (topDeal) {
  const dealScore = await api<{
    scores: {
      score: number;
      band: string;
      source: string;
      reasonLines?: string[];
      nextBestAction?: { label: string } | null;
    }[];
  }>('/v1/score', { method: 'POST', body: JSON.stringify({ object: 'Opportunity', id: topDeal }) });
  const d = dealScore.scores[0]!;
  console.log(
    `POST /v1/score {"object": "Opportunity", "id": "${topDeal}"}: score ${d.score} (${d.band}, by ${d.source}); ` +
      `${(d.reasonLines ?? []).slice(0, 3).join('; ')}; next: ${d.nextBestAction?.label ?? 'none'}`,
  );
}

step('11. An experiment (model vs rules ranking, canary at 50 %) and the RevOps dashboard');
const definitionFile = join(repoRoot, 'config', 'experiments', 'model-vs-rules.json');
const experimentId = (JSON.parse(readFileSync(definitionFile, 'utf8')) as { id: string }).id;
await leadrank(['experiment', 'create', '--file', definitionFile]);
let share = Number(/share ([\d.]+)/.exec(await leadrank(['experiment', 'canary', experimentId]))?.[1] ?? 0);
while (share < 0.5)
  share = Number(/share ([\d.]+)/.exec(await leadrank(['experiment', 'widen', experimentId]))?.[1] ?? 1);
const demoReps = sorted(counts.owner)
  .filter(([id]) => isRep(id))
  .slice(0, 20);
type Served = { experiment: { arm: 'control' | 'treatment' } | null };
// The API re-reads experiments every few seconds (config/monitoring.json experimentsRefreshSeconds).
for (let waited = 0; (await api<Served>(`/v1/worklists/${busiestRep}`)).experiment === null; waited += 1000) {
  if (waited > 60_000) throw new Error('the API did not pick up the experiment within 60 s');
  await sleep(1000);
}
const arms = { control: 0, treatment: 0 };
for (const [rep] of demoReps) {
  const served = await api<Served>(`/v1/worklists/${rep}`);
  if (served.experiment) arms[served.experiment.arm] += 1;
}
console.log(
  `${experimentId}: canary at ${share}; ${demoReps.length} reps' worklists served (${arms.treatment} treatment = ` +
    `model ranking, ${arms.control} control = rules ranking)`,
);
await leadrank(['experiment', 'status', experimentId]);
console.log(`RevOps dashboard (this run's cycle, scores, drift and experiment): ${sidecarUrl}/dashboard/`);

step('12. The rep’s day in the package’s Lightning web components (local preview)');
const preview = await startPreviewServer({
  port: Number(process.env.DEMO_PREVIEW_PORT ?? 8790),
  sidecarUrl,
  sidecarClient,
  orgUrl: sim.url,
  orgClient: demoApp,
  logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
});
console.log(`open ${preview.url}?rep=${busiestRep}`);

const stopAll = async () => {
  stopping = true;
  for (const { name, child } of processes.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    const exited = await Promise.race([
      once(child, 'exit').then(() => true),
      sleep(10_000).then(() => false),
    ]);
    if (!exited) {
      console.error(`${name} did not stop within 10 s: killed`);
      killGroup(child, 'SIGKILL');
    }
  }
  for (const [name, close] of [
    ['preview', () => preview.close()],
    ['org simulator', () => sim.close()],
  ] as const) {
    const closed = await Promise.race([close().then(() => true), sleep(5_000).then(() => false)]);
    if (!closed) console.error(`the ${name} did not close within 5 s`);
  }
};
console.log(`\ndemo ran in ${((Date.now() - demoStarted) / 1000).toFixed(0)} s`);
if (opts.once) {
  await stopAll();
  process.exit(0);
} else {
  console.log(
    `\nServing: org simulator ${sim.url} (client id ${demoApp.clientId}), sidecar ${sidecarUrl}, ` +
      `preview ${preview.url}, RevOps dashboard ${sidecarUrl}/dashboard/. Ctrl-C to stop.`,
  );
  process.on('SIGINT', () => void stopAll().then(() => process.exit(0)));
}
