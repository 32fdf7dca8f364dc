// `leadrank serve --workers 2` stopped the way systemd or a container runtime stops it: SIGTERM to the whole
// process group (primary and cluster workers at once). Requests in flight are answered, nothing crashes (no
// EPIPE from a worker whose primary left), and every process exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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

describe('leadrank serve --workers 2, SIGTERM to the process group', () => {
  it('drains in-flight requests and exits 0 without a worker crash', async () => {
    dir = await mkdtemp(join(tmpdir(), 'serve-shutdown-'));
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'scoring-sidecar/src/cli.ts'), 'serve', '--workers', '2'],
      {
        cwd: repoRoot,
        detached: true, // its own process group, killed as a whole below
        env: {
          ...process.env,
          REGION: 'US',
          PORT: '0',
          HOST: '127.0.0.1',
          REDIS_URL,
          LEADRANK_REDIS_PREFIX: `shutdown-${process.pid}`,
          LEADRANK_RULES_ONLY: '1',
          LEADRANK_MODEL_DIR: join(dir, 'no-model'),
          LEADRANK_CLIENTS: JSON.stringify([
            {
              clientId: 'apex-us',
              clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
              region: 'US',
              name: 'Apex',
            },
          ]),
          LEADRANK_TOKEN_SIGNING_KEY: 'shutdown-signing-key-0123456789abcdef0123',
          LEADRANK_AUDIT_DIR: join(dir, 'audit'),
          LEADRANK_AUDIT_FSYNC: 'none',
          LEADRANK_STATE_DIR: join(dir, 'state'),
          DATABASE_URL: '',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const logs: { msg?: string; port?: number; code?: number; index?: number }[] = [];
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 90_000);
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
    const body = JSON.stringify({ leads });
    const inFlight = Array.from({ length: 6 }, () =>
      fetch(`${base}/v1/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      }).then(
        async (r) => ({
          status: r.status,
          scores: ((await r.json()) as { scores: unknown[] }).scores.length,
        }),
        (error: Error) => ({ status: 0, error: error.message, scores: 0 }),
      ),
    );
    await new Promise((r) => setTimeout(r, 150));
    process.kill(-child.pid!, 'SIGTERM');

    const answers = await Promise.all(inFlight);
    expect(answers).toEqual(Array.from({ length: 6 }, () => ({ status: 200, scores: 1000 })));
    const code = await exited;
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|Unhandled|ERR_IPC/);
    const stopped = logs.filter((l) => l.msg === 'worker stopped');
    expect(stopped.map((l) => l.code)).toEqual([0, 0]);
  }, 150_000);
});
