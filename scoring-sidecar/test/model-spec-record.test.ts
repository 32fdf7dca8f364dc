// A model records the spec configuration it was trained with (hash, content, overrides with their reasons),
// and serving judges it against the active spec: same spec → the active definitions; another spec → its own
// definitions when the store holds every field it reads, refused naming the missing fields when not.
// Real runs: the training set from the interpreter, Python training, the registry CLI and the ModelHolder.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerModelCommands } from '../src/commands/model.js';
import {
  ACTIVE_SPEC,
  computeFeatures,
  encodeFeatures,
  featureConfigHash,
  interpretSpec,
  parseFeatureConfig,
  recordTrainingSet,
  specSource,
  storedLeadFields,
  writeTrainingSet,
  type ActiveSpec,
  type FeatureConfig,
} from '../src/features/index.js';
import { ModelHolder } from '../src/model/model-holder.js';
import { ModelRegistry } from '../src/model/registry.js';
import { pythonModuleOutput } from '../src/model/python.js';
import { seeded } from './support/seeded.js';

const py = (module: string, ...args: string[]) => pythonModuleOutput(module, args, {});
const silent = pino({ level: 'silent' });

/** A client's spec: standard fields, a custom field, and Title selected raw under an override. */
const CLIENT_SPEC = {
  specVersion: 1,
  name: 'client-budget',
  target: 'lead',
  object: 'Lead',
  eventTypes: [],
  calendar: false,
  features: [
    {
      name: 'lead_source',
      description: 'source',
      source: { field: 'LeadSource' },
      transform: { kind: 'categorical' },
    },
    {
      name: 'employees',
      description: 'size',
      source: { field: 'NumberOfEmployees' },
      transform: { kind: 'numeric', log: true },
    },
    {
      name: 'budget',
      description: 'stated budget',
      source: { field: 'Budget__c' },
      transform: { kind: 'numeric' },
    },
    {
      name: 'title_raw',
      description: 'job title as entered',
      source: { field: 'Title' },
      transform: { kind: 'categorical', topK: 5, other: true },
      override: { reason: 'titles here are role codes, reviewed by the DPO on 2026-11-30' },
    },
  ],
  training: {
    timeField: 'CreatedDate',
    outcome: { field: 'Status', positive: ['Closed - Converted'] },
    horizonDays: 30,
  },
};

const specText = (spec: object) => JSON.stringify(spec, null, 2);
const clientConfig = (patch: Partial<typeof CLIENT_SPEC> = {}): FeatureConfig =>
  parseFeatureConfig(specText({ ...CLIENT_SPEC, ...patch }), 'client.json');
const activeOf = (config: FeatureConfig): ActiveSpec => ({
  source: specSource(config, 'client.json'),
  definitions: interpretSpec(config),
});

const SOURCES = ['Web', 'Referral', 'Partner'];
const TITLES = ['R1', 'R2', 'R3', 'R4'];
function records(n: number, seed: number): Record<string, string>[] {
  const rand = seeded(seed);
  return Array.from({ length: n }, (_, i) => {
    const source = SOURCES[Math.floor(rand() * SOURCES.length)]!;
    const budget = Math.round(rand() * 100);
    const employees = Math.floor(rand() * 5000);
    const title = TITLES[Math.floor(rand() * TITLES.length)]!;
    const z = -2 + 0.04 * budget + (source === 'Referral' ? 0.8 : 0) + (title === 'R2' ? 0.6 : 0);
    return {
      Id: `00Q${String(i).padStart(12, '0')}`,
      CreatedDate: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
      LeadSource: source,
      NumberOfEmployees: String(employees),
      Budget__c: String(budget),
      Title: title,
      Status: rand() < 1 / (1 + Math.exp(-z)) ? 'Closed - Converted' : 'Closed - Not Converted',
    };
  });
}

describe('a model records its spec; servability compares it with the active spec', () => {
  let work: string;
  let registryDir: string;
  let version: string;
  const config = clientConfig();
  const data = records(2400, 7);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'model-spec-record-'));
    registryDir = join(work, 'registry');
    const { spec, rows } = recordTrainingSet(config, data, 'config/features/client-budget.json');
    await writeTrainingSet(join(work, 'data'), spec, rows);
    await py('leadrank_training.train', '--data', join(work, 'data'), '--out', join(work, 'model'));
    version = (
      JSON.parse(
        await py('leadrank_training.registry', '--registry', registryDir, 'register', join(work, 'model')),
      ) as { version: string }
    ).version;
    await py(
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
  }, 240_000);
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('writes the spec hash, content, target and overrides with reasons into the model card', async () => {
    const card = JSON.parse(await readFile(join(work, 'model', 'model_card.json'), 'utf8'));
    expect(card.feature_spec.config.hash).toBe(featureConfigHash(config));
    expect(card.feature_spec.config.file).toBe('config/features/client-budget.json');
    expect(card.feature_spec.config.content).toEqual(JSON.parse(JSON.stringify(config)));
    // The resolved target the labels follow (features/target.ts), from feature-spec.json into the card.
    expect(card.feature_spec.target).toEqual({
      builder: 'record',
      timeField: 'CreatedDate',
      outcome: { field: 'Status', positive: ['Closed - Converted'] },
      horizonDays: 30,
    });
    expect(card.feature_spec.overrides).toEqual([
      {
        feature: 'title_raw',
        field: 'Title',
        reason: 'titles here are role codes, reviewed by the DPO on 2026-11-30',
      },
    ]);
    // The recorded spec is part of the version: the registry serves it back intact and checked.
    const recorded = await ModelRegistry.open(registryDir).featureSpec(version);
    expect(recorded.source?.hash).toBe(featureConfigHash(config));
  });

  const holderWith = (active: ActiveSpec, storeFields?: string[]) =>
    new ModelHolder({
      registry: ModelRegistry.open(registryDir),
      cacheDir: join(work, `cache-${Math.random().toString(36).slice(2)}`),
      logger: silent,
      active,
      ...(storeFields ? { storeFields } : {}),
    });

  it('refuses the model under the lead spec, naming the fields the store does not hold', async () => {
    const holder = holderWith(ACTIVE_SPEC);
    await holder.start();
    expect(holder.current()).toBeNull();
    const error = holder.status().lastError!;
    expect(error).toContain(`${version} is not servable`);
    expect(error).toContain('differs from the active spec lead-conversion');
    expect(error).toMatch(/does not hold: Lead\.Budget__c$|does not hold: Lead\.Budget__c \(/);
    expect(error).not.toContain('Lead.LeadSource'); // the profile holds it
    await holder.stop();
  });

  it('hot-swaps to the model under another active spec when the store holds what it reads', async () => {
    // The active spec differs (no title feature, another name) but reads Budget__c: the store keeps it.
    const other = clientConfig({
      name: 'client-budget-v2',
      features: CLIENT_SPEC.features.filter((f) => f.name !== 'title_raw'),
    });
    expect(featureConfigHash(other)).not.toBe(featureConfigHash(config));
    expect(storedLeadFields(other)).toContain('Budget__c');
    const holder = holderWith(activeOf(other));
    await holder.start();
    const served = holder.current();
    expect(served?.version).toBe(version);
    expect(served?.definitions.map((d) => d.name)).toEqual([
      'lead_source',
      'employees',
      'budget',
      'title_raw',
    ]);
    // The served definitions compute what the training set holds for the same record.
    const record = data[5]!;
    const at = Date.parse(record.CreatedDate!);
    const online = encodeFeatures(
      served!.spec,
      computeFeatures(
        served!.definitions,
        { lead: record as never, events: null as never, erp: null, marketing: null },
        at,
      ),
    );
    const offline = recordTrainingSet(config, data).rows.find((r) => r.leadId === record.Id)!.values;
    expect(online).toEqual(offline);
    await holder.stop();
  });

  it('serves the model with the active definitions when the active spec is the one it was trained with', async () => {
    const active = activeOf(clientConfig());
    const holder = holderWith(active);
    await holder.start();
    expect(holder.current()?.version).toBe(version);
    expect(holder.current()?.definitions).toEqual([...active.definitions]);
    await holder.stop();
  });

  it('`leadrank model show --spec` says whether the model is servable and lists its overrides', async () => {
    const run = async (...args: string[]) => {
      const lines: string[] = [];
      const program = new Command().exitOverride();
      registerModelCommands(program, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
      await program.parseAsync(['node', 'leadrank', 'model', '--registry', registryDir, ...args]);
      return JSON.parse(lines.join('\n'));
    };
    const refused = await run('show', 'champion');
    expect(refused.servable).toMatch(/^no: .*Lead\.Budget__c/);
    expect(refused.featureSpec.overrides[0].reason).toMatch(/reviewed by the DPO/);
    expect(refused.featureSpec.config.hash).toBe(featureConfigHash(config));
  });
});
