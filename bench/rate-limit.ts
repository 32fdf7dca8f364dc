// What the per-caller rate limit adds to a /v1 request: the limiter of src/api/rate-limit.ts (rate-limiter-flexible)
// driven as the app drives it, against the real Redis (REDIS_URL, default redis://127.0.0.1:6379) and in process.
// Sequential calls give the latency one request pays; 64 in flight give the throughput one process reaches.
// Prints the machine, the figures, and a last JSON line.   npx tsx bench/rate-limit.ts [--calls 20000]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { NextFunction, Request, Response } from 'express';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createCallerRateLimiter } from '../scoring-sidecar/src/api/rate-limit.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '20000' } } });
const CALLS = Number(values.calls);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-ratelimit-${process.pid}`;

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, load ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}`;
}

/** One pass of the middleware for `callerId`; resolves with the time it took in ms. */
function once(limiter: ReturnType<typeof createCallerRateLimiter>, callerId: string): Promise<number> {
  const res = { locals: { caller: { id: callerId } }, setHeader: () => res } as unknown as Response;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const next: NextFunction = (error?: unknown) =>
      error ? reject(error as Error) : resolve(performance.now() - started);
    limiter.middleware({} as Request, res, next);
  });
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function measure(redisUrl: string | undefined) {
  const limiter = createCallerRateLimiter(
    { requestsPerWindow: 10 * CALLS, windowSeconds: 60, perCaller: {} },
    { region: 'US', redisUrl, redisPrefix: prefix, logger: pino({ level: 'silent' }) },
  );
  await once(limiter, 'warm-up');
  const latencies: number[] = [];
  for (let i = 0; i < CALLS; i++) latencies.push(await once(limiter, `caller-${i % 50}`));
  latencies.sort((a, b) => a - b);
  const started = performance.now();
  let issued = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (issued < CALLS) {
        issued++;
        await once(limiter, `caller-${issued % 50}`);
      }
    }),
  );
  const perSecond = CALLS / ((performance.now() - started) / 1000);
  await limiter.close();
  return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), perSecond };
}

const redis = await measure(REDIS_URL);
const memory = await measure(undefined);
const cleanup = new Redis(REDIS_URL);
const keys = await cleanup.keys(`${prefix}*`);
if (keys.length > 0) await cleanup.del(...keys);
await cleanup.quit();

console.log(`machine: ${machine()}`);
console.log(
  `Redis: p50 ${redis.p50.toFixed(3)} ms, p99 ${redis.p99.toFixed(3)} ms per request (sequential); ${redis.perSecond.toFixed(0)} requests/s with 64 in flight`,
);
console.log(
  `in process: p50 ${memory.p50.toFixed(3)} ms, p99 ${memory.p99.toFixed(3)} ms; ${memory.perSecond.toFixed(0)} requests/s with 64 in flight`,
);
console.log(
  JSON.stringify({
    bench: 'rate-limit',
    calls: CALLS,
    redisP50Ms: Number(redis.p50.toFixed(3)),
    redisP99Ms: Number(redis.p99.toFixed(3)),
    redisPerSecond: Math.round(redis.perSecond),
    memoryP50Ms: Number(memory.p50.toFixed(3)),
    memoryP99Ms: Number(memory.p99.toFixed(3)),
    memoryPerSecond: Math.round(memory.perSecond),
  }),
);
