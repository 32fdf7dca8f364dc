// ModelHolder: hot swap under concurrent load while the alias is promoted and rolled back by the Python CLI;
// unservable or broken versions never replace the served model; in-flight predictions finish on the old one.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TrainingRow } from '../src/features/training-set-file.js';
import { ModelHolder } from '../src/model/model-holder.js';
import { loadOnnxModel, type OnnxModel } from '../src/model/onnx-scorer.js';
import { ModelRegistry } from '../src/model/registry.js';
import { py, registerModel, setAlias, trainLeadModel } from './support/registry-models.js';
import { seeded } from './support/seeded.js';

const silent = pino({ level: 'silent' });
const POLL_MS = 100;

/** Async on purpose: the prediction workers keep running while Python moves the alias. */

const SOURCES = ['Web', 'Referral', 'Event'];
// intent_score, campaign_count and lead_source are computed by the serving code; `visits` is not.
const SERVABLE = [
  { name: 'intent_score', kind: 'numeric' as const, description: 'intent' },
  { name: 'campaign_count', kind: 'numeric' as const, description: 'campaigns' },
  { name: 'lead_source', kind: 'categorical' as const, categories: SOURCES, description: 'source' },
];

function* rows(n: number, seed: number, extra: boolean): Generator<TrainingRow> {
  const rand = seeded(seed);
  for (let i = 0; i < n; i++) {
    const intent = rand() * 100;
    const campaigns = Math.floor(rand() * 5);
    const source = Math.floor(rand() * SOURCES.length);
    const z = -2 + 0.03 * intent + 0.2 * campaigns + (source === 1 ? 0.8 : 0);
    yield {
      leadId: `H${seed}-${i}`,
      snapshotAt: new Date(Date.UTC(2025, 0, 1) + i * 600_000),
      label: rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0,
      segments: { region: 'EMEA' },
      values: [intent, campaigns, source, ...(extra ? [rand()] : [])],
    };
  }
}

async function trainAndRegister(
  work: string,
  registry: string,
  seed: number,
  extra = false,
): Promise<string> {
  const features = extra
    ? [...SERVABLE, { name: 'visits', kind: 'numeric' as const, description: 'x' }]
    : SERVABLE;
  const model = await trainLeadModel(work, `model-${seed}`, 'holder-test', features, rows(2000, seed, extra));
  return registerModel(registry, model);
}

const setChampion = (registry: string, version: string) => setAlias(registry, 'champion', version);

const ROWS = 64;
const batch = new Float32Array(
  Array.from({ length: ROWS * 3 }, (_, i) => (i % 3 === 2 ? i % 2 : (i * 7) % 100)),
);

describe('ModelHolder', () => {
  let work: string;
  let registryDir: string;
  let a: string;
  let b: string;
  let unservable: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'model-holder-'));
    registryDir = join(work, 'registry');
    // Sequential: two registers writing the same fresh registry at once is not what production does.
    a = await trainAndRegister(work, registryDir, 1);
    b = await trainAndRegister(work, registryDir, 2);
    unservable = await trainAndRegister(work, registryDir, 3, true);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const holderFor = (dir: string, extra: Partial<ConstructorParameters<typeof ModelHolder>[0]> = {}) =>
    new ModelHolder({
      registry: ModelRegistry.open(dir),
      cacheDir: join(work, `cache-${Math.random().toString(36).slice(2)}`),
      pollIntervalMs: POLL_MS,
      retireGraceMs: 20,
      logger: silent,
      ...extra,
    });

  it('swaps under load while the champion is promoted and rolled back: no prediction fails', async () => {
    await setChampion(registryDir, a);
    const holder = holderFor(registryDir);
    await holder.start();
    expect(holder.current()?.version).toBe(a);

    const seen = new Map<string, number>();
    let failures = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const { version, probabilities } = await holder.predict(batch, ROWS);
          if (probabilities.length !== ROWS || probabilities.some((p) => !(p > 0 && p < 1))) failures++;
          seen.set(version, (seen.get(version) ?? 0) + 1);
        } catch {
          failures++;
        }
      }
    };
    const started = Date.now();
    const workers = Array.from({ length: 8 }, worker);

    await py(
      'leadrank_training.registry',
      '--registry',
      registryDir,
      'alias',
      'set',
      'champion',
      b,
      '--reason',
      'promote',
    );
    const promotedAt = Date.now();
    await vi.waitFor(() => expect(holder.current()?.version).toBe(b), { timeout: 10_000, interval: 10 });
    const promoteSeenMs = Date.now() - promotedAt;
    const predictionsOnA = seen.get(a) ?? 0;

    await py('leadrank_training.registry', '--registry', registryDir, 'rollback', '--reason', 'load test');
    const rolledBackAt = Date.now();
    await vi.waitFor(() => expect(holder.current()?.version).toBe(a), { timeout: 10_000, interval: 10 });
    const rollbackSeenMs = Date.now() - rolledBackAt;

    await new Promise((r) => setTimeout(r, Math.max(0, 3_000 - (Date.now() - started))));
    stop = true;
    await Promise.all(workers);
    await holder.stop();
    const total = [...seen.values()].reduce((s, n) => s + n, 0);
    console.log(
      `hot swap: ${total} predictions of ${ROWS} rows in ${Date.now() - started} ms, 8 workers, ` +
        `poll ${POLL_MS} ms; swap seen ${promoteSeenMs} ms after promote, ${rollbackSeenMs} ms after rollback`,
    );
    expect(failures).toBe(0);
    expect([...seen.keys()].sort()).toEqual([a, b].sort());
    expect(predictionsOnA).toBeGreaterThan(0);
    expect(seen.get(b)).toBeGreaterThan(0);
    expect(holder.status()).toMatchObject({ swaps: 3, lastError: null });
    await vi.waitFor(() => expect(holder.status().retiredOpen).toBe(0));
  });

  it('never swaps in a version whose spec needs a feature the serving code lacks', async () => {
    const dir = join(work, 'registry-unservable');
    await cp(registryDir, dir, { recursive: true });
    await setChampion(dir, unservable);
    const fromScratch = holderFor(dir);
    await fromScratch.start();
    expect(fromScratch.current()).toBeNull(); // the caller falls back to rules
    expect(fromScratch.status().lastError).toMatch(/does not compute features: visits/);
    await fromScratch.stop();

    await setChampion(dir, a);
    const holder = holderFor(dir);
    await holder.start();
    await setChampion(dir, unservable);
    await holder.checkNow();
    expect(holder.current()?.version).toBe(a);
    expect(holder.status()).toMatchObject({ version: a, swaps: 1 });
    expect(holder.status().lastError).toMatch(/visits/);
    await holder.stop();
  });

  it('keeps the old model and reports the error when a version fails to load', async () => {
    const dir = join(work, 'registry-broken');
    await cp(registryDir, dir, { recursive: true });
    await setChampion(dir, a);
    const holder = holderFor(dir);
    await holder.start();
    await writeFile(join(dir, 'versions', b, 'model.onnx'), 'not an onnx file');
    await setChampion(dir, b);
    await holder.checkNow();
    expect(holder.current()?.version).toBe(a);
    const status = holder.status();
    expect(status.lastError).toMatch(/does not match its manifest/);
    expect(status.lastErrorAt).not.toBeNull();
    expect((await holder.predict(batch, ROWS)).version).toBe(a);
    // Repaired: the next poll loads it and clears the error.
    await writeFile(
      join(dir, 'versions', b, 'model.onnx'),
      await readFile(join(registryDir, 'versions', b, 'model.onnx')),
    );
    await holder.checkNow();
    expect(holder.status()).toMatchObject({ version: b, lastError: null });
    await holder.stop();
  });

  it('finishes in-flight predictions on the old model before closing its session', async () => {
    const dir = join(work, 'registry-inflight');
    await cp(registryDir, dir, { recursive: true });
    await setChampion(dir, a);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const closed: string[] = [];
    const load = async (modelDir: string): Promise<OnnxModel> => {
      const model = await loadOnnxModel(modelDir);
      return {
        ...model,
        predict: async (rows, n) => {
          if (model.version === a) await gate; // hold predictions on the old model
          return model.predict(rows, n);
        },
        close: async () => {
          closed.push(model.version);
          await model.close();
        },
      };
    };
    const holder = holderFor(dir, { load, retireGraceMs: 0 });
    await holder.start();
    const inFlight = holder.predict(batch, ROWS);
    await setChampion(dir, b);
    await holder.checkNow();
    expect(holder.current()?.version).toBe(b);
    expect(holder.status().retiredOpen).toBe(1);
    expect(closed).toEqual([]);
    release();
    const result = await inFlight;
    expect(result.version).toBe(a);
    expect(result.probabilities).toHaveLength(ROWS);
    expect(closed).toEqual([a]);
    expect(holder.status().retiredOpen).toBe(0);
    await holder.stop();
    expect(closed).toEqual([a, b]);
  });
});
