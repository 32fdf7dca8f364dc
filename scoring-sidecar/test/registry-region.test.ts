// `leadrank model train --register` registers in the model's region's registry (regions/<region>/: --region,
// else the training set's residency), for lead and deal models, and serving in that region finds it: a
// serving process that started on the root's models swaps to the region's first registration without a
// restart, and a region holding only deal models still serves the root's lead models. `leadrank model
// --region` lists, shows, promotes and rolls back in that registry. Real Python trainer and registry.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeFeatureSpec, writeTrainingSet } from '../src/features/training-set-file.js';
import { ModelRegistry } from '../src/model/registry.js';
import { opportunityModelSource } from '../src/scoring/index.js';
import {
  lastJson,
  modelCli,
  registerModel,
  TWO_FEATURES,
  twoFeatureRows,
  until,
  writeDealTrainingSet,
} from './support/registry-models.js';

const silent = pino({ level: 'silent' });

interface Registered {
  registered: { version: string; alias: string; region: string | null; registry: string };
}

describe('registering a model in its region', () => {
  let work: string;
  let registry: string;
  let leadSet: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'registry-region-'));
    registry = join(work, 'registry');
    leadSet = join(work, 'lead-us');
    await writeTrainingSet(
      leadSet,
      makeFeatureSpec('lead-test', TWO_FEATURES),
      twoFeatureRows(2000, 4, 'US'),
    );
    await writeFile(join(leadSet, 'residency.json'), JSON.stringify({ region: 'US', pooled: false }));
    await Promise.all([
      writeDealTrainingSet(join(work, 'deals-a'), 3000, 1, 'US'),
      writeDealTrainingSet(join(work, 'deals-b'), 4000, 2, 'US'),
    ]);
  }, 120_000);
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('a lead model lands in regions/<its set region>/, and model --region reads it there only', async () => {
    const trained = await modelCli(
      '--registry',
      registry,
      'train',
      '--data',
      leadSet,
      '--out',
      join(work, 'lead-model'),
      '--register',
      'challenger',
    );
    expect(trained.err).toEqual([]);
    const { registered } = lastJson<Registered>(trained.out);
    expect(registered).toMatchObject({
      alias: 'challenger',
      region: 'US',
      registry: `file://${join(registry, 'regions', 'US')}`,
    });
    expect(existsSync(join(registry, 'regions', 'US', 'versions', registered.version, 'manifest.json'))).toBe(
      true,
    );
    expect(existsSync(join(registry, 'versions'))).toBe(false);
    // A US deployment reads it; the EU one and the root do not.
    expect((await ModelRegistry.open(registry, 'US').alias('challenger'))?.version).toBe(registered.version);
    expect(await ModelRegistry.open(registry, 'EU', 'lead', { strict: true }).versions()).toEqual([]);
    expect(await ModelRegistry.open(registry).versions()).toEqual([]);

    const us = await modelCli('--registry', registry, '--region', 'US', 'list');
    expect(us.out.join('\n')).toContain(`${registered.version}  lead-test`);
    const root = await modelCli('--registry', registry, 'list');
    expect(root.out).toEqual([`no lead versions in file://${registry}`]);
    const shown = await modelCli('--registry', registry, '--region', 'US', 'show', 'challenger');
    expect((JSON.parse(shown.out[0]!) as { version: string }).version).toBe(registered.version);
    const eu = await modelCli('--registry', registry, '--region', 'EU', 'show', 'challenger');
    expect(eu.err.join('\n')).toContain(
      `alias challenger is not set in file://${join(registry, 'regions', 'EU')}`,
    );
    process.exitCode = undefined;
    const bad = await modelCli('--registry', registry, '--region', 'APAC', 'list');
    expect(bad.err.join('\n')).toContain('--region must be US or EU, not APAC');
  }, 180_000);

  it('a deal model registered with --region is served in that region, swapping from the root without a restart', async () => {
    // A deal champion registered before regions (at the root's targets/opportunity/), served in US.
    const legacy = join(work, 'deal-a');
    const trainedA = await modelCli(
      '--registry',
      join(work, 'scratch'),
      'train',
      '--target',
      'opportunity',
      '--data',
      join(work, 'deals-a'),
      '--out',
      legacy,
    );
    expect(trainedA.err).toEqual([]);
    const rootRegistry = join(work, 'deal-registry');
    const a = await registerModel(rootRegistry, legacy, { target: 'opportunity', alias: 'champion' });
    const source = await opportunityModelSource({
      registryUrl: rootRegistry,
      region: 'US',
      cacheDir: join(work, 'cache'),
      pollIntervalMs: 100,
      logger: silent,
    });
    try {
      expect(source.current()?.version).toBe(a);

      const trainedB = await modelCli(
        '--registry',
        rootRegistry,
        'train',
        '--target',
        'opportunity',
        '--region',
        'US',
        '--data',
        join(work, 'deals-b'),
        '--out',
        join(work, 'deal-b'),
        '--register',
        'champion',
      );
      expect(trainedB.err).toEqual([]);
      const { registered } = lastJson<Registered>(trainedB.out);
      expect(registered.registry).toBe(
        `file://${join(rootRegistry, 'regions', 'US', 'targets', 'opportunity')}`,
      );
      const b = registered.version;
      expect(b).not.toBe(a);
      expect(
        await until(
          () => source.current()?.version,
          (v) => v === b,
        ),
      ).toBe(b);
      // The region now holds only deal models: US lead serving still reads the root's lead registry.
      expect(ModelRegistry.open(rootRegistry, 'US').store.url).toBe(`file://${rootRegistry}`);
      // model --target opportunity --region US sees the regional champion; the root keeps the legacy one.
      const shown = await modelCli(
        '--registry',
        rootRegistry,
        '--target',
        'opportunity',
        '--region',
        'US',
        'show',
        'champion',
      );
      expect((JSON.parse(shown.out[0]!) as { version: string }).version).toBe(b);
      const rootShown = await modelCli(
        '--registry',
        rootRegistry,
        '--target',
        'opportunity',
        'show',
        'champion',
      );
      expect((JSON.parse(rootShown.out[0]!) as { version: string }).version).toBe(a);
      // The regional registry has no earlier champion: rollback there is refused, naming it.
      const rollback = await modelCli(
        '--registry',
        rootRegistry,
        '--target',
        'opportunity',
        '--region',
        'US',
        'rollback',
        '--reason',
        'x',
      );
      expect(rollback.code).toBe(1);
    } finally {
      await source.close();
    }
  }, 240_000);
});
