// After the org sync, the store's lead profile is enough: scoring a lead by Id (what an event rescore does:
// scoring/event-rescore.ts asks the scoring service by Id) answers exactly what POST /v1/score answers to the
// Apex payload (the fields LeadScoringService.cls sends) for the same lead, with the model and with the rules,
// including the rules that read Status, Web_Visits__c, Web_Time_On_Site__c and LastActivityDate. And the store
// keeps no quasi-identifier of the lead: no email, not even its domain, no name, phone, street, company or
// free-text description.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { apexModelInputFields } from '../../scripts/salesforce/model-inputs.js';
import { OrgSync, redisWatermarkStore } from '../src/ingest/index.js';
import { EVENT_TYPES, type EngagementEvent } from '../src/inputs/index.js';
import { createRedisWorklistIndex, loadRankingConfig } from '../src/ranking/index.js';
import { SalesforceClient } from '../src/salesforce/index.js';
import { loadServingModel, type ServingModel } from '../src/scoring/index.js';
import { startServer } from '../src/server.js';
import { trainSyntheticModel } from './api-test-kit.js';
import { connectTo, queryStore, REDIS_URL, repoRoot, seedLeads, startSimulator } from './batch-kit.js';
import { seeded } from './support/seeded.js';
import { clientToken, postJson, SettableModels } from './support/sidecar-kit.js';

const SECRET = 'parity-secret';
const PREFIX = `lrtest-parity-${randomUUID().slice(0, 8)}`;
const log = pino({ level: 'silent' });
const OPEN =
  "Data_Region__c = 'EU' AND IsConverted = false AND Status NOT IN ('Closed - Converted', 'Closed - Not Converted')";
const DOMAINS = ['gmail.com', 'acme.example', 'yahoo.com', 'globex.example'];
const APEX_FIELDS = apexModelInputFields(
  readFileSync(join(repoRoot, 'force-app/main/default/classes/LeadScoringService.cls'), 'utf8'),
);

let sim: RunningOrgSimulator;
let serving: ServingModel;
let redis: Redis;
let base: string;
let token: string;
let stop: () => Promise<void>;
const closers: { close(): Promise<void> }[] = [];
const models = new SettableModels();

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), 'parity-'));
  serving = await loadServingModel(await trainSyntheticModel(work, 2000, 17));
  sim = await startSimulator();
  seedLeads(sim, 300, { region: 'EU', closedEvery: 10, seed: 5 });
  // What the rules read beyond the model's inputs, varied lead by lead, and identifiers a real CRM holds.
  const rand = seeded(8);
  const ids = queryStore(sim, `SELECT Id FROM Lead`).map((l) => l.Id as string);
  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  sim.ctx.store.update(
    'Lead',
    ids.map((Id, i) => ({
      Id,
      Web_Time_On_Site__c: rand() < 0.2 ? null : Math.floor(rand() * 1500),
      Web_Visits__c: rand() < 0.2 ? null : Math.floor(rand() * 12),
      LastActivityDate: rand() < 0.3 ? null : day(Math.floor(rand() * 60)),
      Phone: `+49 30 ${String(i).padStart(7, '0')}`,
      Street: `Parity Street ${i}`,
      Description: `Met at the parity fair, asked for lead${i}'s pricing`,
    })),
  );

  const started = await startServer(
    {
      REGION: 'EU',
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL,
      LEADRANK_REDIS_PREFIX: PREFIX,
      LEADRANK_CLIENTS: JSON.stringify([
        {
          clientId: 'apex-eu',
          clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
          region: 'EU',
          name: 'Apex',
        },
      ]),
      LEADRANK_TOKEN_SIGNING_KEY: 'parity-signing-key-0123456789abcdef0123456',
      LEADRANK_AUDIT_DIR: join(work, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(work, 'state'),
    },
    { logger: log, models },
  );
  stop = started.stop;
  base = `http://127.0.0.1:${started.port}`;
  token = await clientToken(base, 'apex-eu', SECRET);

  // The product's org sync fills the sidecar's store (the full load: Bulk API 2.0 rows).
  const ranking = loadRankingConfig();
  const index = createRedisWorklistIndex(REDIS_URL, 'EU', {
    keyPrefix: PREFIX,
    closedStatuses: ranking.candidates.closedStatuses,
    logger: log,
  });
  const watermarks = redisWatermarkStore(REDIS_URL, 'EU', { keyPrefix: PREFIX });
  closers.push(index, watermarks);
  const sync = new OrgSync({
    client: new SalesforceClient(await connectTo(sim), { log }),
    region: 'EU',
    store: started.sidecar.store,
    worklistIndex: index,
    ranking,
    watermarks,
    config: { overlapMs: 120_000, writeBatchRows: 200, maxWatermarkAgeDays: 13 },
    log,
  });
  await sync.runOnce();

  // Engagement for most leads, through the API, so the model's event features differ lead by lead.
  const open = queryStore(sim, `SELECT Id FROM Lead WHERE ${OPEN}`);
  const events: EngagementEvent[] = open.flatMap((l, i) =>
    Array.from({ length: i % 4 }, (_, k) => ({
      eventId: `parity-${i}-${k}`,
      leadId: l.Id as string,
      type: EVENT_TYPES[(i + k) % EVENT_TYPES.length]!,
      occurredAt: new Date(Date.now() - (k + 1) * 3_600_000).toISOString(),
      region: 'EU',
    })),
  );
  for (let i = 0; i < events.length; i += 200) {
    const posted = await api('/v1/events', { events: events.slice(i, i + 200) });
    expect(posted.status).toBe(200);
  }
  redis = new Redis(REDIS_URL);
}, 240_000);

afterAll(async () => {
  await Promise.allSettled(closers.map((c) => c.close()));
  await stop?.();
  await serving?.close();
  await sim?.close();
  if (redis) {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
});

const api = (path: string, body: unknown) => postJson(base, token, path, body);

interface Answer {
  leadId: string;
  status: number;
  score: number;
  band: string;
  reasonLines: string[];
  nextBestAction: unknown;
  source: string;
}

/** Each open lead scored twice at one instant: with the Apex payload's fields (less `omit`), and by Id alone. */
async function bothDoors(
  omit: string[] = [],
): Promise<{ payload: Map<string, Answer>; byId: Map<string, Answer> }> {
  const rows = queryStore(sim, `SELECT Id, ${APEX_FIELDS.join(', ')} FROM Lead WHERE ${OPEN} ORDER BY Id`);
  const payload = new Map<string, Answer>();
  const byId = new Map<string, Answer>();
  for (let i = 0; i < rows.length; i += 100) {
    const chunk = rows.slice(i, i + 100);
    const a = await api('/v1/score', {
      leads: chunk.map(({ Id, attributes: _a, ...fields }) => ({
        id: Id,
        fields: Object.fromEntries(Object.entries(fields).filter(([k]) => !omit.includes(k))),
      })),
    });
    const b = await api('/v1/score', { leads: chunk.map((l) => ({ id: l.Id })) });
    expect([a.status, b.status]).toEqual([200, 200]);
    for (const s of a.json.scores as Answer[]) payload.set(s.leadId, s);
    for (const s of b.json.scores as Answer[]) byId.set(s.leadId, s);
  }
  return { payload, byId };
}

function differences(payload: Map<string, Answer>, byId: Map<string, Answer>): string[] {
  const out: string[] = [];
  for (const [id, a] of payload) {
    const b = byId.get(id);
    for (const k of ['status', 'score', 'band', 'reasonLines', 'nextBestAction', 'source'] as const)
      if (JSON.stringify(a[k]) !== JSON.stringify(b?.[k]))
        out.push(`${id}.${k}: payload ${JSON.stringify(a[k])}, by Id ${JSON.stringify(b?.[k])}`);
  }
  return out;
}

describe('the synced lead profile and the Apex payload', () => {
  it('score the same by Id and with the payload under the rules, including the rules on Status, web activity and last touch', async () => {
    models.model = null;
    const { payload, byId } = await bothDoors();
    expect(payload.size).toBe(270);
    expect(differences(payload, byId)).toEqual([]);
    // Not vacuous: without the rule inputs the profile lacked before, many of these scores would differ.
    const RULE_INPUTS = ['Status', 'Web_Visits__c', 'Web_Time_On_Site__c', 'LastActivityDate'];
    const { payload: without } = await bothDoors(RULE_INPUTS);
    expect(differences(without, byId).filter((d) => d.includes('.score:')).length).toBeGreaterThan(100);
    expect(new Set([...payload.values()].map((s) => s.score)).size).toBeGreaterThan(10);
  }, 120_000);

  it('score the same by Id and with the payload with the model', async () => {
    models.model = serving;
    const { payload, byId } = await bothDoors();
    expect(differences(payload, byId)).toEqual([]);
    expect([...payload.values()].every((s) => s.source === 'model')).toBe(true);
    expect(new Set([...payload.values()].map((s) => s.score)).size).toBeGreaterThan(20);
  }, 120_000);

  it('keeps no email, domain, name, phone, street, company or description in the store', async () => {
    const org = queryStore(
      sim,
      `SELECT Id, Email, FirstName, LastName, Company, Phone, Street, Description FROM Lead WHERE ${OPEN}`,
    );
    const stored = await storedText();
    expect(stored.length).toBeGreaterThan(300); // profiles, events and the worklist index were read
    const needles = [
      '@',
      ...DOMAINS,
      ...org.flatMap((l) => [l.Email, l.LastName, l.Company, l.Phone, l.Street, l.Description]),
    ].filter((v): v is string => typeof v === 'string' && v !== '');
    expect(quasiIdentifiers(stored, needles)).toEqual([]);
    // The scan is not blind: a value holding a lead's email domain, as the store kept before, is caught.
    expect(quasiIdentifiers(['["p-x","Web",null,"@acme.example"]'], needles)).toEqual([
      '@ in ["p-x","Web",null,"@acme.example"]',
      'acme.example in ["p-x","Web",null,"@acme.example"]',
    ]);
  }, 60_000);
});

/** Every key and value under the test's prefix, whatever the Redis type. */
async function storedText(): Promise<string[]> {
  const out: string[] = [];
  for (const key of await redis.keys(`${PREFIX}*`)) {
    out.push(key);
    const type = await redis.type(key);
    if (type === 'string') out.push((await redis.get(key)) ?? '');
    else if (type === 'hash') out.push(...Object.entries(await redis.hgetall(key)).flat());
    else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)));
    else if (type === 'set') out.push(...(await redis.smembers(key)));
    else if (type === 'zset') out.push(...(await redis.zrange(key, 0, -1)));
    else if (type === 'stream')
      out.push(...(await redis.xrange(key, '-', '+')).flatMap(([, fields]) => fields));
  }
  return out;
}

function quasiIdentifiers(stored: readonly string[], needles: readonly string[]): string[] {
  const found: string[] = [];
  for (const text of stored)
    for (const needle of needles) if (text.includes(needle)) found.push(`${needle} in ${text.slice(0, 80)}`);
  return found;
}
