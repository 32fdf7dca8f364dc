// The region guard through the HTTP API, against the real Redis store: region fields that disagree, a payload
// without a region where the stored lead has one, extract rows without a region. Each refusal names the
// field or line, and nothing of the refused request is stored or audited.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { auditHistory } from '../src/audit/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeadProfile } from '../src/inputs/index.js';
import { fixedModelSource } from '../src/scoring/model-source.js';
import { startServer, type Sidecar } from '../src/server.js';
import { leadIdOf, seeded, syntheticLead } from './api-test-kit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const prefix = `lrtest-region-${randomUUID().slice(0, 8)}`;
const NOW = Date.now();
let work: string;

interface Deployment {
  region: 'US' | 'EU';
  base: string;
  token: string;
  sidecar: Sidecar;
  stop: () => Promise<void>;
  auditDir: string;
  leads: LeadProfile[];
}
const deployments: Partial<Record<'US' | 'EU', Deployment>> = {};

async function deploy(region: 'US' | 'EU'): Promise<Deployment> {
  const auditDir = join(work, region, 'audit');
  const started = await startServer(
    {
      REGION: region,
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_RULES_ONLY: '1',
      LEADRANK_CLIENTS: JSON.stringify([
        { clientId: `sf-${region}`, clientSecretSha256: sha('secret'), region, name: `Salesforce ${region}` },
      ]),
      LEADRANK_TOKEN_SIGNING_KEY: 'test-signing-key-0123456789abcdef0123456789',
      LEADRANK_AUDIT_DIR: auditDir,
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(work, region, 'state'),
      REDIS_URL,
      LEADRANK_REDIS_PREFIX: prefix,
      LEADRANK_BULLMQ_PREFIX: prefix,
    },
    { models: fixedModelSource(null), logger: pino({ level: 'silent' }) },
  );
  const base = `http://127.0.0.1:${started.port}`;
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=sf-${region}&client_secret=secret`,
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  const rand = seeded(region === 'US' ? 3 : 4);
  const offset = region === 'US' ? 20_000 : 30_000;
  const leads = Array.from({ length: 5 }, (_, i) => syntheticLead(offset + i, region, NOW, rand));
  await started.sidecar.store.putLeads(leads);
  return { region, base, token, sidecar: started.sidecar, stop: started.stop, auditDir, leads };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'api-region-'));
  deployments.US = await deploy('US');
  deployments.EU = await deploy('EU');
});

afterAll(async () => {
  for (const d of Object.values(deployments)) await d.stop();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await rm(work, { recursive: true, force: true });
});

const post = async (d: Deployment, path: string, body: string | object, contentType = 'application/json') => {
  const res = await fetch(`${d.base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    json: (await res.json()) as { error?: { message: string; issues?: { path: string }[] } },
  };
};

/** Whether the deployment's audit log holds a readable entry of the lead (entries are sealed per lead on disk). */
async function audited(d: Deployment, leadId: string): Promise<boolean> {
  try {
    for await (const _ of auditHistory(d.auditDir, leadId)) return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  return false;
}

/** The fields a Salesforce payload carries for a lead (no Id: it is the item's id). */
function fieldsOf(lead: LeadProfile): Record<string, unknown> {
  const { Id: _id, ...fields } = lead;
  return fields;
}

describe('POST /v1/score: region fields', () => {
  it('refuses region US with fields.Data_Region__c EU (400 naming both fields), scoring and auditing nothing', async () => {
    const us = deployments.US!;
    const euLead = deployments.EU!.leads[0]!;
    const res = await post(us, '/v1/score', { id: euLead.Id, region: 'US', fields: fieldsOf(euLead) });
    expect(res.status).toBe(400);
    expect(res.json.error!.message).toMatch(/^region: US disagrees with fields\.Data_Region__c EU/);
    expect(await audited(us, euLead.Id)).toBe(false);
  });

  it('refuses the whole batch when one item disagrees, naming its index; nothing of it is audited', async () => {
    const us = deployments.US!;
    const [ok, other] = [us.leads[1]!, us.leads[2]!];
    const res = await post(us, '/v1/score', {
      leads: [
        { id: ok.Id },
        { id: other.Id, region: 'US', fields: { ...fieldsOf(other), Data_Region__c: 'EU' } },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.json.error!.issues![0]!.path).toBe('leads[1].region');
    expect(await audited(us, ok.Id)).toBe(false);
    expect(await audited(us, other.Id)).toBe(false);
  });

  it('refuses a lead of the other region by either field with 403', async () => {
    const us = deployments.US!;
    const euLead = deployments.EU!.leads[1]!;
    expect((await post(us, '/v1/score', { id: euLead.Id, region: 'EU' })).status).toBe(403);
    const byField = await post(us, '/v1/score', { id: euLead.Id, fields: fieldsOf(euLead) });
    expect(byField.status).toBe(403);
    expect(byField.json.error!.message).toContain('region EU');
  });

  it('scores when both fields agree', async () => {
    const us = deployments.US!;
    const lead = us.leads[3]!;
    const res = await post(us, '/v1/score', { id: lead.Id, region: 'US', fields: fieldsOf(lead) });
    expect(res.status).toBe(200);
    expect(await audited(us, lead.Id)).toBe(true);
  });

  it('EU: refuses lead fields without a region where the stored lead has one (400 naming the field)', async () => {
    const eu = deployments.EU!;
    const lead = eu.leads[2]!;
    const { Data_Region__c: _r, ...withoutRegion } = fieldsOf(lead);
    const res = await post(eu, '/v1/score', { leads: [{ id: lead.Id, fields: withoutRegion }] });
    expect(res.status).toBe(400);
    expect(res.json.error!.message).toMatch(
      /^leads\[0\]\.fields\.Data_Region__c: required: the stored lead \S+ has region EU/,
    );
    expect(await audited(eu, lead.Id)).toBe(false);
    // A lead the store does not know, and the US (where a missing region means US by the org's convention), score.
    const unknown = { ...withoutRegion };
    expect((await post(eu, '/v1/score', { id: leadIdOf(99_999), fields: unknown })).status).toBe(200);
    const usLead = deployments.US!.leads[4]!;
    const { Data_Region__c: _u, ...usWithout } = fieldsOf(usLead);
    expect((await post(deployments.US!, '/v1/score', { id: usLead.Id, fields: usWithout })).status).toBe(200);
  });
});

describe('POST /v1/extracts/:kind: every row names its region', () => {
  it('refuses a row without a region (400 naming line and field) and writes nothing of the extract', async () => {
    const us = deployments.US!;
    const today = new Date().toISOString().slice(0, 10);
    const lead = us.leads[0]!;
    const rows = [
      {
        lead_id: lead.Id,
        extract_date: today,
        campaign_count: 4,
        last_campaign: null,
        intent_score: 50,
        intent_topic: null,
        region: 'US',
      },
      {
        lead_id: us.leads[1]!.Id,
        extract_date: today,
        campaign_count: 1,
        last_campaign: null,
        intent_score: 10,
        intent_topic: null,
      },
    ];
    const nd = rows.map((r) => JSON.stringify(r)).join('\n');
    const res = await post(us, '/v1/extracts/marketing', nd, 'application/x-ndjson');
    expect(res.status).toBe(400);
    expect(res.json.error!.message).toMatch(/^line 2: region: required/);
    expect((await us.sidecar.store.getLeadStates([lead.Id]))[0]!.marketing).toBeNull();

    const csv = `erp_account_number,extract_date,is_customer,region\nERP-1,${today},true,\n`;
    const blank = await post(us, '/v1/extracts/erp', csv, 'text/csv');
    expect(blank.status).toBe(400);
    expect(blank.json.error!.message).toMatch(/^line 2: region: required/);
  });
});

describe('POST /v1/events: the label must be the deployment region', () => {
  it('refuses an event labelled with the other region, naming the row, and applies none of the batch', async () => {
    const eu = deployments.EU!;
    const lead = eu.leads[0]!;
    const event = (eventId: string, region: string) => ({
      eventId,
      leadId: lead.Id,
      type: 'email_open',
      occurredAt: new Date(NOW - 60_000).toISOString(),
      region,
    });
    const before = JSON.stringify((await eu.sidecar.store.getLeadStates([lead.Id]))[0]!.events);
    const res = await post(eu, '/v1/events', {
      events: [event(`e-${randomUUID()}`, 'EU'), event(`e-${randomUUID()}`, 'US')],
    });
    expect(res.status).toBe(403);
    expect(res.json.error!.message).toMatch(/^events\[1\] belongs to region US/);
    const after = JSON.stringify((await eu.sidecar.store.getLeadStates([lead.Id]))[0]!.events);
    expect(after).toBe(before);
  });
});
