// Online scoring benchmark: `leadrank serve --workers 2` over a real Redis holding N leads, loaded from a separate
// process with evenly paced open-loop load (undici; each latency counts from the request's due time, so a slow
// server cannot slow the offer down). One run prints, with the machine and its load average:
//   - the stage floor, measured in-process: CPU of one Redis read + one batch-1 inference + one TreeSHAP row + one
//     audit line (appended and committed as the sidecar does);
//   - TreeSHAP rows/s per core (blocked and one row at a time) against LightGBM's own pred_contrib on the same
//     rows and model (the project's Python venv);
//   - sidecar CPU per request at 250, 1,000 and --rate (3,500) req/s paced, beside the floor;
//   - p50/p99 at 500 req/s paced; the paced --duration (60 s) run at --rate;
//   - the highest paced step with p99 <= 25 ms and with p99 <= 250 ms;
//   - GET /v1/worklists/:repId with 200 candidates (p50/p99, CPU per request);
//   - the audit keys: every run above scores leads whose audit key exists (as in production, where the batch cycle
//     rescores every active lead every 4 h and so keys each one; the bench creates them once and keeps them, like
//     the leads in Redis); the "cold" phase then scores at the latency rate with an empty key store, so that every
//     request creates its lead's key on the request path (a lead never scored before);
//   - optionally the peer (bench/peer: FastAPI + uvicorn 2 workers, uvloop, orjson + LightGBM pred_contrib reading
//     a ready vector from Redis, in its own venv created here) under the same load generator, and the ratios.
// Last line JSON. `--quick` is a smoke run (small, short, no peer unless --peer) that a test runs so this cannot rot.
// Usage: npx tsx bench/online.ts [--leads 2500000] [--rate 3500] [--duration 60] [--workers 2] [--no-peer]
//          [--phases floor,explain,cpu,latency,main,steps,worklist,cold,peer] [--audit-fsync batch|interval|none]
//          [--audit-key-store directory|postgres] [--audit-key-db <url>]
//          [--sidecar-root <checkout>] [--cpu-prof <dir>] [--quick]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { pino } from 'pino';
import {
  featureHash,
  openAuditLog,
  openDatabaseKeyStore,
  openDirectoryKeyStore,
} from '../scoring-sidecar/src/audit/index.js';
import pg from 'pg';
import { describeSummary, summarizeProfiles } from './cpu-profile-summary.js';
import { computeFeatures, encodeFeatures } from '../scoring-sidecar/src/features/index.js';
import { createRedisWorklistIndex } from '../scoring-sidecar/src/ranking/index.js';
import { loadServingModel, type ServingModel } from '../scoring-sidecar/src/scoring/model-source.js';
import { createRedisStore } from '../scoring-sidecar/src/store/index.js';
import {
  leadIdOf,
  leadrankPython,
  seeded,
  syntheticLead,
  trainSyntheticModel,
  worklistLeadOf,
} from '../scoring-sidecar/test/api-test-kit.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'bench-secret';
const SIGNING_KEY = 'bench-signing-key-0123456789abcdef0123456789';
const REP_ID = '005BENCH0000001AAA';
const PHASES = ['floor', 'explain', 'cpu', 'latency', 'main', 'steps', 'worklist', 'cold', 'peer'] as const;
type Phase = (typeof PHASES)[number];

interface Options {
  leads: number;
  rate: number;
  duration: number;
  stepDuration: number;
  steps: string;
  cpuRates: string;
  cpuDuration: number;
  latencyRate: number;
  latencyDuration: number;
  worklistDuration: number;
  workers: number;
  connections: number;
  port: number;
  peerPort: number;
  redisUrl: string;
  prefix: string;
  benchDir: string;
  auditFsync: string;
  auditKeyStore: string;
  auditKeyDb?: string;
  phases: string;
  peer: boolean;
  quick: boolean;
  sidecarRoot: string;
  cpuProf?: string;
  worklistRate: number;
  // internal: the load generator process
  loadGenerator: boolean;
  target: 'score' | 'peer' | 'worklist';
  url: string;
  token: string;
}

const opts = new Command()
  .option('--leads <n>', 'leads in Redis', (v) => Number(v), 2_500_000)
  .option('--rate <n>', 'offered requests/s of the main run', (v) => Number(v), 3500)
  .option('--duration <s>', 'main run seconds', (v) => Number(v), 60)
  .option('--cpu-rates <list>', 'paced rates whose CPU per request is printed (besides --rate)', '250,1000')
  .option('--cpu-duration <s>', 'seconds per CPU-per-request run', (v) => Number(v), 15)
  .option('--latency-rate <n>', 'the paced rate of the p50/p99 run', (v) => Number(v), 500)
  .option('--latency-duration <s>', 'seconds of the p50/p99 run', (v) => Number(v), 20)
  .option('--step-duration <s>', 'seconds per step when searching the highest rates', (v) => Number(v), 10)
  .option(
    '--steps <list>',
    'paced rates to step through',
    '150,250,500,750,1000,1500,2000,2500,3000,3500,4000',
  )
  .option('--worklist-rate <n>', 'GET /v1/worklists/:repId requests/s', (v) => Number(v), 20)
  .option('--worklist-duration <s>', 'seconds of the worklist run', (v) => Number(v), 15)
  .option('--workers <n>', 'sidecar processes (node:cluster)', (v) => Number(v), 2)
  .option('--connections <n>', 'load generator connections', (v) => Number(v), 64)
  .option('--port <n>', 'sidecar port', (v) => Number(v), 18080)
  .option('--peer-port <n>', 'FastAPI peer port', (v) => Number(v), 18090)
  .option('--audit-fsync <mode>', 'the sidecar audit log fsync policy: batch | interval | none', 'batch')
  .option('--phases <list>', `what to run, of ${PHASES.join(',')}`, PHASES.join(','))
  .option('--audit-key-store <kind>', 'the sidecar audit key store: directory | postgres', 'directory')
  .option(
    '--audit-key-db <url>',
    'PostgreSQL server of --audit-key-store postgres (the bench creates its own databases there)',
    process.env.LEADRANK_AUDIT_KEY_DATABASE_URL ?? process.env.DATABASE_URL,
  )
  .option('--peer', 'run the FastAPI peer column (the default, except with --quick)')
  .option('--no-peer', 'skip the FastAPI peer column')
  .option('--quick', 'smoke run: few leads, short runs, low rates, no peer unless --peer is given', false)
  .option(
    '--sidecar-root <dir>',
    'checkout whose scoring-sidecar is measured (baseline comparisons)',
    repoRoot,
  )
  .option('--cpu-prof <dir>', 'write V8 CPU profiles of the sidecar processes there')
  .option('--redis-url <url>', 'Redis', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  .option('--prefix <p>', 'Redis key prefix of the bench data (kept between runs)', 'lrbench')
  .option('--bench-dir <dir>', 'model and audit directory', join(repoRoot, 'var', 'bench', 'online'))
  .option('--load-generator', 'internal: run as the load generator', false)
  .option('--target <t>', 'internal: score | peer | worklist', 'score')
  .option('--url <url>', 'internal', '')
  .option('--token <t>', 'internal', '')
  .parse(process.argv)
  .opts() as Options;

if (opts.quick && !opts.loadGenerator) {
  const given = (flag: string) => process.argv.includes(flag);
  if (!given('--leads')) opts.leads = 2000;
  if (!given('--rate')) opts.rate = 200;
  if (!given('--duration')) opts.duration = 2;
  if (!given('--cpu-rates')) opts.cpuRates = '50';
  if (!given('--cpu-duration')) opts.cpuDuration = 2;
  if (!given('--latency-rate')) opts.latencyRate = 100;
  if (!given('--latency-duration')) opts.latencyDuration = 2;
  if (!given('--worklist-duration')) opts.worklistDuration = 2;
  if (!given('--step-duration')) opts.stepDuration = 2;
  if (!given('--steps')) opts.steps = '100,200';
  if (!given('--worklist-rate')) opts.worklistRate = 5;
  if (!given('--workers')) opts.workers = 1;
  if (!given('--connections')) opts.connections = 8;
}
opts.peer = opts.quick ? process.argv.includes('--peer') : opts.peer !== false;
const phases = new Set(opts.phases.split(',') as Phase[]);
for (const p of phases) if (!PHASES.includes(p)) throw new Error(`--phases: unknown phase "${p}"`);

function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]): { p50: number; p99: number; text: string } {
  const s = [...samples].sort((a, b) => a - b);
  const p50 = percentile(s, 50);
  const p99 = percentile(s, 99);
  return { p50, p99, text: `p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms` };
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

// ---- the load generator (separate process) ----

/**
 * Open-loop, evenly paced load: request i is due at i / rate seconds and its latency counts from then, so a
 * slow server cannot slow the offer down (no coordinated omission).
 */
async function pacedLoad(): Promise<void> {
  const pool = new Pool(opts.url, { connections: opts.connections, pipelining: 1 });
  const rand = seeded(99);
  const auth = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const headers = { 'content-type': 'application/json', ...auth };
  const total = Math.max(1, Math.round(opts.rate * opts.duration));
  const latencies = new Float64Array(total);
  let sent = 0;
  let done = 0;
  let errors = 0;
  const failures: Record<string, number> = {}; // non-200 answers by status ("network" when none came)
  const fail = (why: string) => {
    errors++;
    failures[why] = (failures[why] ?? 0) + 1;
  };
  // Open every connection before the clock starts: connecting sockets while requests fall due would be
  // counted as the server's latency.
  await Promise.all(
    Array.from({ length: opts.connections }, () =>
      pool.request({ path: '/healthz', method: 'GET' }).then((res) => res.body.dump()),
    ),
  );
  const request = () =>
    opts.target === 'worklist'
      ? pool.request({ path: `/v1/worklists/${REP_ID}`, method: 'GET', headers: auth })
      : pool.request({
          path: opts.target === 'peer' ? '/score' : '/v1/score',
          method: 'POST',
          headers,
          body: JSON.stringify({ id: leadIdOf(Math.floor(rand() * opts.leads)) }),
        });
  const cpuBefore = process.cpuUsage(); // the run's own CPU, not the start-up's
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const send = (i: number, dueAt: number) => {
      request()
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 200) fail(String(res.statusCode));
        })
        .catch(() => fail('network'))
        .finally(() => {
          latencies[i] = performance.now() - dueAt;
          if (++done === total) resolve();
        });
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * opts.rate) + 1);
      while (sent < due) send(sent, started + (sent++ * 1000) / opts.rate);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await pool.close();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      requests: total,
      achieved: total / Math.max(opts.duration, elapsed),
      p50: round(percentile(sorted, 50), 2),
      p99: round(percentile(sorted, 99), 2),
      max: round(sorted[sorted.length - 1]!, 1),
      errors,
      failures,
      loadCpuShare: (cpu.user + cpu.system) / 1e6 / elapsed,
    })}\n`,
  );
}

// ---- orchestration ----
function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}`;
}

const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

/** CPU seconds (user + system) of a process and its children, from /proc. */
function cpuSecondsOfTree(pid: number): number {
  const tick = 100; // USER_HZ on Linux
  const own = (p: number): number => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      return 0;
    }
  };
  const children = (p: number): number[] => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  };
  const walk = (p: number): number => own(p) + children(p).reduce((sum, c) => sum + walk(c), 0);
  return walk(pid);
}

async function ensureModel(): Promise<string> {
  const modelDir = join(opts.benchDir, 'model');
  if (existsSync(join(modelDir, 'model.txt'))) return modelDir;
  await rm(opts.benchDir, { recursive: true, force: true });
  await mkdir(opts.benchDir, { recursive: true });
  // The synthetic set through the real feature path; then the LightGBM family only (model selection may prefer
  // the logistic model on this data, and the bench is about trees), keeping LightGBM's model.txt for the peer.
  await trainSyntheticModel(opts.benchDir, opts.quick ? 3000 : 20_000);
  const trained = execFileSync(
    leadrankPython(),
    [join(repoRoot, 'bench/peer/model_tools.py'), 'train', join(opts.benchDir, 'data'), modelDir],
    { cwd: repoRoot, env: { ...process.env, PYTHONPATH: join(repoRoot, 'training') }, encoding: 'utf8' },
  );
  console.log(`model: ${trained.trim().split('\n').pop()}`);
  return modelDir;
}

async function ensureLeads(): Promise<void> {
  const redis = new Redis(opts.redisUrl);
  const marker = `${opts.prefix}:bench:loaded`;
  const loaded = Number((await redis.get(marker)) ?? 0);
  if (loaded >= opts.leads) {
    console.log(`redis: ${loaded} leads already loaded under ${opts.prefix}`);
    await redis.quit();
    return;
  }
  const store = createRedisStore(opts.redisUrl, 'US', {
    keyPrefix: opts.prefix,
    logger: pino({ level: 'warn' }),
  });
  const rand = seeded(1);
  const now = Date.now();
  const started = performance.now();
  const chunk = 2000;
  const inFlight: Promise<void>[] = [];
  for (let start = loaded; start < opts.leads; start += chunk) {
    const leads = [];
    for (let i = start; i < Math.min(opts.leads, start + chunk); i++)
      leads.push(syntheticLead(i, 'US', now, rand));
    inFlight.push(store.putLeads(leads));
    if (inFlight.length >= 8) await inFlight.shift();
    if ((start / chunk) % 100 === 0) await redis.set(marker, String(start));
  }
  await Promise.all(inFlight);
  await redis.set(marker, String(opts.leads));
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `redis: loaded ${opts.leads - loaded} leads in ${seconds.toFixed(1)} s (${Math.round((opts.leads - loaded) / seconds)}/s)`,
  );
  await store.close();
  await redis.quit();
}

/** The sidecar's environment for an audit key store: every bench lead keyed ("warm"), or an empty one ("cold"). */
type KeyTarget = Record<string, string>;

/** The key database `name` on the --audit-key-db server, created when missing (dropped first when `fresh`). */
async function keyDatabase(name: string, fresh: boolean): Promise<string> {
  if (!opts.auditKeyDb) throw new Error('--audit-key-store postgres needs --audit-key-db (or DATABASE_URL)');
  const admin = new pg.Client({ connectionString: opts.auditKeyDb });
  await admin.connect();
  try {
    if (fresh) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    const held = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (held.rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(opts.auditKeyDb);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Every bench lead keyed, kept between runs like the leads in Redis (a marker counts the leads keyed). */
async function warmKeys(): Promise<KeyTarget> {
  const database = opts.auditKeyStore === 'postgres';
  const dir = join(opts.benchDir, 'audit-keys-warm');
  const url = database ? await keyDatabase(`${opts.prefix}_audit_keys`, false) : '';
  const keys = database ? await openDatabaseKeyStore(url) : openDirectoryKeyStore(dir);
  const where = database ? `database ${opts.prefix}_audit_keys` : dir;
  const marker = join(opts.benchDir, `audit-keys-warm.${opts.auditKeyStore}.count`);
  const keyed = existsSync(marker) ? Number(readFileSync(marker, 'utf8')) : 0;
  const started = performance.now();
  // Up to 2,000 asked at once: the database store coalesces the keys asked in one turn into one statement.
  for (let start = keyed; start < opts.leads; start += 2000) {
    const ids = Array.from({ length: Math.min(2000, opts.leads - start) }, (_, i) => leadIdOf(start + i));
    await Promise.all(ids.map(async (id) => keys.keyFor(await keys.subjectOf(id))));
    if (start % 100_000 === 0) writeFileSync(marker, String(start));
  }
  writeFileSync(marker, String(Math.max(keyed, opts.leads)));
  await keys.close?.();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    keyed >= opts.leads
      ? `audit keys: ${keyed} leads already keyed in ${where}`
      : `audit keys: keyed ${opts.leads - keyed} leads in ${seconds.toFixed(1)} s (${Math.round((opts.leads - keyed) / seconds)}/s) in ${where}`,
  );
  return database
    ? { LEADRANK_AUDIT_KEY_STORE: 'postgres', LEADRANK_AUDIT_KEY_DATABASE_URL: url }
    : { LEADRANK_AUDIT_KEY_STORE: 'directory', LEADRANK_AUDIT_KEY_DIR: dir };
}

/** An empty key store of the same kind: every lead scored gets its key on the request path. */
async function coldKeys(): Promise<KeyTarget> {
  if (opts.auditKeyStore === 'postgres')
    return {
      LEADRANK_AUDIT_KEY_STORE: 'postgres',
      LEADRANK_AUDIT_KEY_DATABASE_URL: await keyDatabase(`${opts.prefix}_audit_keys_cold`, true),
    };
  const dir = join(opts.benchDir, 'audit-keys-cold');
  await rm(dir, { recursive: true, force: true });
  return { LEADRANK_AUDIT_KEY_STORE: 'directory', LEADRANK_AUDIT_KEY_DIR: dir };
}

/** The encoded vectors of leads [0, n) as the sidecar computes them from the store. */
async function vectorsOf(model: ServingModel, n: number): Promise<Float64Array> {
  const width = model.features.length;
  const out = new Float64Array(n * width);
  for (let start = 0; start < n; start += 1000)
    out.set(await vectorsOfRange(model, start, Math.min(1000, n - start)), start * width);
  return out;
}

/** CPU-ms per call of `work` (process CPU: onnxruntime's threads count) and its wall latencies. */
async function cpuPerCall(
  n: number,
  work: (i: number) => Promise<unknown> | unknown,
): Promise<{ cpuMs: number; wall: ReturnType<typeof summary> }> {
  for (let i = 0; i < Math.min(200, n); i++) await work(i); // warm-up
  const wall: number[] = [];
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await work(i);
    wall.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(before);
  return { cpuMs: (cpu.user + cpu.system) / 1000 / n, wall: summary(wall) };
}

interface Floor {
  redisReadMs: number;
  inferenceMs: number;
  treeShapRowMs: number;
  auditLineMs: number;
  totalMs: number;
}

/** The stage floor: what one request cannot do without, each stage alone, in this process. */
async function stageFloor(modelDir: string): Promise<Floor> {
  const n = opts.quick ? 300 : 3000;
  const model = await loadServingModel(modelDir);
  const width = model.features.length;
  const vectors = await vectorsOf(model, Math.min(opts.leads, 1000));
  const rows = vectors.length / width;
  const row32 = (i: number) =>
    Float32Array.from(vectors.subarray((i % rows) * width, ((i % rows) + 1) * width));
  const store = createRedisStore(opts.redisUrl, 'US', {
    keyPrefix: opts.prefix,
    logger: pino({ level: 'warn' }),
  });
  const rand = seeded(5);
  const read = await cpuPerCall(n, () => store.getLeadStates([leadIdOf(Math.floor(rand() * opts.leads))]));
  const infer = await cpuPerCall(n, (i) => model.predict(row32(i), 1));
  const shap = await cpuPerCall(n, (i) =>
    model.explainer.explain(vectors.subarray((i % rows) * width, ((i % rows) + 1) * width)),
  );
  const auditDir = await mkdtemp(join(os.tmpdir(), 'leadrank-bench-audit-'));
  const audit = await openAuditLog({
    dir: auditDir,
    region: 'US',
    fsync: opts.auditFsync as 'batch' | 'interval' | 'none',
  });
  const names = model.features.map((f) => f.name);
  const line = await cpuPerCall(n, (i) => {
    const vector = Array.from(vectors.subarray((i % rows) * width, ((i % rows) + 1) * width), (x) =>
      Number.isNaN(x) ? null : x,
    );
    return audit.append([
      {
        requestId: `bench-${i}`,
        caller: 'bench',
        leadId: leadIdOf(i % rows),
        region: 'US',
        modelVersion: model.version,
        source: 'model',
        featureVector: vector,
        featureNames: names,
        featureHash: featureHash(vector, model.spec.hash),
        score: 50,
        band: 'B',
        probability: 0.5,
        reasons: ['+ Visited the pricing page 3 times', '+ Referral', '- Free e-mail domain'],
        nextBestAction: 'Call now: hot inbound lead',
        scoredAt: new Date().toISOString(),
      },
    ]);
  });
  await audit.close();
  await rm(auditDir, { recursive: true, force: true });
  await store.close();
  await model.close();
  console.log(
    `stage floor (in-process, one at a time): Redis read of one lead ${read.cpuMs.toFixed(3)} CPU-ms (${read.wall.text}); ` +
      `batch-1 inference ${infer.cpuMs.toFixed(3)} CPU-ms (${infer.wall.text}); one TreeSHAP row ${shap.cpuMs.toFixed(3)} CPU-ms (${shap.wall.text}); ` +
      `one audit line (fsync ${opts.auditFsync}) ${line.cpuMs.toFixed(3)} CPU-ms (${line.wall.text})`,
  );
  const floor = {
    redisReadMs: round(read.cpuMs),
    inferenceMs: round(infer.cpuMs),
    treeShapRowMs: round(shap.cpuMs),
    auditLineMs: round(line.cpuMs),
    totalMs: round(read.cpuMs + infer.cpuMs + shap.cpuMs + line.cpuMs),
  };
  console.log(`stage floor total: ${floor.totalMs} CPU-ms per request`);
  return floor;
}

/** TreeSHAP rows/s per core (blocked as the sidecar batches, and one row at a time) vs LightGBM pred_contrib. */
async function explainRates(modelDir: string): Promise<Record<string, number | null>> {
  const model = await loadServingModel(modelDir);
  const width = model.features.length;
  const nRows = Math.min(opts.leads, opts.quick ? 500 : 5000);
  const single = Math.min(nRows, opts.quick ? 100 : 1000);
  const rows = await vectorsOf(model, nRows);
  model.explainer.explainBatch(rows.subarray(0, Math.min(nRows, 200) * width), Math.min(nRows, 200));
  let before = process.cpuUsage();
  const blocked = model.explainer.explainBatch(rows, nRows);
  let cpu = process.cpuUsage(before);
  const batchedRate = nRows / ((cpu.user + cpu.system) / 1e6);
  before = process.cpuUsage();
  for (let r = 0; r < single; r++) model.explainer.explain(rows.subarray(r * width, (r + 1) * width));
  cpu = process.cpuUsage(before);
  const singleRate = single / ((cpu.user + cpu.system) / 1e6);
  await model.close();
  const rowsFile = join(opts.benchDir, 'explain-rows.f64');
  writeFileSync(rowsFile, Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength));
  type Contrib = { batched_rows_per_s: number; single_rows_per_s: number };
  let lgb = null as Contrib | null;
  try {
    const out = execFileSync(
      leadrankPython(),
      [
        join(repoRoot, 'bench/peer/model_tools.py'),
        'contrib',
        join(modelDir, 'model.txt'),
        rowsFile,
        String(width),
        String(single),
      ],
      { encoding: 'utf8' },
    );
    lgb = JSON.parse(out.trim().split('\n').pop()!) as Contrib;
  } catch (error) {
    console.log(`LightGBM pred_contrib not timed: ${(error as Error).message.split('\n')[0]}`);
  }
  // Exactness in the same run: the sum of each row's contributions is the raw margin (efficiency).
  const sum = blocked.subarray(0, width + 1).reduce((a, b) => a + b, 0);
  console.log(
    `TreeSHAP (${model.explainer.treeCount} trees, ${width} features, ${nRows} store leads): blocked ${Math.round(batchedRate)} rows/s per core, ` +
      `one row at a time ${Math.round(singleRate)} rows/s per core` +
      (lgb
        ? `; LightGBM ${'pred_contrib'} (1 thread): batched ${Math.round(lgb.batched_rows_per_s)} rows/s, one row at a time ${Math.round(lgb.single_rows_per_s)} rows/s; ` +
          `ratio ${(batchedRate / lgb.batched_rows_per_s).toFixed(1)}x batched, ${(singleRate / lgb.single_rows_per_s).toFixed(1)}x one row`
        : '') +
      ` (row 0 margin ${sum.toFixed(6)})`,
  );
  return {
    treeshap_rows_per_s_blocked: Math.round(batchedRate),
    treeshap_rows_per_s_single: Math.round(singleRate),
    lightgbm_pred_contrib_rows_per_s_batched: lgb ? Math.round(lgb.batched_rows_per_s) : null,
    lightgbm_pred_contrib_rows_per_s_single: lgb ? Math.round(lgb.single_rows_per_s) : null,
  };
}

async function waitReady(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const ready = await fetch(url);
      if (ready.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  child.kill();
  throw new Error(`${what} did not become ready`);
}

/** Seconds from the sidecar's spawn to its readiness (the start-up its CPU profiles begin with). */
let sidecarStartSeconds = 0;

async function startSidecar(modelDir: string, auditDir: string, keys: KeyTarget): Promise<ChildProcess> {
  const spawnedAt = performance.now();
  const clients = [
    {
      clientId: 'bench',
      clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
      region: 'US',
      name: 'bench',
    },
  ];
  const prof = opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : [];
  const cli = join(opts.sidecarRoot, 'scoring-sidecar/src/cli.ts');
  const child = spawn(
    process.execPath,
    [...prof, '--import', 'tsx', cli, 'serve', '--workers', String(opts.workers)],
    {
      cwd: opts.sidecarRoot,
      env: {
        ...process.env,
        REGION: 'US',
        PORT: String(opts.port),
        HOST: '127.0.0.1',
        REDIS_URL: opts.redisUrl,
        LEADRANK_REDIS_PREFIX: opts.prefix,
        LEADRANK_BULLMQ_PREFIX: opts.prefix,
        LEADRANK_MODEL_DIR: modelDir,
        LEADRANK_AUDIT_DIR: auditDir,
        LEADRANK_AUDIT_FSYNC: opts.auditFsync,
        ...keys,
        LEADRANK_CLIENTS: JSON.stringify(clients),
        LEADRANK_TOKEN_SIGNING_KEY: SIGNING_KEY,
        LEADRANK_STATE_DIR: join(auditDir, '..', 'state'),
        DATABASE_URL: '', // the embedded stores in the state dir: the bench leaves the shared PostgreSQL alone
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  await waitReady(`http://127.0.0.1:${opts.port}/readyz`, child, 'the sidecar');
  sidecarStartSeconds = (performance.now() - spawnedAt) / 1000;
  return child;
}

async function tokenOf(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${opts.port}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=bench&client_secret=${SECRET}`,
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
}

interface RunResult {
  requests: number;
  achieved: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** The errors by HTTP status ("network" when no answer came). */
  failures: Record<string, number>;
  /** CPU of the load generator over the run, in cores (it shares the machine with the server). */
  loadCpuShare: number;
  /** CPU-ms of the server's processes per achieved request. */
  cpuMsPerRequest: number;
}

/** A paced run from a separate load generator process, with the server tree's CPU over it. */
function runLoad(
  target: Options['target'],
  port: number,
  serverPid: number,
  rate: number,
  duration: number,
  token: string,
): RunResult {
  const cpuBefore = cpuSecondsOfTree(serverPid);
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--load-generator',
      '--target',
      target,
      '--url',
      `http://127.0.0.1:${port}`,
      '--token',
      token,
      '--rate',
      String(rate),
      '--duration',
      String(duration),
      '--leads',
      String(target === 'peer' ? peerLeads() : opts.leads),
      '--connections',
      String(opts.connections),
    ],
    { cwd: repoRoot, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 },
  );
  // The server's CPU from the load generator's start to its end, over the requests sent (the start-up's idle
  // seconds count too: a little above the truth, never below).
  const cpuSeconds = cpuSecondsOfTree(serverPid) - cpuBefore;
  const run = JSON.parse(out.trim().split('\n').pop()!) as Omit<RunResult, 'cpuMsPerRequest'>;
  return { ...run, cpuMsPerRequest: (cpuSeconds * 1000) / Math.max(1, run.requests) };
}

const describeRun = (r: RunResult) =>
  `achieved ${r.achieved.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, errors ${r.errors}` +
  (r.errors > 0
    ? ` (${Object.entries(r.failures)
        .map(([status, n]) => `${n} x ${status}`)
        .join(', ')})`
    : '') +
  ', ' +
  `server CPU ${r.cpuMsPerRequest.toFixed(3)} ms per request, load generator ${(r.loadCpuShare * 100).toFixed(0)} % of a core`;

/** Steps up the paced rate: the highest step with p99 <= 25 ms and with p99 <= 250 ms (all requests answered). */
function stepSearch(label: string, run: (rate: number) => RunResult): { under25: number; under250: number } {
  let under25 = 0;
  let under250 = 0;
  let missed25 = false; // the highest step of an unbroken run from the bottom, for each bound
  for (const rate of opts.steps.split(',').map(Number)) {
    const step = run(rate);
    const delivered = step.errors === 0 && step.achieved >= rate * 0.95;
    const ok25 = delivered && step.p99 <= 25;
    const ok250 = delivered && step.p99 <= 250;
    console.log(
      `${label} step ${rate} req/s: ${describeRun(step)} ${ok25 ? 'p99<=25' : ok250 ? 'p99<=250' : 'MISSED'}`,
    );
    if (!ok25) missed25 = true;
    if (ok25 && !missed25) under25 = rate;
    if (ok250) under250 = rate;
    if (!ok250) break;
  }
  return { under25, under250 };
}

/** Profile seconds to leave out: the sidecar's start-up and the warm-up run. */
let profileSkipSeconds = 0;

const peerLeads = () => Math.min(opts.leads, 100_000);

/** The FastAPI peer's venv (bench/peer/.venv), created on first use from the pinned requirements. */
function peerPython(): string | null {
  const dir = join(repoRoot, 'bench/peer/.venv');
  const python = join(dir, 'bin/python');
  const stamp = join(dir, 'requirements.installed');
  const wanted = readFileSync(join(repoRoot, 'bench/peer/requirements.txt'), 'utf8');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return python;
  try {
    console.log('peer: creating bench/peer/.venv (pip install -r bench/peer/requirements.txt)');
    if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', dir], { stdio: 'pipe' });
    execFileSync(
      python,
      ['-m', 'pip', 'install', '-q', '-r', join(repoRoot, 'bench/peer/requirements.txt')],
      {
        stdio: 'pipe',
        timeout: 600_000,
      },
    );
    writeFileSync(stamp, wanted);
    return python;
  } catch (error) {
    console.log(
      `peer column skipped: its venv could not be installed (${(error as Error).message.split('\n')[0]})`,
    );
    return null;
  }
}

/** The peer's ready vectors: float32 bytes of the encoded vector of each of the first leads, under lrpeer:v:<id>. */
async function loadPeerVectors(modelDir: string): Promise<void> {
  const redis = new Redis(opts.redisUrl);
  const marker = `${opts.prefix}:peer:loaded`;
  const n = peerLeads();
  if (Number((await redis.get(marker)) ?? 0) >= n) {
    await redis.quit();
    return;
  }
  const model = await loadServingModel(modelDir);
  const width = model.features.length;
  for (let start = 0; start < n; start += 5000) {
    const count = Math.min(5000, n - start);
    const rows = await vectorsOfRange(model, start, count);
    const p = redis.pipeline();
    for (let i = 0; i < count; i++)
      p.set(
        `${opts.prefix}:peer:v:${leadIdOf(start + i)}`,
        Buffer.from(Float32Array.from(rows.subarray(i * width, (i + 1) * width)).buffer),
      );
    await p.exec();
  }
  await redis.set(marker, String(n));
  await model.close();
  await redis.quit();
}

async function vectorsOfRange(model: ServingModel, start: number, count: number): Promise<Float64Array> {
  const store = createRedisStore(opts.redisUrl, 'US', {
    keyPrefix: opts.prefix,
    logger: pino({ level: 'warn' }),
  });
  const width = model.features.length;
  const out = new Float64Array(count * width);
  const now = Date.now();
  const ids = Array.from({ length: count }, (_, i) => leadIdOf(start + i));
  const states = await store.getLeadStates(ids);
  states.forEach((state, i) => {
    if (!state) throw new Error(`lead ${ids[i]} is not in the store`);
    const vector = encodeFeatures(model.spec, computeFeatures(model.features, state, now));
    for (let c = 0; c < width; c++) out[i * width + c] = vector[c] ?? NaN;
  });
  await store.close();
  return out;
}

async function startPeer(python: string, modelDir: string): Promise<ChildProcess> {
  const child = spawn(
    python,
    [
      '-m',
      'uvicorn',
      'app:app',
      '--workers',
      '2',
      '--loop',
      'uvloop',
      '--http',
      'httptools',
      '--port',
      String(opts.peerPort),
      '--host',
      '127.0.0.1',
      '--no-access-log',
      '--log-level',
      'warning',
    ],
    {
      cwd: join(repoRoot, 'bench/peer'),
      env: {
        ...process.env,
        PEER_MODEL: join(modelDir, 'model.txt'),
        PEER_CALIBRATION: join(modelDir, 'calibration.json'),
        PEER_PREFIX: `${opts.prefix}:peer`,
        REDIS_URL: opts.redisUrl,
        OMP_NUM_THREADS: '1',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  await waitReady(`http://127.0.0.1:${opts.peerPort}/healthz`, child, 'the FastAPI peer');
  return child;
}

async function main(): Promise<void> {
  if (opts.loadGenerator) return pacedLoad();
  console.log(`machine: ${machine()}`);
  console.log(`load average at start (1 / 5 / 15 min): ${loadAverage()}`);
  console.log(
    `sidecar: ${opts.sidecarRoot === repoRoot ? 'this checkout' : opts.sidecarRoot}, ${opts.workers} worker(s), audit fsync ${opts.auditFsync}`,
  );
  const modelDir = await ensureModel();
  await ensureLeads();
  if (!['directory', 'postgres'].includes(opts.auditKeyStore))
    throw new Error(`--audit-key-store: directory or postgres, not "${opts.auditKeyStore}"`);
  const keyed = await warmKeys();
  if (opts.cpuProf) {
    // Only this run's profiles: the summary reads every profile in the directory.
    await rm(opts.cpuProf, { recursive: true, force: true });
    await mkdir(opts.cpuProf, { recursive: true });
  }
  const result: Record<string, unknown> = {
    bench: 'online',
    quick: opts.quick,
    workers: opts.workers,
    leads: opts.leads,
    audit_fsync: opts.auditFsync,
    audit_key_store: opts.auditKeyStore,
  };
  let floor: Floor | null = null;
  if (phases.has('floor')) {
    floor = await stageFloor(modelDir);
    result.floor_cpu_ms = floor.totalMs;
    result.floor = floor;
  }
  if (phases.has('explain')) result.explain = await explainRates(modelDir);

  const auditDir = join(opts.benchDir, 'audit');
  await rm(auditDir, { recursive: true, force: true });
  const sidecarPhases = ['cpu', 'latency', 'main', 'steps', 'worklist'] as const;
  if (sidecarPhases.some((p) => phases.has(p))) {
    const sidecar = await startSidecar(modelDir, auditDir, keyed);
    try {
      const token = await tokenOf();
      const run = (rate: number, duration: number) =>
        runLoad('score', opts.port, sidecar.pid!, rate, duration, token);
      const warmUp = opts.quick ? 1 : 5;
      run(Math.min(500, opts.rate), warmUp); // warm-up: JIT, connections, model pages
      profileSkipSeconds = sidecarStartSeconds + warmUp + 1;
      const cpuRuns: Record<string, number> = {};
      const versusFloor = (cpuMs: number) =>
        floor ? ` = ${(cpuMs / floor.totalMs).toFixed(2)}x the floor (${floor.totalMs} CPU-ms)` : '';
      if (phases.has('cpu')) {
        for (const rate of opts.cpuRates.split(',').map(Number)) {
          const r = run(rate, opts.cpuDuration);
          cpuRuns[String(rate)] = round(r.cpuMsPerRequest);
          console.log(
            `CPU per request at ${rate} req/s paced (${opts.cpuDuration} s): ${describeRun(r)}${versusFloor(r.cpuMsPerRequest)}`,
          );
        }
      }
      if (phases.has('latency')) {
        const r = run(opts.latencyRate, opts.latencyDuration);
        console.log(`latency at ${opts.latencyRate} req/s paced: ${describeRun(r)}`);
        Object.assign(result, {
          latency_rate: opts.latencyRate,
          latency_p50_ms: r.p50,
          latency_p99_ms: r.p99,
        });
      }
      if (phases.has('main')) {
        const r = run(opts.rate, opts.duration);
        cpuRuns[String(opts.rate)] = round(r.cpuMsPerRequest);
        console.log(
          `main run ${opts.rate} req/s paced for ${opts.duration} s: ${describeRun(r)}${versusFloor(r.cpuMsPerRequest)}`,
        );
        Object.assign(result, {
          main_offered_qps: opts.rate,
          main_achieved_qps: Math.round(r.achieved),
          main_p50_ms: r.p50,
          main_p99_ms: r.p99,
          main_errors: r.errors,
        });
      }
      result.cpu_ms_per_request = cpuRuns;
      if (floor)
        result.cpu_vs_floor = Object.fromEntries(
          Object.entries(cpuRuns).map(([rate, ms]) => [rate, round(ms / floor.totalMs, 2)]),
        );
      if (phases.has('steps')) {
        const { under25, under250 } = stepSearch('leadrank', (rate) => run(rate, opts.stepDuration));
        Object.assign(result, { max_qps_p99_under_25ms: under25, max_qps_p99_under_250ms: under250 });
      }
      if (phases.has('worklist')) {
        const index = createRedisWorklistIndex(opts.redisUrl, 'US', { keyPrefix: opts.prefix });
        const rand = seeded(1); // the leads as loaded (ensureLeads' sequence), so the ids and fields match the store
        const now = Date.now();
        const candidates = Array.from({ length: Math.min(200, opts.leads) }, (_, i) =>
          worklistLeadOf(syntheticLead(i, 'US', now, rand), REP_ID),
        );
        await index.upsert(candidates);
        await index.close();
        const r = runLoad(
          'worklist',
          opts.port,
          sidecar.pid!,
          opts.worklistRate,
          opts.worklistDuration,
          token,
        );
        console.log(
          `GET /v1/worklists/:repId (${candidates.length} candidates) at ${opts.worklistRate} req/s paced: ${describeRun(r)} ` +
            `(${(r.cpuMsPerRequest / candidates.length).toFixed(3)} CPU-ms per candidate)`,
        );
        Object.assign(result, {
          worklist_candidates: candidates.length,
          worklist_rate: opts.worklistRate,
          worklist_p50_ms: r.p50,
          worklist_p99_ms: r.p99,
          worklist_cpu_ms_per_request: round(r.cpuMsPerRequest, 2),
          worklist_errors: r.errors,
        });
      }
    } finally {
      await stop(sidecar);
    }
    if (opts.cpuProf) {
      // Where the sidecar's time went over the measured phases (start-up and warm-up left out), GC share first.
      const profile = summarizeProfiles([opts.cpuProf], profileSkipSeconds);
      console.log(`sidecar CPU profile (main threads, self time): ${describeSummary(profile, 14)}`);
      result.profile = {
        gc_share: round(profile.gcShare, 4),
        top: profile.shares.slice(0, 14).map((x) => ({ owner: x.owner, share: round(x.share, 4) })),
      };
    }
  }

  if (phases.has('cold')) {
    // An empty key store: every lead scored is a subject without a key, created on the request path.
    const cold = await coldKeys();
    await rm(auditDir, { recursive: true, force: true });
    const sidecar = await startSidecar(modelDir, auditDir, cold);
    try {
      const token = await tokenOf();
      runLoad('score', opts.port, sidecar.pid!, Math.min(500, opts.rate), opts.quick ? 1 : 5, token);
      const r = runLoad('score', opts.port, sidecar.pid!, opts.latencyRate, opts.cpuDuration, token);
      console.log(
        `cold audit keys (every lead's key created on the request path) at ${opts.latencyRate} req/s paced: ${describeRun(r)}`,
      );
      result.cold_keys = {
        rate: opts.latencyRate,
        p50_ms: r.p50,
        p99_ms: r.p99,
        cpu_ms_per_request: round(r.cpuMsPerRequest),
      };
    } finally {
      await stop(sidecar);
      if (cold.LEADRANK_AUDIT_KEY_DIR)
        await rm(cold.LEADRANK_AUDIT_KEY_DIR, { recursive: true, force: true });
    }
  }

  if (phases.has('peer') && opts.peer) {
    const python = peerPython();
    if (python) {
      await loadPeerVectors(modelDir);
      const peer = await startPeer(python, modelDir);
      try {
        const run = (rate: number, duration: number) =>
          runLoad('peer', opts.peerPort, peer.pid!, rate, duration, '');
        run(Math.min(500, opts.rate), opts.quick ? 1 : 5);
        const cpuRate = Number(opts.cpuRates.split(',').at(-1));
        const c = run(cpuRate, opts.cpuDuration);
        console.log(`peer CPU per request at ${cpuRate} req/s paced: ${describeRun(c)}`);
        const l = run(opts.latencyRate, opts.latencyDuration);
        console.log(`peer latency at ${opts.latencyRate} req/s paced: ${describeRun(l)}`);
        const { under25, under250 } = stepSearch('peer', (rate) => run(rate, opts.stepDuration));
        const peer25 = under25;
        Object.assign(result, {
          peer: {
            cpu_ms_per_request: { [String(cpuRate)]: round(c.cpuMsPerRequest) },
            latency_p50_ms: l.p50,
            latency_p99_ms: l.p99,
            max_qps_p99_under_25ms: peer25,
            max_qps_p99_under_250ms: under250,
          },
          ratio_p99_under_25ms:
            typeof result.max_qps_p99_under_25ms === 'number' && peer25 > 0
              ? round((result.max_qps_p99_under_25ms as number) / peer25, 2)
              : null,
          ratio_p99_under_250ms:
            typeof result.max_qps_p99_under_250ms === 'number' && under250 > 0
              ? round((result.max_qps_p99_under_250ms as number) / under250, 2)
              : null,
        });
        console.log(
          `leadrank / peer: highest paced rate at p99 <= 25 ms ${result.max_qps_p99_under_25ms ?? '-'} / ${peer25} (ratio ${result.ratio_p99_under_25ms ?? '-'}), ` +
            `at p99 <= 250 ms ${result.max_qps_p99_under_250ms ?? '-'} / ${under250} (ratio ${result.ratio_p99_under_250ms ?? '-'})`,
        );
      } finally {
        await stop(peer);
      }
    }
  } else if (phases.has('peer')) console.log('peer column skipped (--no-peer, or --quick without --peer)');

  console.log(`load average at end (1 / 5 / 15 min): ${loadAverage()}`);
  result.load_average = os.loadavg().map((l) => round(l, 2));
  console.log(JSON.stringify(result));
}

await main();
