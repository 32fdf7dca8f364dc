// Residency of learning end to end: per-region training sets built from the org with --region (the other
// region's rows never read), per-region training runs whose model card says the region, a registry keyed by
// region, and deployments that serve only their region's models. Pooling needs config/residency.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrainCommands } from '../src/commands/train.js';
import { registerTrainingSetCommands } from '../src/commands/training-set.js';
import { leadrankInProcess, startGeneratedOrg, type GeneratedOrg } from './support/generated-org.js';
import { checkModelResidency, ModelRegistry, runPythonModule } from '../src/model/index.js';

const dataEnd = '2026-11-24T00:00:00.000Z';
const app = { clientId: 'training-residency-test', clientSecret: 'training-residency-secret' };
let org: GeneratedOrg;
let root: string;
const savedEnv = { ...process.env };

const leadrank = leadrankInProcess(registerTrainCommands, registerTrainingSetCommands);

const build = (region: string | null, out: string) =>
  leadrank([
    'training-set',
    'build',
    ...(region ? ['--region', region] : []),
    '--out',
    out,
    '--events',
    join(root, 'data', 'events.ndjson.gz'),
    '--extracts',
    join(root, 'data', 'extracts'),
    '--data-end',
    dataEnd,
  ]);

const leadIdsOf = async (dir: string) =>
  (
    await parquetReadObjects({
      file: await asyncBufferFromFile(join(dir, 'training-set.parquet')),
      columns: ['lead_id', 'seg_region'],
    })
  ).map((r) => ({ id: String(r.lead_id), region: String(r.seg_region) }));

beforeAll(async () => {
  org = await startGeneratedOrg('leadrank-training-residency', app, {
    seed: 11,
    active: 300,
    historical: 1200,
    dataEnd,
    euShare: 0.4,
    historyDays: 540,
  });
  root = org.root;
  Object.assign(process.env, org.env);
}, 180_000);
afterAll(async () => {
  process.env = savedEnv;
  await org?.close();
});

describe('residency of learning', () => {
  it('builds per-region sets (no US lead in the EU set), trains an EU model whose card says EU, serves it only in EU', async () => {
    const eu = join(root, 'sets', 'EU');
    const us = join(root, 'sets', 'US');
    const builtEu = JSON.parse((await build('EU', eu)).at(-1)!) as { region: string; pooled: boolean };
    expect(builtEu).toMatchObject({ region: 'EU', pooled: false });
    await build('US', us);

    // The org's own answer: which leads are US.
    const usInOrg = new Set(
      (
        org.sim.ctx.store.page(
          org.sim.ctx.store.compileQuery("SELECT Id FROM Lead WHERE Data_Region__c = 'US'"),
          null,
          100_000,
        ).records as { Id: string }[]
      ).map((r) => r.Id),
    );
    expect(usInOrg.size).toBeGreaterThan(100);
    const euRows = await leadIdsOf(eu);
    const usRows = await leadIdsOf(us);
    expect(euRows.length).toBeGreaterThan(0);
    expect(euRows.filter((r) => usInOrg.has(r.id))).toEqual([]);
    expect(new Set(euRows.map((r) => r.region))).toEqual(new Set(['EU']));
    expect(usRows.every((r) => usInOrg.has(r.id))).toBe(true);
    expect(JSON.parse(await readFile(join(eu, 'residency.json'), 'utf8'))).toMatchObject({
      region: 'EU',
      pooled: false,
    });

    // The US run refuses the EU set; the EU run trains on it and records the region on the card.
    const euModel = join(root, 'models', 'EU');
    await expect(
      leadrank(['model', 'train', '--region', 'US', '--data', eu, '--out', join(root, 'x')]),
    ).rejects.toThrow(/--region US: the training set in .* is EU/);
    await leadrank(['model', 'train', '--region', 'EU', '--data', eu, '--out', euModel]);
    const card = JSON.parse(await readFile(join(euModel, 'model_card.json'), 'utf8')) as {
      residency: { region: string; pooled: boolean; regions: string[] };
    };
    expect(card.residency).toEqual({ region: 'EU', pooled: false, regions: ['EU'] });

    // Deployments: the EU one serves it, the US one refuses it.
    expect(await checkModelResidency(euModel, 'EU', { pooledTraining: false })).toBe('region');
    await expect(checkModelResidency(euModel, 'US', { pooledTraining: false })).rejects.toThrow(
      /trained on EU rows: not served in region US/,
    );

    // The registry keyed by region: the US registry refuses the EU model; the EU one takes it, and a
    // deployment of EU reads regions/EU/ only.
    const registry = join(root, 'registry');
    expect(
      await runPythonModule('leadrank_training.registry', [
        '--registry',
        registry,
        '--region',
        'US',
        'register',
        euModel,
      ]),
    ).toBe(1);
    expect(
      await runPythonModule('leadrank_training.registry', [
        '--registry',
        registry,
        '--region',
        'EU',
        'register',
        euModel,
        '--alias',
        'champion',
      ]),
    ).toBe(0);
    expect(existsSync(join(registry, 'regions', 'EU', 'aliases', 'champion.json'))).toBe(true);
    expect((await ModelRegistry.open(registry, 'EU').alias('champion'))?.version).toBeTruthy();
    expect(await ModelRegistry.open(registry, 'US').alias('champion')).toBeNull();
  }, 900_000);

  it('pools only with config/residency.json pooledTraining, and says so on the set', async () => {
    await expect(build(null, join(root, 'sets', 'pooled'))).rejects.toThrow(
      /--region is required: training sets are per region \(config\/residency\.json pooledTraining is false\)/,
    );
    expect(existsSync(join(root, 'sets', 'pooled'))).toBe(false);
    const configDir = join(root, 'config-pooled');
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'residency.json'), JSON.stringify({ pooledTraining: true }));
    process.env.LEADRANK_CONFIG_DIR = configDir;
    try {
      const built = JSON.parse((await build(null, join(root, 'sets', 'pooled'))).at(-1)!) as {
        pooled: boolean;
      };
      expect(built.pooled).toBe(true);
      const regions = new Set((await leadIdsOf(join(root, 'sets', 'pooled'))).map((r) => r.region));
      expect(regions).toEqual(new Set(['US', 'EU']));
    } finally {
      delete process.env.LEADRANK_CONFIG_DIR;
    }
    // A pooled model's card says so; a deployment serves it only with pooling allowed.
    const pooledModel = join(root, 'models', 'pooled-card');
    mkdirSync(pooledModel, { recursive: true });
    writeFileSync(
      join(pooledModel, 'model_card.json'),
      JSON.stringify({ residency: { region: null, pooled: true, regions: ['EU', 'US'] } }),
    );
    await expect(checkModelResidency(pooledModel, 'EU', { pooledTraining: false })).rejects.toThrow(
      /trained on pooled regions, and config\/residency\.json pooledTraining is false/,
    );
    expect(await checkModelResidency(pooledModel, 'EU', { pooledTraining: true })).toBe('pooled');
  }, 600_000);
});
