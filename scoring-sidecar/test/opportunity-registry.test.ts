// Deal models in the model registry (targets/opportunity/): `leadrank model train --target opportunity
// --register` registers a real deal model (Python trainer, product training-set code), `model promote --target
// opportunity` runs the deal gate, the sidecar serves the opportunity champion on POST /v1/score (version in
// the answer and the audit log) and swaps on promotion and rollback; lead and deal models never cross.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditHistory } from '../src/audit/index.js';
import { ModelHolder } from '../src/model/model-holder.js';
import { ModelRegistry } from '../src/model/registry.js';
import { opportunityModelSource, opportunityModelSourceFromEnv } from '../src/scoring/index.js';
import { startServer } from '../src/server.js';
import {
  lastJson,
  modelCli,
  py,
  registerModel,
  trainLeadModel,
  TWO_FEATURES,
  twoFeatureRows,
  until,
  writeDealTrainingSet,
} from './support/registry-models.js';

const silent = pino({ level: 'silent' });
const TOKEN_KEY = 'test-signing-key-0123456789abcdef0123456789';
const SECRET = 'us-client-secret';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('deal models in the registry', () => {
  let work: string;
  let registry: string;
  let holdout: string;
  let leadModel: string;
  let a: string;
  let b: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'opportunity-registry-'));
    registry = join(work, 'registry');
    await Promise.all([
      writeDealTrainingSet(join(work, 'deals-a'), 8000, 1),
      writeDealTrainingSet(join(work, 'deals-b'), 10000, 2),
      (async () => (holdout = await writeDealTrainingSet(join(work, 'holdout'), 1000, 3)))(),
    ]);
    leadModel = await trainLeadModel(work, 'lead', 'lead-test', TWO_FEATURES, twoFeatureRows(2000, 4));
  }, 240_000);
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('model train --target opportunity --register puts the deal model in targets/opportunity only', async () => {
    const trained = await modelCli(
      '--registry',
      registry,
      'train',
      '--target',
      'opportunity',
      '--region',
      'US',
      '--data',
      join(work, 'deals-a'),
      '--out',
      join(work, 'model-a'),
      '--register',
      'challenger',
    );
    expect(trained.code).toBe(0);
    const summary = lastJson<{ target: string; registered: { version: string; alias: string } }>(trained.out);
    expect(summary.target).toBe('opportunity');
    a = summary.registered.version;
    expect(summary.registered.alias).toBe('challenger');
    // The deal parameters were used by default (config/training/opportunity-win.json: 4 leaves).
    const card = JSON.parse(await readFile(join(work, 'model-a', 'model_card.json'), 'utf8')) as {
      feature_spec: { name: string; config: { content: { target: string } } };
    };
    expect(card.feature_spec).toMatchObject({
      name: 'opportunity-win',
      config: { content: { target: 'opportunity' } },
    });

    const deals = ModelRegistry.open(registry, 'US', 'opportunity');
    // --region US: the US registry's deal models (regions/US/targets/opportunity/), which US serving reads.
    expect(deals.store.url).toBe(`file://${join(registry, 'regions', 'US', 'targets', 'opportunity')}`);
    expect(await deals.versions()).toEqual([a]);
    expect((await deals.alias('challenger'))?.version).toBe(a);
    expect(
      existsSync(join(registry, 'regions', 'US', 'targets', 'opportunity', 'versions', a, 'model.onnx')),
    ).toBe(true);
    // The lead registries (the root and US) have none of it, nor the root's deal registry.
    expect(await ModelRegistry.open(registry).versions()).toEqual([]);
    expect(await ModelRegistry.open(registry, 'US').versions()).toEqual([]);
    expect(existsSync(join(registry, 'targets'))).toBe(false);
    expect(await ModelRegistry.open(registry).alias('challenger')).toBeNull();
  }, 240_000);

  it('a lead model is refused by the deal registry and a deal model by the lead registry, naming the target', async () => {
    await expect(registerModel(registry, leadModel, { target: 'opportunity' })).rejects.toThrow(
      /refused: .*a lead model; the opportunity registry .* takes only opportunity models \(register it with --target lead\)/,
    );
    await expect(registerModel(registry, join(work, 'model-a'))).rejects.toThrow(
      /refused: .*an? opportunity model; the lead registry .* takes only lead models \(register it with --target opportunity\)/,
    );
    const wrongSet = await modelCli(
      '--registry',
      registry,
      'train',
      '--target',
      'lead',
      '--data',
      join(work, 'deals-a'),
      '--out',
      join(work, 'never'),
    );
    expect(wrongSet.code).toBe(1);
    expect(wrongSet.err.join('\n')).toMatch(
      /--target lead: the training set in .* is an? opportunity training set/,
    );
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('CLI refusals name the target and the alias', async () => {
    const empty = join(work, 'empty-registry');
    const promote = await modelCli(
      '--registry',
      empty,
      '--target',
      'opportunity',
      'promote',
      '--holdout',
      holdout,
    );
    expect(promote.code).toBe(1);
    expect(promote.err.join('\n')).toContain(
      `refused: no opportunity challenger alias in the registry file://${join(empty, 'targets', 'opportunity')}`,
    );
    process.exitCode = undefined;
    const show = await modelCli('--registry', empty, '--target', 'opportunity', 'show', 'champion');
    expect(show.err.join('\n')).toMatch(
      /alias opportunity champion is not set in file:\/\/.*targets\/opportunity/,
    );
    process.exitCode = undefined;
    const target = await modelCli('--registry', empty, '--target', 'deal', 'list');
    expect(target.err.join('\n')).toMatch(/--target must be one of lead, opportunity, not deal/);
    process.exitCode = undefined;
    await expect(
      py(
        'leadrank_training.registry',
        '--registry',
        empty,
        '--target',
        'opportunity',
        'rollback',
        '--reason',
        'x',
      ),
    ).rejects.toThrow(/refused: there is no opportunity champion to roll back/);
  });

  it('promote --target opportunity runs the deal gate and moves the opportunity champion only', async () => {
    const reportDir = join(work, 'report-a');
    const promoted = await modelCli(
      '--registry',
      registry,
      '--target',
      'opportunity',
      '--region',
      'US',
      'promote',
      '--holdout',
      holdout,
      '--report-dir',
      reportDir,
    );
    const report = JSON.parse(await readFile(join(reportDir, 'promotion.json'), 'utf8')) as {
      promoted: boolean;
      reasons: string[];
      target: string;
      rules: { max_ece: number };
      holdout: { rows: number };
    };
    expect(report.reasons).toEqual([]);
    expect(promoted.code).toBe(0);
    expect(report).toMatchObject({ promoted: true, target: 'opportunity' });
    // The deal gate's ECE limit is the noise of a calibrated model on this many rows, never below 0.03.
    expect(report.rules.max_ece).toBeGreaterThanOrEqual(0.03);
    expect(report.rules.max_ece).toBeLessThan(0.1);
    const deals = ModelRegistry.open(registry, 'US', 'opportunity');
    expect((await deals.alias('champion'))?.version).toBe(a);
    expect(await ModelRegistry.open(registry).alias('champion')).toBeNull();
    const shown = JSON.parse(
      (
        await modelCli(
          '--registry',
          registry,
          '--target',
          'opportunity',
          '--region',
          'US',
          'show',
          'champion',
        )
      ).out[0]!,
    ) as { version: string; servable: string };
    expect(shown).toMatchObject({ version: a, servable: 'yes' });
  }, 120_000);

  it('serves deals with the opportunity champion, swaps on promotion and on rollback', async () => {
    const audit = join(work, 'audit');
    const { port, stop, sidecar } = await startServer(
      {
        REGION: 'US',
        PORT: '0',
        HOST: '127.0.0.1',
        LEADRANK_CLIENTS: JSON.stringify([
          { clientId: 'salesforce-us', clientSecretSha256: sha(SECRET), region: 'US', name: 'US org' },
        ]),
        LEADRANK_TOKEN_SIGNING_KEY: TOKEN_KEY,
        LEADRANK_AUDIT_DIR: audit,
        LEADRANK_AUDIT_FSYNC: 'none',
        LEADRANK_STATE_DIR: join(work, 'state'),
        LEADRANK_REGISTRY_URL: registry,
        LEADRANK_MODEL_CACHE_DIR: join(work, 'cache'),
        LEADRANK_MODEL_POLL_MS: '100',
      },
      { logger: silent },
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      const tokenRes = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=salesforce-us&client_secret=${SECRET}`,
      });
      const token = ((await tokenRes.json()) as { access_token: string }).access_token;
      const id = '006000000000077AAA';
      const score = async () => {
        const res = await fetch(`${base}/v1/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            object: 'Opportunity',
            id,
            fields: {
              CreatedDate: '2026-10-01T00:00:00.000Z',
              Amount: 40000,
              CloseDate: '2026-12-10',
              Type: 'Existing Customer - Upgrade',
              LeadSource: 'Partner Referral',
              Account: { Industry: 'Technology', NumberOfEmployees: 1200 },
            },
          }),
        });
        expect(res.status).toBe(200);
        return ((await res.json()) as { scores: { source: string; modelVersion: string }[] }).scores[0]!;
      };

      const first = await score();
      expect(first).toMatchObject({ source: 'model', modelVersion: a });
      // No lead champion: leads stay on rules; the deal champion is never served for them.
      expect(sidecar.models.current()).toBeNull();
      const entries = [];
      for await (const e of auditHistory(audit, id)) entries.push(e);
      expect(entries.map((e) => [e.modelVersion, e.source])).toEqual([[a, 'model']]);

      // Another deal model: trained, registered as challenger and promoted through the product commands.
      const trained = await modelCli(
        '--registry',
        registry,
        'train',
        '--target',
        'opportunity',
        '--region',
        'US',
        '--data',
        join(work, 'deals-b'),
        '--out',
        join(work, 'model-b'),
        '--register',
        'challenger',
      );
      b = lastJson<{ registered: { version: string } }>(trained.out).registered.version;
      expect(b).not.toBe(a);
      const promoted = await modelCli(
        '--registry',
        registry,
        '--target',
        'opportunity',
        '--region',
        'US',
        'promote',
        '--holdout',
        holdout,
        '--report-dir',
        join(work, 'report-b'),
      );
      expect(promoted.code).toBe(0);
      expect((await until(score, (s) => s.modelVersion === b)).modelVersion).toBe(b);

      const rolledBack = await modelCli(
        '--registry',
        registry,
        '--target',
        'opportunity',
        '--region',
        'US',
        'rollback',
        '--reason',
        'test',
      );
      expect(rolledBack.code).toBe(0);
      expect((await until(score, (s) => s.modelVersion === a)).modelVersion).toBe(a);
      const versions = [];
      for await (const e of auditHistory(audit, id)) versions.push(e.modelVersion);
      expect(versions[0]).toBe(a);
      expect(versions).toContain(b);
      expect(versions.at(-1)).toBe(a);
    } finally {
      await stop();
    }
  }, 300_000);

  it('the batch source: the registry champion, the directory override, or none (deal rules)', async () => {
    const env = {
      LEADRANK_REGISTRY_URL: registry,
      LEADRANK_MODEL_CACHE_DIR: join(work, 'cache-batch'),
    };
    const fromRegistry = await opportunityModelSourceFromEnv(env, 'US', silent);
    expect(fromRegistry.current()?.version).toBe(a);
    await fromRegistry.close();
    const override = await opportunityModelSourceFromEnv(
      { ...env, LEADRANK_OPPORTUNITY_MODEL_DIR: join(work, 'model-b') },
      'US',
      silent,
    );
    expect(override.current()?.version).toBe(b);
    await override.close();
    const none = await opportunityModelSourceFromEnv(
      { ...env, LEADRANK_REGISTRY_URL: join(work, 'empty-registry') },
      'US',
      silent,
    );
    expect(none.current()).toBeNull();
    expect(none.status()).toMatchObject({ version: null, lastError: null, unavailable: false });
    await none.close();
  }, 60_000);

  it('a deal champion is never served for leads, nor a lead champion for deals', async () => {
    // Registries written by hand (or by older tools): the target's aliases point at the other kind of model.
    const crossed = join(work, 'crossed');
    await mkdir(crossed, { recursive: true });
    await cp(join(registry, 'regions', 'US', 'targets', 'opportunity'), crossed, { recursive: true });
    const leadRegistry = join(work, 'lead-only');
    await registerModel(leadRegistry, leadModel, { alias: 'champion' });
    await cp(leadRegistry, join(crossed, 'targets', 'opportunity'), { recursive: true });

    const leads = new ModelHolder({
      registry: ModelRegistry.open(crossed),
      cacheDir: join(work, 'cache-crossed-lead'),
      logger: silent,
    });
    await leads.start();
    expect(leads.current()).toBeNull();
    expect(leads.status().lastError).toMatch(
      /is not servable: an opportunity model \(spec opportunity-win\) is never served for lead scoring/,
    );
    await leads.stop();

    const deals = await opportunityModelSource({
      registryUrl: crossed,
      region: 'US',
      cacheDir: join(work, 'cache-crossed-deal'),
      logger: silent,
    });
    expect(deals.current()).toBeNull();
    expect(deals.status()).toMatchObject({ unavailable: true });
    expect(deals.status().lastError).toMatch(
      /is not servable: a lead model \(spec lead-test\) is never served for opportunity scoring/,
    );
    await deals.close();
  }, 60_000);
});
