// bench/online.ts cannot rot: its --quick mode runs every phase but the peer, with the sidecar's CPU profiles, (a private Redis prefix, a temporary
// model and audit directory, another port) and must end with the JSON line the docs' figures come from. No timing
// is asserted: only that each figure is printed.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { repoRoot } from './api-test-kit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `lrbenchtest${process.pid}`;
let dir = '';

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('runs bench/online.ts --quick and prints every figure in its last JSON line', async () => {
  dir = await mkdtemp(join(tmpdir(), 'leadrank-bench-online-'));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'bench/online.ts'),
      '--quick',
      '--leads',
      '500',
      '--prefix',
      prefix,
      '--bench-dir',
      dir,
      '--steps',
      '100',
      '--port',
      String(18_500 + (process.pid % 400)),
      '--cpu-prof',
      join(dir, 'profiles'),
    ],
    // Minutes, not seconds, on a loaded 2-core machine: two model trainings, a sidecar start, six load runs.
    { cwd: repoRoot, env: { ...process.env, REDIS_URL }, maxBuffer: 16 * 2 ** 20, timeout: 840_000 },
  );
  const lines = stdout.trim().split('\n');
  expect(stdout).toMatch(/^machine: .* cores/m);
  expect(stdout).toMatch(/^stage floor total: [\d.]+ CPU-ms per request/m);
  expect(stdout).toMatch(/^GET \/v1\/worklists\/:repId \(200 candidates\)/m);
  const result = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  expect(result).toMatchObject({ bench: 'online', quick: true, leads: 500 });
  for (const key of [
    'floor_cpu_ms',
    'latency_p50_ms',
    'latency_p99_ms',
    'main_p99_ms',
    'max_qps_p99_under_25ms',
    'max_qps_p99_under_250ms',
    'worklist_p99_ms',
  ])
    expect(typeof result[key], key).toBe('number');
  expect(Object.keys(result.cpu_ms_per_request as object).length).toBe(2); // --cpu-rates and --rate
  expect((result.explain as Record<string, unknown>).treeshap_rows_per_s_blocked).toBeGreaterThan(0);
  // The cold-key run (every lead's audit key created on the request path) and the sidecar's profile summary.
  expect(stdout).toMatch(/^cold audit keys \(every lead's key created on the request path\)/m);
  expect((result.cold_keys as Record<string, number>).cpu_ms_per_request).toBeGreaterThan(0);
  const profile = result.profile as { gc_share: number; top: { owner: string; share: number }[] };
  expect(profile.gc_share).toBeGreaterThan(0);
  expect(profile.gc_share).toBeLessThan(1);
  expect(profile.top.some((x) => x.owner.startsWith('sidecar '))).toBe(true);
}, 900_000);
