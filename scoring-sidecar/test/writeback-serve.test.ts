// `serve` without Redis, an org configured: POST /v1/events rescores, queues the material change in the bounded
// in-process queue, and the serving process drains it into the org (simulator through jsforce), where the
// Lead ends with exactly the score the API answers for it now.
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { leadProfileSchema } from '../src/inputs/index.js';
import { startServer } from '../src/server.js';
import { CLIENT, queryStore, repoRoot, seedLeads, startSimulator } from './batch-kit.js';

const SECRET = 'eu-client-secret';
const CLIENTS = [
  {
    clientId: 'salesforce-eu',
    clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
    region: 'EU',
    name: 'Salesforce EU org',
  },
];
const PROFILE_FIELDS =
  'Id, CreatedDate, LeadSource, Industry, NumberOfEmployees, AnnualRevenue, Country, Lead_Origin__c, HasOptedOutOfEmail, DoNotCall, Data_Region__c, Matched_Account__c, Title, Company, Email, Phone, FirstName, LastName, Street';

let sim: RunningOrgSimulator;
let stop: (() => Promise<void>) | undefined;
let base: string;
let token: string;
let leadId: string;

beforeAll(async () => {
  sim = await startSimulator({ region: 'EU' });
  seedLeads(sim, 3, { region: 'EU', seed: 21 });
  const dir = await mkdtemp(join(tmpdir(), 'wb-serve-'));
  const started = await startServer(
    {
      REGION: 'EU',
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_CLIENTS: JSON.stringify(CLIENTS),
      LEADRANK_TOKEN_SIGNING_KEY: 'test-signing-key-0123456789abcdef0123456789',
      LEADRANK_AUDIT_DIR: join(dir, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(dir, 'state'),
      LEADRANK_CONFIG_DIR: join(repoRoot, 'config'),
      LEADRANK_RULES_ONLY: '1',
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: CLIENT.clientId,
      SF_CLIENT_SECRET: CLIENT.clientSecret,
      LEADRANK_WRITEBACK_OVERRIDES: JSON.stringify({ flushMs: 100 }),
    },
    { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) },
  );
  stop = started.stop;
  base = `http://127.0.0.1:${started.port}`;
  const rows = queryStore(sim, `SELECT ${PROFILE_FIELDS} FROM Lead ORDER BY Id`);
  const profiles = rows.map((r) => {
    const { attributes: _attributes, ...fields } = r;
    return leadProfileSchema.parse({
      ...fields,
      CreatedDate: new Date(String(fields.CreatedDate).replace(/([+-]\d{2})(\d{2})$/, '$1:$2')).toISOString(),
    });
  });
  await started.sidecar.store.putLeads(profiles);
  leadId = profiles[0]!.Id;
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=salesforce-eu&client_secret=${SECRET}`,
  });
  token = ((await res.json()) as { access_token: string }).access_token;
}, 60_000);

afterAll(async () => {
  await stop?.();
  await sim?.close();
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

describe('serve without Redis drains its write-back queue into the org', () => {
  it('writes the event-driven score, equal to what the API answers now', async () => {
    const now = Date.now();
    const events = [1, 2, 3].map((n) => ({
      eventId: `wb-serve-${now}-${n}`,
      leadId,
      type: 'pricing_page_visit',
      occurredAt: new Date(now - n * 60_000).toISOString(),
      region: 'EU',
    }));
    const applied = await post('/v1/events', { events });
    expect(applied.status).toBe(200);
    expect(applied.json).toMatchObject({ applied: 3, rescored: 1, writebackQueued: 1 });

    const deadline = Date.now() + 20_000;
    let lead: Record<string, unknown> = {};
    while (Date.now() < deadline) {
      lead = queryStore(
        sim,
        `SELECT Lead_Score__c, Score_Band__c, Score_Source__c FROM Lead WHERE Id = '${leadId}'`,
      )[0]!;
      if (lead.Lead_Score__c !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const scored = await post('/v1/score', { id: leadId });
    expect(scored.status).toBe(200);
    const answer = (scored.json.scores as { score: number; band: string }[])[0]!;
    expect(lead).toMatchObject({
      Lead_Score__c: answer.score,
      Score_Band__c: answer.band,
      Score_Source__c: 'Rules',
    });
    expect(queryStore(sim, `SELECT Lead__c FROM Score_History__c WHERE Lead__c = '${leadId}'`)).toHaveLength(
      1,
    );
  });
});
