// Rules fallback: no model, a failing model and a model too slow for the deadline all still answer 200 with
// a score, say why in fallbackReason and count it in the metrics. Zero unscored requests while the model is
// removed and broken under concurrent load.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeadProfile } from '../src/inputs/index.js';
import { loadServingModel, type ModelSource, type ServingModel } from '../src/scoring/model-source.js';
import { startServer } from '../src/server.js';
import { seeded, syntheticLead, trainSyntheticModel } from './api-test-kit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'fallback-secret';
const CLIENTS = JSON.stringify([
  {
    clientId: 'apex-us',
    clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
    region: 'US',
    name: 'Apex',
  },
]);
const silent = pino({ level: 'silent' });

/** A model source the test can empty, break or slow down while requests are in flight. */
class SwitchableModels implements ModelSource {
  model: ServingModel | null = null;
  current() {
    return this.model;
  }
  status() {
    return {
      version: this.model?.version ?? null,
      loadedAt: null,
      lastError: this.model ? null : 'removed by the test',
    };
  }
  async close() {}
}

function failing(model: ServingModel): ServingModel {
  return { ...model, predict: async () => Promise.reject(new Error('onnxruntime exploded')) };
}

function slow(model: ServingModel, ms: number): ServingModel {
  return {
    ...model,
    predict: async (rows, n) => {
      await sleep(ms);
      return model.predict(rows, n);
    },
  };
}

let work: string;
let modelDir: string;
let model: ServingModel;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'api-fallback-'));
  modelDir = await trainSyntheticModel(work, 2000, 21);
  model = await loadServingModel(modelDir);
});

afterAll(async () => {
  await model?.close();
  await rm(work, { recursive: true, force: true });
});

async function tokenFor(base: string): Promise<string> {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=apex-us&client_secret=${SECRET}`,
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe.each([
  { storeKind: 'in-process', redis: false },
  { storeKind: 'redis', redis: true },
])('rules fallback with the $storeKind store', ({ redis }) => {
  const prefix = `lrtest-fallback-${randomUUID().slice(0, 8)}`;
  const models = new SwitchableModels();
  let base: string;
  let token: string;
  let stop: () => Promise<void>;
  let auditDir: string;
  let leads: LeadProfile[];

  beforeAll(async () => {
    auditDir = await mkdtemp(join(tmpdir(), 'api-fallback-audit-'));
    const started = await startServer(
      {
        REGION: 'US',
        PORT: '0',
        HOST: '127.0.0.1',
        LEADRANK_CLIENTS: CLIENTS,
        LEADRANK_TOKEN_SIGNING_KEY: 'fallback-signing-key-0123456789abcdef0123',
        LEADRANK_AUDIT_DIR: auditDir,
        LEADRANK_AUDIT_FSYNC: 'none',
        LEADRANK_STATE_DIR: `${auditDir}-state`,
        ...(redis ? { REDIS_URL, LEADRANK_REDIS_PREFIX: prefix, LEADRANK_BULLMQ_PREFIX: prefix } : {}),
      },
      { logger: silent, models },
    );
    stop = started.stop;
    base = `http://127.0.0.1:${started.port}`;
    const rand = seeded(5);
    leads = Array.from({ length: 40 }, (_, i) => syntheticLead(50_000 + i, 'US', Date.now(), rand));
    await started.sidecar.store.putLeads(leads);
    token = await tokenFor(base);
  });

  afterAll(async () => {
    await stop?.();
    if (redis) {
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
      await r.quit();
    }
    await rm(auditDir, { recursive: true, force: true });
    await rm(`${auditDir}-state`, { recursive: true, force: true });
  });

  const score = async (ids: string[]) => {
    const res = await fetch(`${base}/v1/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ leads: ids.map((id) => ({ id })) }),
    });
    return { status: res.status, body: (await res.json()) as { scores: Record<string, unknown>[] } };
  };

  it('leaves no request unscored while the model is removed, broken and closed under concurrent load', async () => {
    const brokenAfterLoad = await loadServingModel(modelDir);
    models.model = model;
    const results: { status: number; scores: Record<string, unknown>[] }[] = [];
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const ids = [0, 1, 2].map((k) => leads[(w * 7 + i + k) % leads.length]!.Id);
        const { status, body } = await score(ids);
        results.push({ status, scores: body.scores });
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await sleep(250);
    models.model = null; // removed
    await sleep(250);
    models.model = failing(model); // every run fails
    await sleep(250);
    models.model = brokenAfterLoad;
    await sleep(100);
    await brokenAfterLoad.close(); // the session disappears under in-flight runs
    await sleep(250);
    models.model = model;
    await sleep(200);
    running = false;
    await Promise.all(workers);

    expect(results.length).toBeGreaterThan(40);
    const entries = results.flatMap((r) => r.scores);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(
      entries.every((s) => s.status === 200 && typeof s.score === 'number' && typeof s.band === 'string'),
    ).toBe(true);
    const reasons = new Set(entries.map((s) => s.fallbackReason ?? 'model'));
    for (const expected of ['model', 'no_model', 'model_error']) expect(reasons).toContain(expected);
    // On a busy machine a run may also miss its deadline; nothing else is allowed.
    for (const seen of reasons) expect(['model', 'no_model', 'model_error', 'deadline']).toContain(seen);
    for (const s of entries.filter((e) => e.source === 'rules')) {
      expect(s.modelVersion).toBe('rules-1.0.0');
      expect(s.probability).toBeNull();
    }
  });

  it('falls back with reason deadline when inference would miss the latency budget', async () => {
    models.model = slow(model, 400);
    const { status, body } = await score([leads[0]!.Id, leads[1]!.Id]);
    models.model = model;
    expect(status).toBe(200);
    expect(body.scores.map((s) => s.fallbackReason)).toEqual(['deadline', 'deadline']);
    expect(body.scores.map((s) => s.source)).toEqual(['rules', 'rules']);
  });

  it('counts scores by source and fallbacks by reason in /metrics, and shows the rule set when no model', async () => {
    models.model = null;
    await score([leads[2]!.Id]);
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const reason of ['no_model', 'model_error', 'deadline']) {
      expect(text).toMatch(new RegExp(`leadrank_fallbacks_total\\{reason="${reason}"\\} [1-9]`));
    }
    expect(text).toMatch(/leadrank_scores_total\{source="rules"\} [1-9]/);
    expect(text).toContain('leadrank_model_info{version="rules-1.0.0",mode="rules"} 1');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503); // no model and rules-only mode not configured
    models.model = model;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});

describe('rules-only mode', () => {
  it('is ready without a model when LEADRANK_RULES_ONLY is set, and scores by rules', async () => {
    const auditDir = await mkdtemp(join(tmpdir(), 'api-rules-only-'));
    const { stop, port, sidecar } = await startServer(
      {
        REGION: 'US',
        PORT: '0',
        HOST: '127.0.0.1',
        LEADRANK_RULES_ONLY: '1',
        LEADRANK_CLIENTS: CLIENTS,
        LEADRANK_TOKEN_SIGNING_KEY: 'fallback-signing-key-0123456789abcdef0123',
        LEADRANK_AUDIT_DIR: auditDir,
        LEADRANK_AUDIT_FSYNC: 'none',
        LEADRANK_STATE_DIR: `${auditDir}-state`,
        LEADRANK_MODEL_DIR: join(work, 'no-such-model'),
      },
      { logger: silent },
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      const ready = (await (await fetch(`${base}/readyz`)).json()) as {
        ready: boolean;
        checks: { model: { mode: string; lastError: string } };
      };
      expect(ready.ready).toBe(true);
      expect(ready.checks.model.mode).toBe('rules-only');
      expect(ready.checks.model.lastError).toContain('does not exist');
      const lead = syntheticLead(60_000, 'US', Date.now(), seeded(1));
      await sidecar.store.putLeads([lead]);
      const token = await tokenFor(base);
      const res = await fetch(`${base}/v1/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ id: lead.Id }),
      });
      const body = (await res.json()) as {
        modelVersion: string;
        scores: { source: string; fallbackReason: string }[];
      };
      expect(body.modelVersion).toBe('rules-1.0.0');
      expect(body.scores[0]).toMatchObject({ source: 'rules', fallbackReason: 'no_model' });
    } finally {
      await stop();
      await rm(auditDir, { recursive: true, force: true });
      await rm(`${auditDir}-state`, { recursive: true, force: true });
    }
  });
});
