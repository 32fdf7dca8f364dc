// A client's spec with custom fields, served as a deployment serves it ($LEADRANK_FEATURE_SPEC): a lead scored
// with its fields in the payload (what Apex sends, custom `__c` fields included, typed as JSON) answers exactly
// what the same lead scored by Id answers after the org sync (the store's profile, custom fields in its bag as
// the Bulk API's strings), with a model trained on that spec. A custom field of another type is a 400 naming it;
// a custom field the spec does not read is no model input.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CUSTOM_FIELDS_METADATA_DIR, generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Before any module reads it: the deployment's active spec is the client's.
vi.hoisted(() => {
  process.env.LEADRANK_FEATURE_SPEC = 'scoring-sidecar/test/fixtures/specs/client-custom-fields.json';
});

import { buildTrainingSet, customFieldsRead, LEAD_FEATURE_CONFIG } from '../src/features/index.js';
import { OrgSync, redisWatermarkStore } from '../src/ingest/index.js';
import { pythonModuleOutput } from '../src/model/python.js';
import { loadRankingConfig } from '../src/ranking/index.js';
import { connectToOrg, SalesforceClient } from '../src/salesforce/index.js';
import { loadServingModel, type ServingModel } from '../src/scoring/index.js';
import { startServer } from '../src/server.js';
import { queryStore, REDIS_URL } from './batch-kit.js';
import { clientToken, postJson, SettableModels } from './support/sidecar-kit.js';

const SECRET = 'payload-custom-secret';
const PREFIX = `lrtest-payload-custom-${randomUUID().slice(0, 8)}`;
const log = pino({ level: 'silent' });
const DATA_END = '2026-11-24T00:00:00Z';
const SCORED_AT = '2026-11-25T09:00:00Z';
const app = { clientId: 'payload-custom', clientSecret: 'payload-custom-secret' };
const CUSTOM = ['Budget_Band__c', 'Demo_Requested__c', 'Lucky_Number__c'];
/** What LeadScoringService.cls sends, less the fields only the rules read. */
const STANDARD = [
  'Email',
  'Matched_Account__c',
  'LeadSource',
  'Industry',
  'NumberOfEmployees',
  'AnnualRevenue',
  'Title',
  'Country',
  'Status',
  'Rating',
  'HasOptedOutOfEmail',
  'DoNotCall',
  'Web_Visits__c',
  'Web_Time_On_Site__c',
  'Web_Pages_Per_Visit__c',
  'Lead_Origin__c',
  'CreatedDate',
  'LastActivityDate',
  'Data_Region__c',
];
const OPEN =
  "Data_Region__c = 'US' AND IsConverted = false AND Status NOT IN ('Closed - Converted', 'Closed - Not Converted')";

let root: string;
let sim: RunningOrgSimulator;
let serving: ServingModel;
let base: string;
let token: string;
let stop: () => Promise<void>;
const closers: { close(): Promise<void> }[] = [];
const models = new SettableModels();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'payload-custom-'));
  await generateDataset({
    outDir: join(root, 'data'),
    seed: 29,
    active: 500,
    historical: 2000,
    dataEnd: DATA_END,
    euShare: 0.2,
    historyDays: 180,
    customFields: true,
  });
  sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: log,
    schema: loadOrgSchema({ extraMetadataDirs: [CUSTOM_FIELDS_METADATA_DIR] }),
  });
  await seedFromDirectory(sim.ctx.store, join(root, 'data'));
  const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });

  // A model of the client's spec, trained on the org's history (the builder reads the same spec).
  const data = join(root, 'training');
  await buildTrainingSet({ conn }, data, { dataEnd: new Date(DATA_END) });
  await pythonModuleOutput('leadrank_training.train', ['--data', data, '--out', join(root, 'model')], {});
  serving = await loadServingModel(join(root, 'model'));
  models.model = serving;

  const started = await startServer(
    {
      REGION: 'US',
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL,
      LEADRANK_REDIS_PREFIX: PREFIX,
      LEADRANK_CLIENTS: JSON.stringify([
        {
          clientId: 'apex-us',
          clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
          region: 'US',
          name: 'Apex',
        },
      ]),
      LEADRANK_TOKEN_SIGNING_KEY: 'payload-custom-signing-key-0123456789abcdef',
      LEADRANK_AUDIT_DIR: join(root, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(root, 'state'),
    },
    // One scoring instant for both doors: lead_age_days is then the same value, not a few ms apart.
    { logger: log, models, now: () => new Date(SCORED_AT) },
  );
  stop = started.stop;
  base = `http://127.0.0.1:${started.port}`;
  token = await clientToken(base, 'apex-us', SECRET);

  // The product's sync, with its default field list: the active spec's custom fields go into the bag.
  const watermarks = redisWatermarkStore(REDIS_URL, 'US', { keyPrefix: PREFIX });
  closers.push(watermarks);
  await new OrgSync({
    client: new SalesforceClient(conn, { log }),
    region: 'US',
    store: started.sidecar.store,
    worklistIndex: null,
    ranking: loadRankingConfig(),
    watermarks,
    config: { overlapMs: 120_000, writeBatchRows: 200, maxWatermarkAgeDays: 13 },
    log,
  }).runOnce();
}, 600_000);

afterAll(async () => {
  await Promise.allSettled(closers.map((c) => c.close()));
  await stop?.();
  await serving?.close();
  await sim?.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await rm(root, { recursive: true, force: true });
});

const api = (body: unknown) => postJson(base, token, '/v1/score', body);

interface Answer {
  leadId: string;
  score: number;
  band: string;
  probability: number | null;
  reasonLines: string[];
  source: string;
}

/** Each open lead scored with its payload (fields as `shape` makes them) and by Id, at one instant. */
async function bothDoors(shape: (fields: Record<string, unknown>) => Record<string, unknown>) {
  const rows = queryStore(
    sim,
    `SELECT Id, ${[...STANDARD, ...CUSTOM].join(', ')} FROM Lead WHERE ${OPEN} ORDER BY Id`,
  );
  const differences: string[] = [];
  let compared = 0;
  // Small requests, well inside the scoring deadline and the store timeout on a loaded machine.
  for (let i = 0; i < rows.length; i += 25) {
    const chunk = rows.slice(i, i + 25);
    const a = await api({
      leads: chunk.map(({ Id, attributes: _a, ...fields }) => ({ id: Id, fields: shape(fields) })),
    });
    const b = await api({ leads: chunk.map((l) => ({ id: l.Id })) });
    expect([a.status, b.status]).toEqual([200, 200]);
    const byId = new Map((b.json.scores as Answer[]).map((s) => [s.leadId, s]));
    for (const p of a.json.scores as Answer[]) {
      const q = byId.get(p.leadId)!;
      expect([p.source, q.source]).toEqual(['model', 'model']);
      compared++;
      const differ = (['score', 'band', 'probability', 'reasonLines'] as const).filter(
        (k) => JSON.stringify(p[k]) !== JSON.stringify(q[k]),
      );
      if (differ.length)
        differences.push(
          `${p.leadId}: ${differ.map((k) => `${k} ${JSON.stringify(p[k])} by payload, ${JSON.stringify(q[k])} by Id`).join('; ')}`,
        );
    }
  }
  return { compared, differences };
}

describe('custom fields in a POST /v1/score payload', () => {
  it('are accepted for the active spec and score exactly as the synced profile does by Id', async () => {
    expect(customFieldsRead(LEAD_FEATURE_CONFIG)).toEqual(CUSTOM);
    expect(serving.spec.features.map((f) => f.name)).toEqual(
      expect.arrayContaining(['budget_band', 'demo_requested', 'lucky_number']),
    );
    // Typed as Apex's JSON.serialize sends them (Demo_Requested__c true, Lucky_Number__c 42), plus a custom
    // field the spec does not read (ignored for the model).
    const same = await bothDoors((f) => ({ ...f, Favourite_Colour__c: 'Purple' }));
    expect(same.compared).toBeGreaterThan(100);
    expect(same.differences).toEqual([]);
    // The custom fields matter: without them the payload's answers differ for many leads (one in ten at least).
    const without = await bothDoors((f) =>
      Object.fromEntries(Object.entries(f).filter(([k]) => !CUSTOM.includes(k))),
    );
    expect(without.differences.length).toBeGreaterThan(same.compared / 10);
    console.log(
      `payload parity with custom fields: ${same.compared} open leads identical by payload and by Id; ` +
        `${without.differences.length} of them answer differently when the payload leaves them out`,
    );
  }, 300_000);

  it('refuses a custom field value of another type with a 400 naming the field, and nothing is scored', async () => {
    const [lead] = queryStore(sim, `SELECT Id, ${STANDARD.join(', ')} FROM Lead WHERE ${OPEN} LIMIT 2`);
    const { Id, attributes: _a, ...fields } = lead!;
    const answer = await api({
      leads: [
        { id: Id, fields },
        { id: Id, fields: { ...fields, Lucky_Number__c: { value: 42 } } },
      ],
    });
    expect(answer.status).toBe(400);
    const error = answer.json.error as { message: string; issues: { path: string }[] };
    expect(error.message).toMatch(/^leads\[1\]\.fields\.Lucky_Number__c: /);
    expect(error.issues.map((i) => i.path)).toEqual(['leads[1].fields.Lucky_Number__c']);
    // A caller cannot slip a bag of its own in as "custom".
    const bag = await api({ id: Id, fields: { ...fields, custom: { Budget_Band__c: 'Over 250k' } } });
    const plain = await api({ id: Id, fields });
    expect(bag.status).toBe(200);
    const scoreOf = (r: typeof bag) => (r.json.scores as Answer[])[0]!.probability;
    expect(scoreOf(bag)).toBe(scoreOf(plain));
  }, 60_000);
});
