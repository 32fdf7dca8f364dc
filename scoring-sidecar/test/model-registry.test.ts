// The TypeScript registry reader and `leadrank model ...` against a registry written by the Python CLI.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeFeatureSpec, writeTrainingSet, type TrainingRow } from '../src/features/training-set-file.js';
import { registerModelCommands } from '../src/commands/model.js';
import { pythonModuleOutput } from '../src/model/python.js';
import { LocalRegistryStore, ModelRegistry, openRegistryStore } from '../src/model/registry.js';
import { seeded } from './support/seeded.js';

const py = (module: string, ...args: string[]) =>
  pythonModuleOutput(module, args, { LEADRANK_ACTOR: 'registry-test' });

const INDUSTRIES = ['Tech', 'Finance', 'Health', 'Retail'];
const SOURCES = ['Web', 'Referral', 'Event', 'Partner'];
// Names and kinds the serving code computes (LEAD_CONVERSION_FEATURES); `visits` it does not.
const SERVABLE = [
  { name: 'intent_score', kind: 'numeric' as const, description: 'intent' },
  { name: 'campaign_count', kind: 'numeric' as const, description: 'campaigns' },
  { name: 'do_not_call', kind: 'boolean' as const, description: 'do not call' },
  { name: 'industry', kind: 'categorical' as const, categories: INDUSTRIES, description: 'industry' },
  { name: 'lead_source', kind: 'categorical' as const, categories: SOURCES, description: 'source' },
];
const UNSERVABLE = [...SERVABLE, { name: 'visits', kind: 'numeric' as const, description: 'not served' }];

function* rows(n: number, seed: number, extra: boolean): Generator<TrainingRow> {
  const rand = seeded(seed);
  for (let i = 0; i < n; i++) {
    const intent = rand() * 100;
    const campaigns = Math.floor(rand() * 5);
    const dnc = rand() < 0.2 ? 1 : 0;
    const industry = rand() < 0.1 ? null : Math.floor(rand() * INDUSTRIES.length);
    const source = Math.floor(rand() * SOURCES.length);
    const z = -2 + 0.03 * intent + 0.2 * campaigns - dnc + (industry ?? 1) * 0.2 + (source === 1 ? 0.8 : 0);
    yield {
      leadId: `R${seed}-${i}`,
      snapshotAt: new Date(Date.UTC(2025, 0, 1) + i * 600_000),
      label: rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0,
      segments: { region: ['EMEA', 'NA'][i % 2] ?? null, leadSource: SOURCES[source] ?? null },
      values: [intent, campaigns, dnc, industry, source, ...(extra ? [rand()] : [])],
    };
  }
}

/** Writes a training set with the TS writer and trains it with the Python trainer; returns the model dir. */
async function trainModel(
  work: string,
  name: string,
  seed: number,
  n: number,
  extra = false,
): Promise<string> {
  const spec = makeFeatureSpec(
    extra ? 'registry-test-extra' : 'registry-test',
    extra ? UNSERVABLE : SERVABLE,
  );
  await writeTrainingSet(join(work, `${name}-data`), spec, rows(n, seed, extra));
  await py('leadrank_training.train', '--data', join(work, `${name}-data`), '--out', join(work, name));
  return join(work, name);
}

const versionOf = async (dir: string) =>
  (JSON.parse(await readFile(join(dir, 'model_card.json'), 'utf8')) as { version: string }).version;

describe('model registry (TypeScript reader of the Python-written registry)', () => {
  let work: string;
  let registryDir: string;
  let registry: ModelRegistry;
  let a: string;
  let c: string;
  const models: Record<string, string> = {};

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'model-registry-'));
    registryDir = join(work, 'registry');
    [models.a, models.c] = await Promise.all([
      trainModel(work, 'a', 1, 8000),
      trainModel(work, 'c', 3, 3000, true),
    ]);
    const holdoutSpec = makeFeatureSpec('registry-test', SERVABLE);
    await writeTrainingSet(join(work, 'holdout'), holdoutSpec, rows(8000, 9, false));
    for (const m of ['a', 'c'])
      await py('leadrank_training.registry', '--registry', registryDir, 'register', models[m]!);
    [a, c] = await Promise.all([versionOf(models.a!), versionOf(models.c!)]);
    await py(
      'leadrank_training.registry',
      '--registry',
      registryDir,
      'alias',
      'set',
      'champion',
      a,
      '--reason',
      'first',
    );
    await py(
      'leadrank_training.registry',
      '--registry',
      registryDir,
      'alias',
      'set',
      'challenger',
      c,
      '--reason',
      'next',
    );
    registry = ModelRegistry.open(registryDir);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('reads versions, aliases and the alias log', async () => {
    expect(await registry.versions()).toEqual([a, c]);
    const champion = await registry.alias('champion');
    expect(champion).toMatchObject({
      alias: 'champion',
      version: a,
      previous_version: null,
      reason: 'first',
    });
    expect(champion?.updated_by).toBe('registry-test');
    const log = await registry.aliasLog();
    expect(log.map((e) => [e.alias, e.version])).toEqual([
      ['champion', a],
      ['challenger', c],
    ]);
    expect((await registry.card(a)).feature_spec.features).toBe(5);
    expect((await registry.featureSpec(c)).features.map((f) => f.name)).toContain('visits');
  });

  it('copies a version into the cache once and loads it with its content-hash version', async () => {
    const cache = join(work, 'cache-load');
    const dir = await registry.fetchVersion(a, cache);
    expect(await readFile(join(dir, 'model.onnx'))).toEqual(await readFile(join(models.a!, 'model.onnx')));
    expect(await registry.fetchVersion(a, cache)).toBe(dir);
    const model = await registry.loadVersion(a, cache);
    try {
      expect(model.version).toBe(a);
      const p = await model.predict(new Float32Array([90, 3, 0, 0, 1, 5, 0, 1, 2, 0]), 2);
      expect(p[0]).toBeGreaterThan(p[1]!);
    } finally {
      await model.close();
    }
  });

  it('refuses artifacts that do not match the manifest and leaves no partial copy', async () => {
    const tampered = join(work, 'tampered');
    await cp(registryDir, tampered, { recursive: true });
    await writeFile(join(tampered, 'versions', a, 'calibration.json'), '{"method":"none"}');
    const cache = join(work, 'cache-tampered');
    await expect(ModelRegistry.open(tampered).fetchVersion(a, cache)).rejects.toThrow(
      /does not match its manifest/,
    );
    expect(await readdir(cache)).toEqual([]);
    await expect(registry.fetchVersion('lr-0000000000000000', cache)).rejects.toThrow(/not in the registry/);
  });

  it('opens local registries by path or file URL, and says S3 is read by the Python side', async () => {
    expect(openRegistryStore(registryDir)).toBeInstanceOf(LocalRegistryStore);
    expect(openRegistryStore(pathToFileURL(registryDir).href).url).toBe(`file://${registryDir}`);
    expect(() => openRegistryStore('s3://bucket/prefix')).toThrow(/local registries only/);
    await expect(new LocalRegistryStore(registryDir).read('../../etc/passwd')).rejects.toThrow(/escapes/);
  });

  describe('leadrank model', () => {
    async function cli(...args: string[]): Promise<{ out: string[]; err: string[]; code: number }> {
      const out: string[] = [];
      const err: string[] = [];
      const program = new Command().exitOverride();
      registerModelCommands(program, { out: (l) => out.push(l), err: (l) => err.push(l) });
      await program.parseAsync(['model', ...args], { from: 'user' });
      return { out, err, code: Number(process.exitCode ?? 0) };
    }

    it('list marks the aliases; show says whether the serving code can feed a version', async () => {
      const { out } = await cli('--registry', registryDir, 'list');
      expect(out).toHaveLength(2);
      expect(out[0]).toMatch(new RegExp(`^${a} .*\\[champion\\]$`));
      expect(out[1]).toMatch(new RegExp(`^${c} .*\\[challenger\\]$`));
      const shown = JSON.parse((await cli('--registry', registryDir, 'show', 'champion')).out[0]!) as {
        version: string;
        servable: string;
      };
      expect(shown).toMatchObject({ version: a, servable: 'yes' });
      const other = JSON.parse((await cli('--registry', registryDir, 'show', c)).out[0]!) as {
        servable: string;
      };
      expect(other.servable).toMatch(/^no: .*visits/);
    });

    it('promote refuses a challenger with features the serving code lacks, before the gate runs', async () => {
      const { err, code } = await cli(
        '--registry',
        registryDir,
        'promote',
        '--holdout',
        join(work, 'holdout'),
      );
      expect(code).toBe(1);
      expect(err.join('\n')).toMatch(
        new RegExp(`challenger ${c}: the serving code does not compute features: visits`),
      );
      expect((await registry.alias('champion'))?.version).toBe(a);
      expect(existsSync(join(registryDir, 'promotions'))).toBe(false); // the Python gate never ran
    });

    it('promote runs the Python gate with the serving features; rollback goes back', async () => {
      const fresh = join(work, 'fresh');
      await py(
        'leadrank_training.registry',
        '--registry',
        fresh,
        'register',
        models.a!,
        '--alias',
        'challenger',
      );
      const promoted = await cli(
        '--registry',
        fresh,
        'promote',
        '--holdout',
        join(work, 'holdout'),
        '--report-dir',
        join(work, 'report'),
      );
      expect(promoted.code).toBe(0);
      const freshRegistry = ModelRegistry.open(fresh);
      expect((await freshRegistry.alias('champion'))?.version).toBe(a);
      expect((await freshRegistry.alias('champion'))?.action).toBe('promote');
      expect(await readFile(join(work, 'report', 'promotion.md'), 'utf8')).toMatch(/PROMOTED/);
      process.exitCode = undefined;
      expect((await cli('--registry', fresh, 'rollback', '--reason', 'test')).code).toBe(1); // nothing before it
      expect((await freshRegistry.alias('champion'))?.version).toBe(a);
    });

    it('servable-features writes the list the Python gate reads', async () => {
      const file = join(work, 'servable.json');
      await cli('servable-features', '--out', file);
      const features = JSON.parse(await readFile(file, 'utf8')) as { name: string; kind: string }[];
      expect(features).toContainEqual({ name: 'intent_score', kind: 'numeric' });
      expect(features.some((f) => f.name === 'visits')).toBe(false);
    });
  });
});
