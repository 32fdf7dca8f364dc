// `leadrank serve --workers 2` stopped the way systemd or a container runtime stops it: SIGTERM to the whole
// process group (primary and cluster workers at once). Requests in flight are answered, nothing crashes (no
// EPIPE from a worker whose primary left), and every process exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { leadIdOf, repoRoot, seeded, syntheticLead } from './api-test-kit.js';
import { REDIS_URL } from './batch-kit.js';

const SECRET = 'shutdown-secret';
let dir: string | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `leadrank serve --workers 2` in its own process group (killed as a whole), rules only, state under `dir`. */
function spawnServe(dir: string, redisPrefix: string, env: Record<string, string>): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'scoring-sidecar/src/cli.ts'), 'serve', '--workers', '2'],
    {
      cwd: repoRoot,
      detached: true,
      env: {
        ...process.env,
        REGION: 'US',
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL,
        LEADRANK_REDIS_PREFIX: redisPrefix,
        LEADRANK_RULES_ONLY: '1',
        LEADRANK_MODEL_DIR: join(dir, 'no-model'),
        LEADRANK_TOKEN_SIGNING_KEY: 'shutdown-signing-key-0123456789abcdef0123',
        LEADRANK_AUDIT_DIR: join(dir, 'audit'),
        LEADRANK_STATE_DIR: join(dir, 'state'),
        DATABASE_URL: '',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

describe('leadrank serve --workers 2, SIGTERM to the process group', () => {
  it('drains in-flight requests and exits 0 without a worker crash', async () => {
    dir = await mkdtemp(join(tmpdir(), 'serve-shutdown-'));
    child = spawnServe(dir, `shutdown-${process.pid}`, {
      LEADRANK_CLIENTS: JSON.stringify([
        {
          clientId: 'apex-us',
          clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
          region: 'US',
          name: 'Apex',
        },
      ]),
      LEADRANK_AUDIT_FSYNC: 'none',
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const logs: {
      level?: number;
      msg?: string;
      err?: unknown;
      port?: number;
      code?: number;
      index?: number;
    }[] = [];
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`serve did not start: ${stderr} ${JSON.stringify(logs.map((l) => l.msg))}`)),
        90_000,
      );
      let listening = 0;
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        try {
          const entry = JSON.parse(line) as (typeof logs)[number];
          logs.push(entry);
          if (entry.msg === 'listening' && ++listening === 2) {
            clearTimeout(timer);
            resolve(entry.port!);
          }
        } catch {
          // not a log line
        }
      });
    });
    const base = `http://127.0.0.1:${port}`;
    const token = (
      (await (
        await fetch(`${base}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `grant_type=client_credentials&client_id=apex-us&client_secret=${SECRET}`,
        })
      ).json()) as { access_token: string }
    ).access_token;
    // Large payload batches keep the workers busy for a while: these are in flight when the signal lands.
    const rand = seeded(5);
    const leads = Array.from({ length: 1000 }, (_, i) => {
      const { Id: _id, ...fields } = syntheticLead(60_000 + i, 'US', Date.now(), rand);
      return { id: leadIdOf(60_000 + i), fields };
    });
    const body = Buffer.from(JSON.stringify({ leads }));
    // Each request sends its headers and most of its body, and holds the last bytes back: the server has then
    // authenticated it and counted it against the caller's quota (guard before body parsing) and is waiting on
    // its body, so it is in flight, not idle, when the signal lands. Counting the quota in Redis tells when all
    // six are there; a fixed sleep left this to the machine's load.
    const started: http.ClientRequest[] = [];
    const inFlight = Array.from(
      { length: 6 },
      () =>
        new Promise<{ status: number; scores: number; error?: string }>((resolve) => {
          const req = http.request(`${base}/v1/score`, {
            method: 'POST',
            agent: false, // one connection per request
            headers: {
              'content-type': 'application/json',
              'content-length': String(body.length),
              authorization: `Bearer ${token}`,
            },
          });
          req.on('response', (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const parsed = JSON.parse(text) as { scores?: unknown[] };
              resolve(
                res.statusCode === 200 && parsed.scores
                  ? { status: 200, scores: parsed.scores.length }
                  : { status: res.statusCode ?? 0, scores: 0, error: text.slice(0, 300) },
              );
            });
          });
          req.on('error', (error) => resolve({ status: 0, scores: 0, error: error.message }));
          req.write(body.subarray(0, body.length - 16));
          started.push(req);
        }),
    );
    const redis = new Redis(REDIS_URL);
    try {
      const deadline = Date.now() + 60_000;
      let counted = 0;
      while (counted < 6) {
        if (Date.now() > deadline) throw new Error(`only ${counted} of 6 requests reached the server`);
        await new Promise((r) => setTimeout(r, 25));
        const keys = await redis.keys(`shutdown-${process.pid}:ratelimit:*`);
        counted = 0;
        for (const key of keys) counted += Number((await redis.get(key)) ?? 0);
      }
    } finally {
      redis.disconnect();
    }
    process.kill(-child.pid!, 'SIGTERM');
    // The rest of each body arrives after the signal: the draining workers still read and answer it.
    await new Promise((r) => setTimeout(r, 100));
    for (const req of started) req.end(body.subarray(body.length - 16));

    const answers = await Promise.all(inFlight);
    // Errors logged by the server are shown beside the answers when they differ.
    const errors = () => logs.filter((l) => (l.level ?? 0) >= 50);
    expect({ answers, errors: errors() }).toEqual({
      answers: Array.from({ length: 6 }, () => ({ status: 200, scores: 1000 })),
      errors: [],
    });
    const code = await exited;
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|Unhandled|ERR_IPC/);
    const stopped = logs.filter((l) => l.msg === 'worker stopped');
    expect(stopped.map((l) => l.code)).toEqual([0, 0]);
  }, 150_000);
});

describe('leadrank serve --workers 2, a worker that cannot start', () => {
  it('is re-forked with a growing delay, and after LEADRANK_WORKER_MAX_FAILED_STARTS failed starts the primary exits 1', async () => {
    const badDir = await mkdtemp(join(tmpdir(), 'serve-failing-'));
    try {
      // Not JSON: every worker fails while reading its configuration.
      // Three failed starts (default five): each start loads the whole sidecar, slow on a loaded machine.
      const failing = spawnServe(badDir, `failing-${process.pid}`, {
        LEADRANK_CLIENTS: '[{"clientId": ',
        LEADRANK_WORKER_MAX_FAILED_STARTS: '3',
      });
      const lines: { msg?: string; index?: number; time?: number }[] = [];
      createInterface({ input: failing.stdout! }).on('line', (line) => {
        try {
          lines.push(JSON.parse(line) as (typeof lines)[number]);
        } catch {
          // not a log line
        }
      });
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          process.kill(-failing.pid!, 'SIGKILL');
          resolve(-1);
        }, 200_000);
        failing.once('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code).toBe(1);
      expect(lines.some((l) => l.msg === 'a worker failed to start too many times in a row; stopping')).toBe(
        true,
      );
      // Worker 0's exits: three at most, further apart each time (1, 2 s of back-off between them).
      const exits = lines.filter((l) => l.msg === 'worker exited' && l.index === 0).map((l) => l.time!);
      expect(exits.length).toBeGreaterThanOrEqual(2);
      expect(exits.length).toBeLessThanOrEqual(3);
      const gaps = exits.slice(1).map((t, i) => t - exits[i]!);
      expect(gaps[gaps.length - 1]).toBeGreaterThanOrEqual(2 ** (gaps.length - 1) * 1000);
    } finally {
      await rm(badDir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe("leadrank serve --workers 2, the workers' young generation", () => {
  it('refuses a LEADRANK_WORKER_SEMI_SPACE_MB that is no whole number of megabytes, naming it', async () => {
    const badDir = await mkdtemp(join(tmpdir(), 'serve-semispace-'));
    try {
      const refused = spawnServe(badDir, `semispace-${process.pid}`, {
        LEADRANK_WORKER_SEMI_SPACE_MB: '1.5',
      });
      let output = '';
      refused.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      refused.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => refused.once('exit', resolve));
      expect(code).not.toBe(0);
      expect(output).toContain('LEADRANK_WORKER_SEMI_SPACE_MB must be a whole number of megabytes');
    } finally {
      await rm(badDir, { recursive: true, force: true });
    }
  }, 60_000);
});
