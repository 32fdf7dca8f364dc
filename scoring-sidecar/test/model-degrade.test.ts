// Degrade, don't stop: a model that cannot be loaded or read (its cached files missing or corrupt, a hot swap
// to such a version) leaves the previous model serving, or rules with fallbackReason 'model_unavailable';
// never a 500. /healthz tells a process that cannot score (model source throwing, scores failing) from one
// that scores by rules.
import { createHash } from 'node:crypto';
import { cp, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelHolder } from '../src/model/model-holder.js';
import { pythonModuleOutput } from '../src/model/python.js';
import { ModelRegistry } from '../src/model/registry.js';
import {
  holderModelSource,
  prepareServingExtras,
  type ModelSource,
  type ServingExtras,
} from '../src/scoring/model-source.js';
import { startServer } from '../src/server.js';
import { seeded, syntheticLead, trainSyntheticModel } from './api-test-kit.js';

const SECRET = 'degrade-secret';
const CLIENTS = JSON.stringify([
  {
    clientId: 'apex-us',
    clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
    region: 'US',
    name: 'Apex',
  },
]);
const silent = pino({ level: 'silent' });
const py = (module: string, ...args: string[]) => pythonModuleOutput(module, args, {});

let work: string;
let registryDir: string;
let v1: string;
let v2: string;

async function register(modelDir: string): Promise<string> {
  const out = await py('leadrank_training.registry', '--registry', registryDir, 'register', modelDir);
  return (JSON.parse(out) as { version: string }).version;
}

const setChampion = (version: string) =>
  py(
    'leadrank_training.registry',
    '--registry',
    registryDir,
    'alias',
    'set',
    'champion',
    version,
    '--reason',
    'test',
  );

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'model-degrade-'));
  registryDir = join(work, 'registry');
  v1 = await register(await trainSyntheticModel(join(work, 'a'), 1500, 31));
  v2 = await register(await trainSyntheticModel(join(work, 'b'), 1500, 32));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A cache holding `version` with model.json broken the given way (the ONNX file itself loads fine). */
async function brokenCache(version: string, how: 'missing' | 'corrupt'): Promise<string> {
  const cacheDir = await mkdtemp(join(work, 'cache-'));
  const dir = await ModelRegistry.open(registryDir).fetchVersion(version, cacheDir);
  if (how === 'missing') await unlink(join(dir, 'model.json'));
  else await writeFile(join(dir, 'model.json'), '{"tree_info": [trunc');
  return cacheDir;
}

async function serve(env: Record<string, string>, models?: ModelSource, audit?: { append(): Promise<void> }) {
  const stateDir = await mkdtemp(join(work, 'state-'));
  const started = await startServer(
    {
      REGION: 'US',
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_CLIENTS: CLIENTS,
      LEADRANK_TOKEN_SIGNING_KEY: 'degrade-signing-key-0123456789abcdef0123',
      LEADRANK_AUDIT_DIR: join(stateDir, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: stateDir,
      LEADRANK_REGISTRY_URL: registryDir,
      ...env,
    },
    { logger: silent, ...(models ? { models } : {}), ...(audit ? { audit } : {}) },
  );
  const base = `http://127.0.0.1:${started.port}`;
  const tokenRes = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=apex-us&client_secret=${SECRET}`,
  });
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const lead = syntheticLead(70_000, 'US', Date.now(), seeded(3));
  await started.sidecar.store.putLeads([lead]);
  const score = async () => {
    const res = await fetch(`${base}/v1/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ id: lead.Id }),
    });
    return { status: res.status, body: (await res.json()) as { scores?: Record<string, unknown>[] } };
  };
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { score, get, stop: started.stop };
}

describe('a model whose cached files cannot be read', () => {
  for (const how of ['missing', 'corrupt'] as const) {
    it(`scores by rules with model_unavailable when model.json is ${how}, never a 500`, async () => {
      await setChampion(v1);
      const cacheDir = await brokenCache(v1, how);
      const s = await serve({ LEADRANK_MODEL_CACHE_DIR: cacheDir });
      try {
        for (let i = 0; i < 3; i++) {
          const { status, body } = await s.score();
          expect(status).toBe(200);
          expect(body.scores?.[0]).toMatchObject({ source: 'rules', fallbackReason: 'model_unavailable' });
        }
        const ready = await s.get('/readyz');
        expect(ready.status).toBe(503);
        expect(JSON.stringify(ready.json)).toContain('model.json');
        // Alive and degraded: rules answer, so a restart is not the remedy.
        const health = await s.get('/healthz');
        expect(health.status).toBe(200);
        expect(health.json).toMatchObject({ status: 'ok', scoring: 'rules' });
      } finally {
        await s.stop();
      }
    });
  }

  it('keeps the previous model serving when a hot swap meets an unreadable version', async () => {
    await setChampion(v1);
    const cacheDir = await brokenCache(v2, 'corrupt');
    const holder = new ModelHolder<ServingExtras>({
      registry: ModelRegistry.open(registryDir),
      cacheDir,
      prepare: prepareServingExtras,
      pollIntervalMs: 60_000,
      logger: silent,
    });
    await holder.start();
    const source = holderModelSource(holder);
    try {
      expect(source.current()?.version).toBe(v1);
      await setChampion(v2);
      await holder.checkNow();
      const current = source.current();
      expect(current?.version).toBe(v1);
      expect(source.status().lastError).toContain('model.json');
      expect(source.status().unavailable).toBe(false);
      // The previous model still predicts and explains.
      const width = current!.features.length;
      const rows = new Float32Array(width).fill(Number.NaN);
      expect((await current!.predict(rows, 1))[0]).toBeGreaterThan(0);
      expect(current!.explainer.explainBatch(new Float64Array(width).fill(Number.NaN), 1).length).toBe(
        width + 1,
      );
    } finally {
      await holder.stop();
    }
  });

  it('a model directory with missing files scores by rules with model_unavailable', async () => {
    const dir = join(work, 'dir-missing');
    await cp(await ModelRegistry.open(registryDir).fetchVersion(v1, join(work, 'cache-dir')), dir, {
      recursive: true,
    });
    await unlink(join(dir, 'model.onnx'));
    const s = await serve({ LEADRANK_MODEL_DIR: dir });
    try {
      const { status, body } = await s.score();
      expect(status).toBe(200);
      expect(body.scores?.[0]).toMatchObject({ source: 'rules', fallbackReason: 'model_unavailable' });
    } finally {
      await s.stop();
    }
  });
});

describe('/healthz', () => {
  it('fails when the model source itself throws', async () => {
    const throwing: ModelSource = {
      current: () => {
        throw new Error('cache unreadable');
      },
      status: () => ({ version: null, loadedAt: null, lastError: 'cache unreadable', unavailable: true }),
      close: async () => {},
    };
    const s = await serve({}, throwing);
    try {
      const { status, body } = await s.score();
      expect(status).toBe(200);
      expect(body.scores?.[0]).toMatchObject({ source: 'rules', fallbackReason: 'model_unavailable' });
      const health = await s.get('/healthz');
      expect(health.status).toBe(503);
      expect(health.json).toMatchObject({ status: 'failing', scoring: 'failing' });
      expect(String(health.json.detail)).toContain('cache unreadable');
    } finally {
      await s.stop();
    }
  });

  it('fails after consecutive server errors on /v1/score, and recovers when scores answer again', async () => {
    let broken = true;
    const audit = {
      append: async () => {
        if (broken) throw new Error('audit disk full');
      },
    };
    await setChampion(v1);
    const s = await serve(
      { LEADRANK_RULES_ONLY: '1', LEADRANK_MODEL_DIR: join(work, 'none') },
      undefined,
      audit,
    );
    try {
      expect((await s.get('/healthz')).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await s.score()).status).toBe(500);
      const health = await s.get('/healthz');
      expect(health.status).toBe(503);
      expect(health.json).toMatchObject({ consecutiveScoreErrors: 5 });
      broken = false;
      expect((await s.score()).status).toBe(200);
      expect((await s.get('/healthz')).status).toBe(200);
    } finally {
      await s.stop();
    }
  });
});
