// Tenancy (issue 13, item 5): one deployment serves one org. The first process on a Redis namespace records its
// org (SF_ORG_ID); a sidecar or worker configured for another org on the same namespace is refused at start-up
// with both orgs and the namespace named, and a malformed SF_ORG_ID is refused naming the variable.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startWorker } from '../src/commands/worker.js';
import { startServer } from '../src/server.js';
import { claimStoreTenant, orgIdFromEnv } from '../src/store/index.js';
import { REDIS_URL } from './batch-kit.js';

const PREFIX = `tenancy-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const ORG_A = '00D5e000000AbCdEAF';
const ORG_B = '00D5e000000XyZwEAF';
const dirs: string[] = [];

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function serveEnv(orgId: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'tenancy-'));
  dirs.push(dir);
  return {
    REGION: 'US',
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL,
    LEADRANK_REDIS_PREFIX: PREFIX,
    SF_ORG_ID: orgId,
    LEADRANK_RULES_ONLY: '1',
    LEADRANK_MODEL_DIR: join(dir, 'no-model'),
    LEADRANK_CLIENTS: '[]',
    LEADRANK_TOKEN_SIGNING_KEY: 'tenancy-signing-key-0123456789abcdef0123',
    LEADRANK_AUDIT_DIR: join(dir, 'audit'),
    LEADRANK_AUDIT_FSYNC: 'none',
    LEADRANK_STATE_DIR: join(dir, 'state'),
    DATABASE_URL: '',
  };
}

describe('one org per store namespace', () => {
  it('the first sidecar claims the namespace; the same org starts again, another org is refused', async () => {
    const first = await startServer(await serveEnv(ORG_A), { logger: pino({ level: 'silent' }) });
    await first.stop();
    const again = await startServer(await serveEnv(ORG_A.slice(0, 15)), {
      logger: pino({ level: 'silent' }),
    });
    await again.stop();
    await expect(startServer(await serveEnv(ORG_B), { logger: pino({ level: 'silent' }) })).rejects.toThrow(
      `Redis namespace "${PREFIX}" at 127.0.0.1:6379 belongs to Salesforce org ${ORG_A.slice(0, 15)}`,
    );
    await expect(startServer(await serveEnv(ORG_B), { logger: pino({ level: 'silent' }) })).rejects.toThrow(
      `not to SF_ORG_ID ${ORG_B.slice(0, 15)}: one deployment serves one org`,
    );
  });

  it('a worker of another org on the same namespace is refused before it starts a role', async () => {
    await expect(
      startWorker({
        roles: ['writeback'],
        region: 'US',
        metricsPort: 0,
        env: { ...process.env, REDIS_URL, LEADRANK_BATCH_PREFIX: PREFIX, SF_ORG_ID: ORG_B },
        log: pino({ level: 'silent' }),
      }),
    ).rejects.toThrow(/belongs to Salesforce org 00D5e000000AbCd/);
  });

  it('another namespace is free for the other org', async () => {
    await expect(claimStoreTenant(REDIS_URL, `${PREFIX}-b`, ORG_B.slice(0, 15))).resolves.toEqual(
      expect.objectContaining({ orgId: ORG_B.slice(0, 15) }),
    );
  });

  it('refuses a malformed SF_ORG_ID naming the variable', () => {
    expect(() => orgIdFromEnv({ SF_ORG_ID: '001xx000003DGb2AAG' })).toThrow(
      'SF_ORG_ID: "001xx000003DGb2AAG" is not a Salesforce organization Id',
    );
    expect(orgIdFromEnv({})).toBeNull();
  });
});
