// Online scoring benchmark: one sidecar process (optionally node:cluster workers) over a real Redis holding
// N leads, loaded from a separate process with POST /v1/score (one random lead by Id, with reasons). The main
// rate runs twice: evenly paced open-loop load (undici, latency from each request's due time) and autocannon's
// overallRate (per-connection quotas spent in a burst at the start of each second). Prints the machine, raw
// onnxruntime batch-1, TreeSHAP and Redis latencies, both main runs, the highest paced rate keeping
// p99 <= 250 ms, and a last JSON line (paced figures; the bursty ones beside them).
// With `--framework both` (default) the same runs follow on fastify 5 (bench/online-fastify.ts: same sidecar and
// handler core, another HTTP layer), so the framework's share of the budget is measured, not assumed.
// Usage: npx tsx bench/online.ts [--leads 2500000] [--rate 3500] [--duration 60] [--workers 1|2]
//          [--step-duration 15] [--framework express|fastify|both]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { pino } from 'pino';
import { loadServingModel } from '../scoring-sidecar/src/scoring/model-source.js';
import { createRedisStore } from '../scoring-sidecar/src/store/index.js';
import {
  leadIdOf,
  seeded,
  syntheticLead,
  trainSyntheticModel,
} from '../scoring-sidecar/test/api-test-kit.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'bench-secret';
const SIGNING_KEY = 'bench-signing-key-0123456789abcdef0123456789';

interface Options {
  leads: number;
  rate: number;
  duration: number;
  stepDuration: number;
  workers: number;
  connections: number;
  port: number;
  redisUrl: string;
  prefix: string;
  loadGenerator: boolean;
  url: string;
  token: string;
  steps: string;
  auditFsync: string;
  framework: 'express' | 'fastify' | 'both';
  shape: LoadShape;
}

const opts = new Command()
  .option('--leads <n>', 'leads in Redis', (v) => Number(v), 2_500_000)
  .option('--rate <n>', 'offered requests/s for the main run', (v) => Number(v), 3500)
  .option('--duration <s>', 'main run seconds', (v) => Number(v), 60)
  .option('--step-duration <s>', 'seconds per step when searching the highest rate', (v) => Number(v), 15)
  .option('--steps <list>', 'rates to step through', '500,1000,1500,2000,2500,3000,3500,4000')
  .option('--workers <n>', 'sidecar processes (node:cluster)', (v) => Number(v), 1)
  .option('--connections <n>', 'autocannon connections', (v) => Number(v), 64)
  .option('--port <n>', 'sidecar port', (v) => Number(v), 18080)
  .option('--audit-fsync <mode>', 'audit log fsync policy of the sidecar: batch | none', 'batch')
  .option('--framework <name>', 'HTTP layer(s) to measure: express | fastify | both', 'both')
  // Internal: the load generator's shape (the orchestrator runs the main rate with both).
  .option('--shape <shape>', 'bursty (autocannon overallRate) | paced (open loop)', 'paced')
  .option('--redis-url <url>', 'Redis', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  .option('--prefix <p>', 'Redis key prefix of the bench data (kept between runs)', 'lrbench')
  // Internal: the autocannon process.
  .option('--load-generator', 'run as the load generator', false)
  .option('--url <url>', '', '')
  .option('--token <t>', '', '')
  .parse(process.argv)
  .opts() as Options;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(3)} ms, p99 ${percentile(s, 99).toFixed(3)} ms, max ${s[s.length - 1]!.toFixed(3)} ms`;
}

// ---- load generators (separate process) ----
type LoadShape = 'bursty' | 'paced';

/**
 * Open-loop, evenly paced load: request i is due at i / rate seconds and its latency counts from then, so a
 * slow server cannot slow the offer down (no coordinated omission). autocannon's `overallRate` instead lets each
 * connection spend its per-second quota as fast as it can at the start of every second: the same average rate
 * arrives as a burst, with up to `connections` requests queued at once.
 */
async function pacedLoad(): Promise<void> {
  const pool = new Pool(opts.url, { connections: opts.connections, pipelining: 1 });
  const rand = seeded(99);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` };
  const total = Math.round(opts.rate * opts.duration);
  const latencies = new Float64Array(total);
  let sent = 0;
  let done = 0;
  let errors = 0;
  // Open every connection before the clock starts: connecting 64 sockets while requests fall due would be
  // counted as the server's latency.
  await Promise.all(
    Array.from({ length: opts.connections }, () =>
      pool.request({ path: '/healthz', method: 'GET' }).then((res) => res.body.dump()),
    ),
  );
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const send = (i: number, dueAt: number) => {
      const body = JSON.stringify({ id: leadIdOf(Math.floor(rand() * opts.leads)) });
      pool
        .request({ path: '/v1/score', method: 'POST', headers, body })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 200) errors++;
        })
        .catch(() => errors++)
        .finally(() => {
          latencies[i] = performance.now() - dueAt;
          if (++done === total) resolve();
        });
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * opts.rate));
      while (sent < due) send(sent, started + (sent++ * 1000) / opts.rate);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage();
  await pool.close();
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      requests: total,
      achieved: total / Math.max(opts.duration, elapsed),
      p50: Number(percentile(sorted, 50).toFixed(1)),
      p99: Number(percentile(sorted, 99).toFixed(1)),
      max: Number(sorted[sorted.length - 1]!.toFixed(1)),
      errors,
      loadCpuShare: (cpu.user + cpu.system) / 1e6 / elapsed,
    })}\n`,
  );
}

async function loadGenerator(): Promise<void> {
  if (opts.shape === 'paced') return pacedLoad();
  const autocannonModule = 'autocannon'; // untyped package: imported by name so tsc does not look for types
  const { default: autocannon } = (await import(autocannonModule)) as {
    default: (o: Record<string, unknown>) => Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const rand = seeded(99);
  const result = await autocannon({
    url: `${opts.url}/v1/score`,
    method: 'POST',
    connections: opts.connections,
    duration: opts.duration,
    overallRate: opts.rate,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
    requests: [
      {
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          body: JSON.stringify({ id: leadIdOf(Math.floor(rand() * opts.leads)) }),
        }),
      },
    ],
  });
  const non2xx = (result.non2xx as number) ?? 0;
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({
      requests: result.requests.total,
      achieved: result.requests.total / opts.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      errors: result.errors + result.timeouts + non2xx,
      loadCpuShare: (cpu.user + cpu.system) / 1e6 / opts.duration,
    })}\n`,
  );
}

// ---- orchestration ----
function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}`;
}

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
    `redis: loaded ${opts.leads - loaded} leads in ${seconds.toFixed(1)} s (${Math.round((opts.leads - loaded) / seconds)}/s, pipelined MULTI batches)`,
  );
  await store.close();
  await redis.quit();
}

async function rawLatencies(modelDir: string): Promise<void> {
  const model = await loadServingModel(modelDir);
  const width = model.features.length;
  const row = new Float32Array(width).fill(NaN);
  row[0] = 1;
  const onnx: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    await model.predict(row, 1);
    if (i >= 200) onnx.push(performance.now() - t);
  }
  console.log(
    `raw onnxruntime-node batch-1 predict (${model.explainer.treeCount} trees, ${width} features): ${summary(onnx)}`,
  );
  const explain: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    model.explainer.explain(row);
    if (i >= 200) explain.push(performance.now() - t);
  }
  console.log(`raw TreeSHAP explain, one row: ${summary(explain)}`);
  await model.close();
  const store = createRedisStore(opts.redisUrl, 'US', {
    keyPrefix: opts.prefix,
    logger: pino({ level: 'warn' }),
  });
  const ping: number[] = [];
  const read: number[] = [];
  const rand = seeded(5);
  for (let i = 0; i < 3000; i++) ping.push(await store.ping());
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    await store.getLeadStates([leadIdOf(Math.floor(rand() * opts.leads))]);
    read.push(performance.now() - t);
  }
  console.log(`raw Redis round trip (PING): ${summary(ping)}`);
  console.log(`raw store read of one lead state (getLeadStates, 1 id): ${summary(read)}`);
  await store.close();
}

type Framework = 'express' | 'fastify';

async function startSidecar(framework: Framework, modelDir: string, auditDir: string): Promise<ChildProcess> {
  const clients = [
    {
      clientId: 'bench',
      clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
      region: 'US',
      name: 'bench',
    },
  ];
  const entry =
    framework === 'express'
      ? [join(repoRoot, 'scoring-sidecar/src/cli.ts'), 'serve', '--workers', String(opts.workers)]
      : [join(repoRoot, 'bench/online-fastify.ts')];
  const child = spawn(process.execPath, ['--import', 'tsx', ...entry], {
    cwd: repoRoot,
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
      LEADRANK_CLIENTS: JSON.stringify(clients),
      LEADRANK_TOKEN_SIGNING_KEY: SIGNING_KEY,
      LEADRANK_STATE_DIR: join(auditDir, '..', 'state'),
      BENCH_WORKERS: String(opts.workers),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 200; i++) {
    try {
      const ready = await fetch(`http://127.0.0.1:${opts.port}/readyz`);
      if (ready.status === 200) return child;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  child.kill();
  throw new Error(`the ${framework} sidecar did not become ready`);
}

async function tokenOf(framework: Framework): Promise<string> {
  const res =
    framework === 'express'
      ? await fetch(`http://127.0.0.1:${opts.port}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `grant_type=client_credentials&client_id=bench&client_secret=${SECRET}`,
        })
      : await fetch(`http://127.0.0.1:${opts.port}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ client_id: 'bench', client_secret: SECRET }),
        });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function stopSidecar(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
}

interface RunResult {
  requests: number;
  achieved: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** CPU of the load generator process over the run, in cores (it shares the machine with the sidecar). */
  loadCpuShare: number;
}

function runLoad(rate: number, duration: number, token: string, shape: LoadShape = 'paced'): RunResult {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--load-generator',
      '--url',
      `http://127.0.0.1:${opts.port}`,
      '--token',
      token,
      '--rate',
      String(rate),
      '--duration',
      String(duration),
      '--leads',
      String(opts.leads),
      '--connections',
      String(opts.connections),
      '--shape',
      shape,
    ],
    { cwd: repoRoot, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as RunResult;
}

async function main(): Promise<void> {
  if (opts.loadGenerator) return loadGenerator();
  console.log(`machine: ${machine()}`);
  const benchDir = join(repoRoot, 'var', 'bench', 'online');
  const modelDir = join(benchDir, 'model');
  if (!existsSync(join(modelDir, 'model_card.json'))) {
    await rm(benchDir, { recursive: true, force: true });
    await mkdir(benchDir, { recursive: true });
    await trainSyntheticModel(benchDir, 20_000);
  }
  await ensureLeads();
  await rawLatencies(modelDir);

  const frameworks: Framework[] = opts.framework === 'both' ? ['express', 'fastify'] : [opts.framework];
  const results: Record<string, Record<string, number | string>> = {};
  for (const framework of frameworks) {
    const auditDir = join(benchDir, 'audit');
    await rm(auditDir, { recursive: true, force: true });
    const sidecar = await startSidecar(framework, modelDir, auditDir);
    try {
      const token = await tokenOf(framework);
      runLoad(500, 5, token); // warm-up: JIT, connections, model pages

      const mains: Partial<Record<LoadShape, RunResult & { cpuMsPerRequest: number }>> = {};
      for (const shape of ['paced', 'bursty'] as const) {
        const cpuBefore = cpuSecondsOfTree(sidecar.pid!);
        const wallBefore = performance.now();
        const run = runLoad(opts.rate, opts.duration, token, shape);
        const cpu = (cpuSecondsOfTree(sidecar.pid!) - cpuBefore) / ((performance.now() - wallBefore) / 1000);
        const cpuMsPerRequest = (cpu * 1000) / Math.max(1, run.achieved);
        mains[shape] = { ...run, cpuMsPerRequest };
        console.log(
          `${framework} main run, ${shape === 'paced' ? 'paced open-loop load' : 'autocannon overallRate (bursty)'}: offered ${opts.rate} req/s for ${opts.duration} s, ` +
            `${opts.workers} sidecar process(es): achieved ${run.achieved.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ` +
            `max ${run.max} ms, errors ${run.errors}, sidecar CPU ${(cpu * 100).toFixed(0)} % of one core (${cpuMsPerRequest.toFixed(3)} CPU-ms per request), ` +
            `load generator CPU ${(run.loadCpuShare * 100).toFixed(0)} %`,
        );
      }
      const main = mains.paced!;
      const bursty = mains.bursty!;

      let best = 0;
      for (const rate of opts.steps.split(',').map(Number)) {
        const step = runLoad(rate, opts.stepDuration, token);
        // autocannon's overallRate spends a per-second budget in bursts, so a step counts when it delivers 90 %.
        const ok = step.p99 <= 250 && step.errors === 0 && step.achieved >= rate * 0.9;
        console.log(
          `${framework} step ${rate} req/s: achieved ${step.achieved.toFixed(0)}, p50 ${step.p50} ms, p99 ${step.p99} ms, max ${step.max} ms, errors ${step.errors} ${ok ? 'ok' : 'MISSED'}`,
        );
        if (!ok) break;
        best = rate;
      }
      results[framework] = {
        offered_qps: opts.rate,
        achieved_qps: Math.round(main.achieved),
        p50_ms: main.p50,
        p99_ms: main.p99,
        errors: main.errors,
        cpu_ms_per_request: Number(main.cpuMsPerRequest.toFixed(3)),
        max_qps_p99_under_250ms: best,
        bursty_achieved_qps: Math.round(bursty.achieved),
        bursty_p50_ms: bursty.p50,
        bursty_p99_ms: bursty.p99,
        bursty_errors: bursty.errors,
      };
    } finally {
      await stopSidecar(sidecar);
    }
  }
  // The product is express: its figures are the headline; another framework's sit beside them.
  const [headline, ...others] = frameworks;
  console.log(
    JSON.stringify({
      bench: 'online',
      framework: headline,
      ...results[headline!],
      workers: opts.workers,
      ...Object.fromEntries(others.map((f) => [f, results[f]])),
    }),
  );
}

await main();
