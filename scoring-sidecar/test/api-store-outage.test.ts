// A Redis outage degrades instead of stalling (issue 13, item 3): the sidecar runs on its own redis-server on a
// private port, which the test kills mid-run. Store reads have their own timeout inside the request deadline
// (config/scoring.json storeTimeoutMs), so a payload score answers at once from the rules
// (fallbackReason store_unavailable) and an id lookup answers 503 naming the store; without the timeout both
// wait for the Redis client's retries to run out and answer late (the payload blaming nothing, the id a 500).
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded, syntheticLead } from './api-test-kit.js';
import { startRedisServer, stopProcess } from './batch-kit.js';
import { startKitSidecar, type KitSidecar } from './monitoring-kit.js';

const PORT = 20_000 + (process.pid % 20_000);
let redisDir: string;
let redis: ChildProcess;
let kit: KitSidecar;
const NOW = Date.now();
const lead = syntheticLead(91_000, 'US', NOW, seeded(4));
const { Id: _id, ...fields } = lead;

beforeAll(async () => {
  redisDir = await mkdtemp(join(tmpdir(), 'store-outage-'));
  redis = await startRedisServer(redisDir, PORT);
  kit = await startKitSidecar(
    {
      REDIS_URL: `redis://127.0.0.1:${PORT}`,
      LEADRANK_REDIS_PREFIX: `outage-${process.pid}`,
      LEADRANK_RULES_ONLY: '1',
      LEADRANK_MODEL_DIR: join(redisDir, 'no-model'),
    },
    { logger: pino({ level: 'silent' }) },
  );
  await kit.sidecar.store.putLeads([lead]);
}, 60_000);

afterAll(async () => {
  // The store back before the sidecar stops, so its close does not wait on a dead server.
  if (redis.exitCode !== null || redis.signalCode !== null) redis = await startRedisServer(redisDir, PORT);
  await kit?.stop();
  await stopProcess(redis);
  await rm(redisDir, { recursive: true, force: true });
});

describe('store outage', () => {
  it('scores by id while the store answers', async () => {
    const res = await kit.call('POST', '/v1/score', { id: lead.Id });
    expect(res.status).toBe(200);
    expect((res.json as { scores: { status: number }[] }).scores[0]!.status).toBe(200);
  });

  it('answers within the store timeout once Redis is killed: payloads by the rules, ids 503 naming the store', async () => {
    await stopProcess(redis, 'SIGKILL');
    const timeoutMs = kit.sidecar.config.storeTimeoutMs;
    expect(timeoutMs).toBeLessThan(kit.sidecar.config.deadlineMs);

    let started = performance.now();
    const payload = await kit.call('POST', '/v1/score', { id: lead.Id, fields });
    const payloadMs = performance.now() - started;
    expect(payload.status).toBe(200);
    const score = (payload.json as { scores: Record<string, unknown>[] }).scores[0]!;
    expect(score).toEqual(
      expect.objectContaining({ status: 200, source: 'rules', fallbackReason: 'store_unavailable' }),
    );

    started = performance.now();
    const byId = await kit.call('POST', '/v1/score', { id: lead.Id });
    const byIdMs = performance.now() - started;
    expect(byId.status).toBe(503);
    const error = (byId.json as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toMatch(/online store \(Redis\) did not answer within \d+ ms/);

    // Within the request deadline plus the HTTP round trip, not after the client's reconnect retries (seconds).
    const bound = kit.sidecar.config.deadlineMs + 400;
    expect(payloadMs).toBeLessThan(bound);
    expect(byIdMs).toBeLessThan(bound);

    const metrics = await (await fetch(`${kit.base}/metrics`)).text();
    expect(metrics).toMatch(/leadrank_fallbacks_total\{reason="store_unavailable"\} 1/);
  });

  it('scores by id again once the store is back', async () => {
    redis = await startRedisServer(redisDir, PORT);
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      const res = await kit.call('POST', '/v1/score', { id: lead.Id });
      status = res.status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  });
});
