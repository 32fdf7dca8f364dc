// Serving a client's own spec: a spec reading two of the org's custom fields (Budget__c, Buying_Stage__c)
// builds a training set from the org, trains (Python), is servable by the ModelHolder under that active spec,
// and — after `OrgSync` has put the leads in the online store (Redis), custom fields in the profile's bag —
// the store's profile gives, by Id, the same encoded vector and the same model score as the training set's
// row for the same snapshot instant. The org is the simulator seeded by the generator, plus the client's
// field metadata (scoring-sidecar/test/fixtures/client-metadata).
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { Redis } from 'ioredis';
import type jsforce from 'jsforce';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activeSpecFrom,
  buildTrainingSet,
  computeFeatures,
  customFieldsRead,
  encodeFeatures,
  type ActiveSpec,
} from '../src/features/index.js';
import { OrgSync, redisWatermarkStore } from '../src/ingest/index.js';
import { ModelHolder } from '../src/model/model-holder.js';
import { pythonModuleOutput } from '../src/model/python.js';
import { ModelRegistry } from '../src/model/registry.js';
import { loadRankingConfig } from '../src/ranking/index.js';
import { SalesforceClient, connectToOrg } from '../src/salesforce/index.js';
import { createRedisStore, type OnlineFeatureStore, type Region } from '../src/store/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `lr-custom-serving-${randomUUID().slice(0, 8)}`;
const app = { clientId: 'custom-serving', clientSecret: 'custom-serving-secret' };
const log = pino({ level: 'silent' });
const clientMetadata = fileURLToPath(new URL('./fixtures/client-metadata', import.meta.url));
const py = (module: string, ...args: string[]) => pythonModuleOutput(module, args, {});
const DATA_END = '2026-11-24T00:00:00Z';
const STAGES = ['Research', 'Evaluation', 'Purchase'];

const SPEC = {
  specVersion: 1,
  name: 'client-custom-fields',
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
      name: 'industry',
      description: 'industry',
      source: { field: 'Industry' },
      transform: { kind: 'categorical' },
    },
    {
      name: 'employees',
      description: 'size',
      source: { field: 'NumberOfEmployees' },
      transform: { kind: 'numeric', log: true },
    },
    {
      name: 'lead_age_days',
      description: 'age',
      source: { field: 'CreatedDate' },
      transform: { kind: 'days-since' },
    },
    {
      name: 'title_seniority',
      description: 'seniority',
      source: { field: 'Title' },
      transform: { kind: 'title-seniority' },
    },
    {
      name: 'email_is_free_mail',
      description: 'free mail',
      source: { field: 'Email' },
      transform: { kind: 'free-mail' },
    },
    {
      name: 'budget',
      description: 'stated budget',
      source: { field: 'Budget__c' },
      transform: { kind: 'numeric', log: true },
    },
    {
      name: 'buying_stage',
      description: 'buying stage',
      source: { field: 'Buying_Stage__c' },
      transform: { kind: 'picklist', values: STAGES },
    },
  ],
};

/** Adds the client's custom fields to the generated leads: budget and stage lean toward converted leads. */
async function addCustomFields(file: string): Promise<void> {
  const lines = gunzipSync(await readFile(file))
    .toString('utf8')
    .split('\n')
    .filter(Boolean);
  const out = lines.map((line, i) => {
    const lead = JSON.parse(line) as Record<string, unknown>;
    const converted = lead.IsConverted === true;
    const h = (i * 2654435761) % 1000;
    lead.Budget__c = h % 9 === 0 ? null : Math.round((converted ? 40_000 : 8_000) + h * 37);
    lead.Buying_Stage__c = h % 7 === 0 ? null : STAGES[(converted ? 1 : 0) + (h % 2)]!;
    return JSON.stringify(lead);
  });
  await writeFile(file, gzipSync(`${out.join('\n')}\n`));
}

let root: string;
let sim: RunningOrgSimulator;
let conn: jsforce.Connection;
let active: ActiveSpec;
const stores: OnlineFeatureStore[] = [];
const closers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'custom-serving-'));
  await generateDataset({
    outDir: root,
    seed: 23,
    active: 400,
    historical: 1500,
    dataEnd: DATA_END,
    euShare: 0.3,
    historyDays: 120,
  });
  await addCustomFields(join(root, 'leads.ndjson.gz'));
  await addCustomFields(join(root, 'leads-historical.ndjson.gz'));
  sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: log,
    schema: loadOrgSchema({ extraMetadataDirs: [clientMetadata] }),
    clock: () => new Date('2026-11-25T00:00:00Z'),
  });
  await seedFromDirectory(sim.ctx.store, root);
  conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
  const specFile = join(root, 'client-custom-fields.json');
  await writeFile(specFile, JSON.stringify(SPEC, null, 2));
  active = activeSpecFrom(specFile);
}, 300_000);

afterAll(async () => {
  await Promise.allSettled(closers.map((c) => c.close()));
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await sim?.close();
  await rm(root, { recursive: true, force: true });
});

describe("serving a client's spec with custom fields", () => {
  it('trains, is servable, and scores the same online (by Id after sync) as in the training set', async () => {
    expect(customFieldsRead(active.source.config)).toEqual(['Budget__c', 'Buying_Stage__c']);
    const data = join(root, 'training');
    const built = await buildTrainingSet({ conn, eventsFile: join(root, 'events.ndjson.gz') }, data, {
      dataEnd: new Date(DATA_END),
      spec: active,
    });
    expect(built.spec.source?.hash).toBe(active.source.hash);
    expect(built.positives).toBeGreaterThan(20);

    await py('leadrank_training.train', '--data', data, '--out', join(root, 'model'));
    const registryDir = join(root, 'registry');
    const { version } = JSON.parse(
      await py('leadrank_training.registry', '--registry', registryDir, 'register', join(root, 'model')),
    ) as { version: string };
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
    const holder = new ModelHolder({
      registry: ModelRegistry.open(registryDir),
      cacheDir: join(root, 'cache'),
      logger: log,
      active,
    });
    closers.push({ close: () => holder.stop() });
    await holder.start();
    const served = holder.current();
    expect(holder.status().lastError).toBeNull();
    expect(served?.version).toBe(version);

    // Sync the open leads of both regions into Redis; the store keeps the spec's custom fields.
    const client = new SalesforceClient(conn, { log });
    const ranking = loadRankingConfig();
    for (const region of ['US', 'EU'] as Region[]) {
      const store = createRedisStore(REDIS_URL, region, { keyPrefix: `${PREFIX}-${region}`, logger: log });
      const watermarks = redisWatermarkStore(REDIS_URL, region, { keyPrefix: `${PREFIX}-${region}` });
      closers.push(store, watermarks);
      stores.push(store);
      const sync = new OrgSync({
        client,
        region,
        store,
        worklistIndex: null,
        ranking,
        watermarks,
        config: { overlapMs: 120_000, writeBatchRows: 200, maxWatermarkAgeDays: 13 },
        log,
        customFields: customFieldsRead(active.source.config),
      });
      await sync.runOnce();
    }

    // Every training row of a lead the store now holds: the store's profile at the row's snapshot instant
    // gives the same vector, and the model the same probability.
    const rows = (await parquetReadObjects({
      file: await asyncBufferFromFile(join(data, 'training-set.parquet')),
    })) as Record<string, unknown>[];
    const names = served!.spec.features.map((f) => f.name);
    const byId = new Map<string, Record<string, unknown>[]>();
    for (const r of rows) byId.set(r.lead_id as string, [...(byId.get(r.lead_id as string) ?? []), r]);
    const compared: { offline: (number | null)[]; online: (number | null)[] }[] = [];
    for (const store of stores) {
      const ids = [...byId.keys()];
      const states = await store.getLeadStates(ids);
      states.forEach((state, i) => {
        if (!state) return;
        for (const r of byId.get(ids[i]!)!) {
          const at = (r.snapshot_at as Date).getTime();
          const online = encodeFeatures(served!.spec, computeFeatures(served!.definitions, state, at));
          const offline = names.map((n) => (r[n] === null || r[n] === undefined ? null : Number(r[n])));
          compared.push({ offline, online });
        }
      });
    }
    expect(compared.length).toBeGreaterThan(50);
    const budget = names.indexOf('budget');
    const stage = names.indexOf('buying_stage');
    expect(compared.filter((c) => c.online[budget] !== null).length).toBeGreaterThan(compared.length / 2);
    expect(compared.filter((c) => c.online[stage] !== null).length).toBeGreaterThan(compared.length / 2);
    for (const c of compared) expect(c.online).toEqual(c.offline);

    const matrix = (which: 'offline' | 'online') =>
      new Float32Array(compared.flatMap((c) => c[which].map((v) => (v === null ? Number.NaN : v))));
    const offlineP = await served!.predict(matrix('offline'), compared.length);
    const onlineP = await served!.predict(matrix('online'), compared.length);
    expect([...onlineP]).toEqual([...offlineP]);
    console.log(
      `custom-field parity: ${compared.length} snapshots of synced leads, identical vectors and scores`,
    );
  }, 600_000);
});
