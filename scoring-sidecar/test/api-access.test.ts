// Token hygiene and quotas through the HTTP API: the caller-token lifetime cap, 400 for malformed Basic
// credentials, /metrics behind loopback or its own token, and a per-caller rate limit shared by two replicas
// through the real Redis.
import { createHash, randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccessConfig } from '../src/api/access-config.js';
import { fixedModelSource } from '../src/scoring/model-source.js';
import { startServer } from '../src/server.js';
import { repoRoot } from './api-test-kit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'us-client-secret';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const CLIENTS = [
  { clientId: 'salesforce-us', clientSecretSha256: sha(SECRET), region: 'US', name: 'Salesforce US org' },
];
const LIMIT = 5;
const BI_LIMIT = 8;
const MAX_LIFETIME = 3600;

const prefix = `lrtest-access-${randomUUID().slice(0, 8)}`;
let work: string;
let callerKey: CryptoKey;
const servers: { base: string; stop: () => Promise<void> }[] = [];

async function start(configDir: string, extraEnv: Record<string, string> = {}): Promise<string> {
  const name = `s${servers.length}`;
  const started = await startServer(
    {
      REGION: 'US',
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_CONFIG_DIR: configDir,
      LEADRANK_RULES_ONLY: '1',
      LEADRANK_CLIENTS: JSON.stringify(CLIENTS),
      LEADRANK_TOKEN_SIGNING_KEY: 'test-signing-key-0123456789abcdef0123456789',
      LEADRANK_CALLER_JWKS: JSON.stringify({
        keys: [{ ...(await exportJWK(publicKey!)), kid: 'bi-us', region: 'US', name: 'BI', alg: 'RS256' }],
      }),
      LEADRANK_AUDIT_DIR: join(work, name, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(work, name, 'state'),
      REDIS_URL,
      LEADRANK_REDIS_PREFIX: prefix,
      LEADRANK_BULLMQ_PREFIX: prefix,
      ...extraEnv,
    },
    { models: fixedModelSource(null), logger: pino({ level: 'silent' }) },
  );
  servers.push({ base: `http://127.0.0.1:${started.port}`, stop: started.stop });
  return `http://127.0.0.1:${started.port}`;
}

let publicKey: CryptoKey | undefined;
let replicaA: string;
let replicaB: string;
let defaults: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'api-access-'));
  const pair = await generateKeyPair('RS256');
  callerKey = pair.privateKey;
  publicKey = pair.publicKey;
  // Two replicas with a tight quota and /metrics closed to loopback; one server with the repo's config.
  const strict = join(work, 'config');
  await cp(join(repoRoot, 'config'), strict, { recursive: true });
  const access = JSON.parse(await readFile(join(strict, 'api-access.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  await writeFile(
    join(strict, 'api-access.json'),
    JSON.stringify({
      ...access,
      callerTokens: { maxLifetimeSeconds: MAX_LIFETIME },
      metrics: { allowLoopback: false, allowAddresses: [] },
      rateLimit: {
        requestsPerWindow: LIMIT,
        windowSeconds: 60,
        perCaller: { 'bi-us-job': { requestsPerWindow: BI_LIMIT } },
      },
    }),
  );
  replicaA = await start(strict, { LEADRANK_METRICS_TOKEN: METRICS_TOKEN });
  replicaB = await start(strict, { LEADRANK_METRICS_TOKEN: METRICS_TOKEN });
  defaults = await start(join(repoRoot, 'config'), { LEADRANK_REDIS_PREFIX: `${prefix}-d` });
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await rm(work, { recursive: true, force: true });
});

const callerToken = (exp: number, iat?: number): Promise<string> => {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: 'bi-us' })
    .setSubject('bi-us-job')
    .setAudience('leadrank-sidecar')
    .setExpirationTime(exp);
  if (iat !== undefined) jwt.setIssuedAt(iat);
  return jwt.sign(callerKey);
};

/** An authenticated /v1 request that succeeds for any caller of the region: an empty worklist. */
const v1Request = (base: string, token: string) =>
  fetch(`${base}/v1/worklists/005000000000001`, { headers: { authorization: `Bearer ${token}` } });

const tokenWithBasic = (base: string, basic: string) =>
  fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('caller-token lifetime', () => {
  it('refuses a caller-key token with exp 100 years ahead: 401 naming the maximum', async () => {
    const res = await v1Request(defaults, await callerToken(nowSeconds() + 100 * 365 * 86_400));
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toMatch(/token lifetime \d+ s exceeds the maximum of 86400 s/);
  });

  it('refuses a token issued long ago even when exp is near, and accepts one within the maximum', async () => {
    const longLived = await callerToken(nowSeconds() + 600, nowSeconds() - 2 * MAX_LIFETIME);
    expect((await v1Request(replicaA, longLived)).status).toBe(401);
    const ok = await callerToken(nowSeconds() + 600, nowSeconds());
    expect((await v1Request(defaults, ok)).status).toBe(200);
  });
});

describe('POST /oauth/token with HTTP Basic', () => {
  it.each([
    ['not base64', 'Basic !!!not-base64!!!'],
    ['no colon', `Basic ${Buffer.from('salesforce-us').toString('base64')}`],
    ['bad percent-encoding', `Basic ${Buffer.from('%E0%A4%A:secret').toString('base64')}`],
    ['empty', 'Basic'],
  ])('answers 400 invalid_request for malformed credentials (%s)', async (_name, header) => {
    const res = await tokenWithBasic(defaults, header);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toMatch(/Basic/);
  });

  it('still issues a token for well-formed credentials, and 401 for a wrong secret', async () => {
    const good = await tokenWithBasic(
      defaults,
      `Basic ${Buffer.from(`salesforce-us:${SECRET}`).toString('base64')}`,
    );
    expect(good.status).toBe(200);
    const wrong = await tokenWithBasic(
      defaults,
      `Basic ${Buffer.from('salesforce-us:nope').toString('base64')}`,
    );
    expect(wrong.status).toBe(401);
  });
});

describe('/metrics access', () => {
  it('is served to loopback by default', async () => {
    const res = await fetch(`${defaults}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/leadrank_/);
  });

  it('needs the metrics token when loopback is not allowed', async () => {
    expect((await fetch(`${replicaA}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${replicaA}/metrics`, {
      headers: { authorization: 'Bearer wrong-token-0123456789' },
    });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${replicaA}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(right.status).toBe(200);
  });
});

describe('rate limit per caller, shared by the replicas through Redis', () => {
  it('answers 429 with Retry-After once a caller has spent its quota across both replicas; others go on', async () => {
    const res = await fetch(`${replicaA}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=salesforce-us&client_secret=${SECRET}`,
    });
    const token = ((await res.json()) as { access_token: string }).access_token;
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++)
      statuses.push((await v1Request(i % 2 ? replicaB : replicaA, token)).status);
    expect(statuses).toEqual(Array(LIMIT).fill(200));

    const limited = await v1Request(replicaB, token);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body = (await limited.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toContain('salesforce-us');
    expect((await v1Request(replicaA, token)).status).toBe(429);

    // Another caller has its own (configured, larger) quota and is not starved.
    const bi = await callerToken(nowSeconds() + 600);
    const biStatuses: number[] = [];
    for (let i = 0; i < BI_LIMIT + 1; i++)
      biStatuses.push((await v1Request(i % 2 ? replicaB : replicaA, bi)).status);
    expect(biStatuses).toEqual([...Array(BI_LIMIT).fill(200), 429]);
  });
});

describe('config/api-access.json', () => {
  it('refuses a bad file at start-up, naming the file and the field', async () => {
    const file = join(work, 'bad-access.json');
    const good = JSON.parse(await readFile(join(repoRoot, 'config', 'api-access.json'), 'utf8')) as {
      metrics: object;
    };
    await writeFile(
      file,
      JSON.stringify({ ...good, metrics: { ...good.metrics, allowAddresses: ['scraper'] } }),
    );
    expect(() => loadAccessConfig(file)).toThrow(
      /bad-access\.json: metrics\.allowAddresses\.0: must be an IP address/,
    );
  });
});

describe('the audit signing key', () => {
  it('is refused in the serving process (the writer must not hold the key that anchors its log)', async () => {
    await expect(
      startServer(
        {
          REGION: 'US',
          PORT: '0',
          HOST: '127.0.0.1',
          LEADRANK_RULES_ONLY: '1',
          LEADRANK_AUDIT_DIR: join(work, 'refused', 'audit'),
          LEADRANK_STATE_DIR: join(work, 'refused', 'state'),
          LEADRANK_AUDIT_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----\n…',
        },
        { models: fixedModelSource(null), logger: pino({ level: 'silent' }) },
      ),
    ).rejects.toThrow(/LEADRANK_AUDIT_SIGNING_KEY is set for the serving process/);
  });
});
