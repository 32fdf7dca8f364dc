// The HTTP API end to end, over a real model trained by training/leadrank_training, once with the embedded
// store and once with a real Redis (REDIS_URL or 127.0.0.1:6379): every route, its errors, auth, the region
// guard, audit and the no-PII rule.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Queue } from 'bullmq';
import type express from 'express';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditHistory } from '../src/audit/index.js';
import type { LeadProfile } from '../src/inputs/index.js';
import { loadServingModel, type ServingModel, fixedModelSource } from '../src/scoring/model-source.js';
import { InProcessWritebackQueue, type WritebackJob } from '../src/writeback/index.js';
import { startServer } from '../src/server.js';
import { leadIdOf, seeded, syntheticLead, trainSyntheticModel, worklistLeadOf } from './api-test-kit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SIGNING_KEY = 'test-signing-key-0123456789abcdef0123456789';
const SECRET = 'us-client-secret';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const CLIENTS = [
  { clientId: 'salesforce-us', clientSecretSha256: sha(SECRET), region: 'US', name: 'Salesforce US org' },
  {
    clientId: 'salesforce-eu',
    clientSecretSha256: sha('eu-secret'),
    region: 'EU',
    name: 'Salesforce EU org',
  },
];
// Distinctive PII: none of it may reach the logs or the audit log.
const PII = {
  Email: 'zelda.quixote-4711@pii-canary.example',
  FirstName: 'Zelda',
  LastName: 'Quixotepii',
  Phone: '+1-555-0199-4711',
};
const N_LEADS = 60;
const NOW = Date.now();

let modelDir: string;
let work: string;
let model: ServingModel;
let callerKeys: { us: CryptoKey; eu: CryptoKey; jwks: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'api-routes-'));
  modelDir = await trainSyntheticModel(work, 3000);
  model = await loadServingModel(modelDir);
  const us = await generateKeyPair('RS256');
  const eu = await generateKeyPair('RS256');
  const jwks = {
    keys: [
      { ...(await exportJWK(us.publicKey)), kid: 'bi-us', region: 'US', name: 'BI jobs US', alg: 'RS256' },
      { ...(await exportJWK(eu.publicKey)), kid: 'bi-eu', region: 'EU', name: 'BI jobs EU', alg: 'RS256' },
    ],
  };
  callerKeys = { us: us.privateKey, eu: eu.privateKey, jwks: JSON.stringify(jwks) };
});

afterAll(async () => {
  await model?.close();
  await rm(work, { recursive: true, force: true });
});

async function callerToken(
  key: CryptoKey,
  kid: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid })
    .setSubject(`${kid}-job`)
    .setAudience('leadrank-sidecar')
    .setExpirationTime('5m')
    .sign(key);
}

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
}

/** "METHOD /path" of every route registered on the express app. */
function appRoutes(app: express.Express): string[] {
  const stack = (
    app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }
  ).router.stack;
  return stack.flatMap((layer) =>
    layer.route ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`) : [],
  );
}

interface RecordedResponse {
  method: string;
  path: string;
  status: number;
  contentType: string;
  text: string;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function auditText(dir: string): Promise<string> {
  const texts = await Promise.all((await filesUnder(dir)).map((f) => readFile(f, 'utf8')));
  return texts.join('\n');
}

describe.each([
  { storeKind: 'in-process', redis: false },
  { storeKind: 'redis', redis: true },
])('API with the $storeKind store', ({ redis }) => {
  const prefix = `lrtest-api-${randomUUID().slice(0, 8)}`;
  const logLines: string[] = [];
  const recorded: RecordedResponse[] = [];
  let base: string;
  let stop: () => Promise<void>;
  let sidecar: Awaited<ReturnType<typeof startServer>>['sidecar'];
  let auditDir: string;
  let token: string;
  let leads: LeadProfile[];

  const env = () => ({
    REGION: 'US',
    PORT: '0',
    HOST: '127.0.0.1',
    LEADRANK_CLIENTS: JSON.stringify(CLIENTS),
    LEADRANK_TOKEN_SIGNING_KEY: SIGNING_KEY,
    LEADRANK_CALLER_JWKS: callerKeys.jwks,
    LEADRANK_AUDIT_DIR: auditDir,
    LEADRANK_AUDIT_FSYNC: 'none',
    LEADRANK_STATE_DIR: `${auditDir}-state`,
    ...(redis ? { REDIS_URL, LEADRANK_REDIS_PREFIX: prefix, LEADRANK_BULLMQ_PREFIX: prefix } : {}),
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    recorded.push({
      method,
      path,
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      text,
    });
    let json: any = null; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, json, text, headers: res.headers };
  };

  async function writebackJobs(): Promise<WritebackJob[]> {
    if (!redis) return (sidecar.writeback as InProcessWritebackQueue).take();
    const queue = new Queue('leadrank-writeback-US', { connection: { url: REDIS_URL }, prefix });
    const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
    await queue.obliterate({ force: true });
    await queue.close();
    return jobs.map((j) => j.data as WritebackJob);
  }

  beforeAll(async () => {
    auditDir = await mkdtemp(join(tmpdir(), 'api-audit-'));
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    // The model is shared by both suites: the sidecar must not release it.
    const models = { ...fixedModelSource(model), close: async () => {} };
    const started = await startServer(env(), { logger, models });
    sidecar = started.sidecar;
    stop = started.stop;
    base = `http://127.0.0.1:${started.port}`;
    const rand = seeded(11);
    leads = Array.from({ length: N_LEADS }, (_, i) => syntheticLead(10_000 + i, 'US', NOW, rand));
    await sidecar.store.putLeads(leads);
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=salesforce-us&client_secret=${SECRET}`,
    });
    token = ((await res.json()) as { access_token: string }).access_token;
  });

  afterAll(async () => {
    await stop?.();
    await writebackJobs().catch(() => []);
    if (redis) {
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
      await r.quit();
    }
    await rm(auditDir, { recursive: true, force: true });
    await rm(`${auditDir}-state`, { recursive: true, force: true });
  });

  describe('POST /oauth/token', () => {
    it('issues a bearer token for a client with the right secret (form body or HTTP Basic)', async () => {
      expect(token).toMatch(/^ey/);
      const basic = Buffer.from(`salesforce-us:${SECRET}`).toString('base64');
      const res = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { token_type: string; expires_in: number };
      expect(body.token_type).toBe('Bearer');
      expect(body.expires_in).toBe(sidecar.config.tokens.ttlSeconds);
    });

    it('refuses a wrong secret (401), another grant (400) and a client of the other region (403)', async () => {
      const post = (body: string) =>
        fetch(`${base}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
      const wrong = await post('grant_type=client_credentials&client_id=salesforce-us&client_secret=nope');
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
      expect((await post('grant_type=password&client_id=salesforce-us&client_secret=x')).status).toBe(400);
      const eu = await post('grant_type=client_credentials&client_id=salesforce-eu&client_secret=eu-secret');
      expect(eu.status).toBe(403);
      expect(((await eu.json()) as { error: { message: string } }).error.message).toContain('region EU');
    });
  });

  const V1_ROUTES: [string, string, unknown][] = [
    ['POST', '/v1/score', { leads: [{ id: leadIdOf(10_000) }] }],
    ['GET', '/v1/worklists/005000000000001', undefined],
    ['POST', '/v1/events', { events: [] }],
    ['POST', '/v1/extracts/erp', 'erp_account_number,extract_date,is_customer\n'],
  ];

  describe('authentication and the caller region, on every /v1 route', () => {
    it.each(V1_ROUTES)('%s %s: 401 without a token or with a bad one', async (method, path, body) => {
      const headers: Record<string, string> = typeof body === 'string' ? { 'content-type': 'text/csv' } : {};
      const saved = token;
      token = '';
      try {
        const missing = await call(method, path, body, headers);
        expect(missing.status).toBe(401);
        expect(missing.json.error.code).toBe('unauthorized');
        const forged = await call(method, path, body, {
          ...headers,
          authorization: `Bearer ${saved.slice(0, -4)}AAAA`,
        });
        expect(forged.status).toBe(401);
      } finally {
        token = saved;
      }
    });

    it.each(V1_ROUTES)(
      '%s %s: 403 naming the region for a caller bound to EU',
      async (method, path, body) => {
        const headers: Record<string, string> =
          typeof body === 'string' ? { 'content-type': 'text/csv' } : {};
        const euToken = await callerToken(callerKeys.eu, 'bi-eu');
        const res = await call(method, path, body, { ...headers, authorization: `Bearer ${euToken}` });
        expect(res.status).toBe(403);
        expect(res.json.error.message).toContain('region EU');
      },
    );

    it('accepts a JWT signed by a configured caller key, and refuses one claiming another region', async () => {
      const ok = await call(
        'POST',
        '/v1/score',
        { id: leadIdOf(10_001) },
        { authorization: `Bearer ${await callerToken(callerKeys.us, 'bi-us')}` },
      );
      expect(ok.status).toBe(200);
      const lying = await callerToken(callerKeys.us, 'bi-us', { region: 'EU' });
      expect(
        (await call('POST', '/v1/score', { id: leadIdOf(10_001) }, { authorization: `Bearer ${lying}` }))
          .status,
      ).toBe(401);
    });
  });

  describe('POST /v1/score', () => {
    it('scores leads by Id from the store with model, reasons and next-best action; unknown Ids are 404 entries', async () => {
      const unknown = leadIdOf(999_999);
      const res = await call(
        'POST',
        '/v1/score',
        { leads: [{ id: leads[0]!.Id }, { id: unknown }, { id: leads[1]!.Id }] },
        { 'x-request-id': 'req-score-1' },
      );
      expect(res.status).toBe(200);
      expect(res.json.requestId).toBe('req-score-1');
      expect(res.json.modelVersion).toBe(model.version);
      const [a, missing, b] = res.json.scores;
      expect(missing).toEqual({
        status: 404,
        leadId: unknown,
        error: expect.objectContaining({ code: 'lead_not_found' }),
      });
      for (const s of [a, b]) {
        expect(s.status).toBe(200);
        expect(s.source).toBe('model');
        expect(s.fallbackReason).toBeUndefined();
        expect(s.score).toBe(model.toScore(s.probability));
        expect(s.modelVersion).toBe(model.version);
        expect(s.requestId).toBe('req-score-1');
        expect(s.featureHash).toMatch(/^[0-9a-f]{64}$/);
        expect(s.reasons.length).toBeGreaterThan(0);
        for (const r of s.reasons) expect(r.text.length).toBeGreaterThan(0);
        expect(s.reasonLines).toEqual(
          s.reasons.map(
            (r: { direction: string; text: string }) => `${r.direction === 'positive' ? '+' : '-'} ${r.text}`,
          ),
        );
        const bands = sidecar.config.bands;
        const expectedBand =
          s.score >= bands.A ? 'A' : s.score >= bands.B ? 'B' : s.score >= bands.C ? 'C' : 'D';
        expect(s.band).toBe(expectedBand);
      }
      expect(a.leadId).toBe(leads[0]!.Id);
    });

    it('scores an opportunity sent with its fields (deal rules, no opportunity model) and answers 404 entries for unknown deals', async () => {
      const deal = '0065e00000OppA1AAA';
      const unknownDeal = '0065e00000OppA9AAA';
      const res = await call('POST', '/v1/score', {
        object: 'Opportunity',
        opportunities: [
          {
            id: deal,
            fields: {
              CreatedDate: '2026-10-01T00:00:00.000Z',
              StageName: 'Negotiation/Review',
              Amount: 48000,
              CloseDate: '2026-12-10',
              LeadSource: 'Partner Referral',
              Account: { Industry: 'Technology', NumberOfEmployees: 1200 },
            },
          },
          { id: unknownDeal },
        ],
      });
      expect(res.status).toBe(200);
      const [scored, missing] = res.json.scores;
      expect(scored).toMatchObject({
        status: 200,
        object: 'Opportunity',
        opportunityId: deal,
        source: 'rules',
      });
      expect(scored.leadId).toBeUndefined();
      expect(scored.reasonLines.length).toBeGreaterThan(0);
      expect(missing).toMatchObject({
        status: 404,
        object: 'Opportunity',
        opportunityId: unknownDeal,
        error: { code: 'opportunity_not_found' },
      });
      // An Id prefixed 006 alone is an opportunity request too.
      const single = await call('POST', '/v1/score', { id: unknownDeal });
      expect(single.status).toBe(200);
      expect(single.json.scores[0].error.code).toBe('opportunity_not_found');
    });

    it('gives the same probability for a lead by Id and for the same lead sent with its fields', async () => {
      const lead = leads[2]!;
      const byId = (await call('POST', '/v1/score', { id: lead.Id })).json.scores[0];
      const { Id: _id, ...fields } = lead;
      const byPayload = (await call('POST', '/v1/score', { leads: [{ id: lead.Id, fields }] })).json
        .scores[0];
      expect(byPayload.status).toBe(200);
      expect(byPayload.probability).toBeCloseTo(byId.probability, 6);
    });

    it('scores a full payload without storing it, and no PII reaches the logs or the audit log', async () => {
      const id = leadIdOf(777_777);
      const fields = {
        ...syntheticLead(777_777, 'US', NOW, seeded(3)),
        ...PII,
        Title: 'Chief Pii Officer',
      } as Record<string, unknown>;
      delete fields.Id;
      const res = await call('POST', '/v1/score', { leads: [{ id, fields }] });
      expect(res.status).toBe(200);
      expect(res.json.scores[0].status).toBe(200);
      expect((await sidecar.store.getLeadStates([id]))[0]).toBeNull();
      // A refused payload (other region) and a bad one are not logged either.
      expect(
        (await call('POST', '/v1/score', { leads: [{ id, fields: { ...fields, Data_Region__c: 'EU' } }] }))
          .status,
      ).toBe(403);
      expect(
        (await call('POST', '/v1/score', { leads: [{ id, fields: { ...fields, CreatedDate: PII.Email } }] }))
          .status,
      ).toBe(400);
      const audit = await auditText(auditDir);
      // The entry is there, readable through its subject's key; its lead id is sealed, not in clear.
      const history = [];
      for await (const e of auditHistory(auditDir, id)) history.push(e);
      expect(history).toHaveLength(1);
      expect(audit).not.toContain(id);
      const everything = `${logLines.join('\n')}\n${audit}`;
      for (const value of Object.values(PII)) expect(everything).not.toContain(value);
      expect(everything).not.toContain('Chief Pii Officer');
    });

    it('appends every score to the audit log with caller, request id, vector, hash and reasons', async () => {
      await call('POST', '/v1/score', { leads: [{ id: leads[3]!.Id }] }, { 'x-request-id': 'req-audit-1' });
      const history = [];
      for await (const e of auditHistory(auditDir, leads[3]!.Id)) history.push(e);
      const matching = history.filter((e) => e.requestId === 'req-audit-1');
      expect(matching).toHaveLength(1);
      const entry = matching[0]!;
      // On disk the request id is sealed with the lead's other personal members.
      expect(await auditText(auditDir)).not.toContain('req-audit-1');
      expect(entry).toMatchObject({
        requestId: 'req-audit-1',
        caller: 'salesforce-us',
        leadId: leads[3]!.Id,
        source: 'model',
        modelVersion: model.version,
        region: 'US',
      });
      expect(entry.featureVector).toHaveLength(model.features.length);
      expect(entry.featureHash).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.reasons.length).toBeGreaterThan(0);
    });

    it('takes a batch of 1,000 and refuses 1,001 with 400 naming the field', async () => {
      const ids = Array.from({ length: 1000 }, (_, i) => ({ id: leads[i % N_LEADS]!.Id }));
      const ok = await call('POST', '/v1/score', { leads: ids });
      expect(ok.status).toBe(200);
      expect(ok.json.scores).toHaveLength(1000);
      const tooMany = await call('POST', '/v1/score', { leads: [...ids, { id: leads[0]!.Id }] });
      expect(tooMany.status).toBe(400);
      expect(tooMany.json.error.issues[0].path).toBe('leads');
    });

    it('answers 400 with the field path and reason, 413 over the size limit, 415 when not JSON, never 500', async () => {
      const badId = await call('POST', '/v1/score', { leads: [{ id: leads[0]!.Id }, { id: 'not-a-lead' }] });
      expect(badId.status).toBe(400);
      expect(badId.json.error.issues[0]).toEqual({
        path: 'leads[1].id',
        message: expect.stringContaining('Lead Id'),
      });
      const badField = await call('POST', '/v1/score', {
        leads: [{ id: leads[0]!.Id, fields: { CreatedDate: 'yesterday' } }],
      });
      expect(badField.status).toBe(400);
      expect(badField.json.error.issues.map((i: { path: string }) => i.path)).toContain(
        'leads[0].fields.CreatedDate',
      );
      const broken = await call('POST', '/v1/score', '{"leads": [', { 'content-type': 'application/json' });
      expect(broken.status).toBe(400);
      expect(broken.json.error.code).toBe('invalid_json');
      const huge = await call('POST', '/v1/score', {
        leads: [{ id: leads[0]!.Id, fields: { pad: 'x'.repeat(sidecar.config.limits.jsonBodyBytes) } }],
      });
      expect(huge.status).toBe(413);
      expect((await call('POST', '/v1/score', 'id=1', { 'content-type': 'text/plain' })).status).toBe(415);
      expect((await call('POST', '/v1/score', [])).status).toBe(400);
      expect((await call('POST', '/v1/score', { leads: [{ id: leads[0]!.Id, extra: 1 }] })).status).toBe(400);
    });

    it('refuses a lead of the other region with 403 naming the region', async () => {
      const res = await call('POST', '/v1/score', {
        leads: [{ id: leads[0]!.Id }, { id: leads[1]!.Id, region: 'EU' }],
      });
      expect(res.status).toBe(403);
      expect(res.json.error.message).toContain('region EU');
    });
  });

  describe('POST /v1/events', () => {
    const event = (n: number, leadId: string, type = 'pricing_page_visit', region = 'US') => ({
      eventId: `evt-${randomUUID()}-${n}`,
      leadId,
      type,
      occurredAt: new Date(NOW - n * 60_000).toISOString(),
      region,
    });

    it('applies events, rescores the leads and queues material changes for write-back', async () => {
      await writebackJobs(); // start from an empty queue
      const lead = leads[5]!;
      const first = await call('POST', '/v1/events', { events: [event(1, lead.Id), event(2, lead.Id)] });
      expect(first.status).toBe(200);
      expect(first.json).toMatchObject({
        applied: 2,
        duplicates: 0,
        rescored: 1,
        writebackQueued: 1,
        writebackQueue: 'leadrank-writeback-US',
      });
      const [job] = await writebackJobs();
      expect(job).toMatchObject({
        leadId: lead.Id,
        region: 'US',
        previousScore: null,
        trigger: 'events',
        source: 'model',
      });
      expect(job!.reasonLines.length).toBeGreaterThan(0);

      // A web visit moves the score little: not material, nothing queued.
      const second = await call('POST', '/v1/events', event(3, lead.Id, 'web_visit'));
      expect(second.status).toBe(200);
      expect(second.json.rescored).toBe(1);
      const queued = await writebackJobs();
      expect(queued).toHaveLength(second.json.writebackQueued);
      if (queued.length)
        expect(Math.abs(queued[0]!.score - job!.score) >= 5 || queued[0]!.band !== job!.band).toBe(true);
    });

    it('is idempotent by eventId and reports leads without a profile', async () => {
      const e = event(4, leads[6]!.Id);
      await call('POST', '/v1/events', { events: [e] });
      const again = await call('POST', '/v1/events', { events: [e, event(5, leadIdOf(888_888))] });
      expect(again.json).toMatchObject({
        applied: 1,
        duplicates: 1,
        unknownLeadIds: [leadIdOf(888_888)],
        rescored: 0,
      });
    });

    it('refuses the whole batch with 403 when an event belongs to the other region, applying nothing', async () => {
      const lead = leads[7]!;
      const before = (await sidecar.store.getLeadStates([lead.Id]))[0]!.events.total('pricing_page_visit');
      const res = await call('POST', '/v1/events', {
        events: [event(6, lead.Id), event(7, lead.Id, 'pricing_page_visit', 'EU')],
      });
      expect(res.status).toBe(403);
      expect(res.json.error.message).toContain('region EU');
      const after = (await sidecar.store.getLeadStates([lead.Id]))[0]!.events.total('pricing_page_visit');
      expect(after).toBe(before);
    });

    it('answers 400 naming the field of a bad event', async () => {
      const res = await call('POST', '/v1/events', { events: [event(8, leads[8]!.Id, 'telepathy')] });
      expect(res.status).toBe(400);
      expect(res.json.error.issues[0].path).toBe('events[0].type');
      const future = await call('POST', '/v1/events', {
        events: [{ ...event(9, leads[8]!.Id), occurredAt: new Date(NOW + 86_400_000).toISOString() }],
      });
      expect(future.status).toBe(400);
      expect(future.json.error.issues[0].path).toBe('events[0]');
    });
  });

  describe('POST /v1/extracts/:kind', () => {
    const today = new Date().toISOString().slice(0, 10);

    it('streams an ERP CSV into the store as of its extract date', async () => {
      const account = leads.find((l) => l.Matched_Account__c)!;
      await sidecar.store.putAccountLinks([
        { accountId: account.Matched_Account__c!, erpAccountNumber: 'ERP-1' },
      ]);
      const csv = `erp_account_number,extract_date,is_customer,erp_revenue,products_held,payment_status,region\nERP-1,${today},true,125000,3,current,US\nERP-2,${today},false,,0,,US\n`;
      const res = await call('POST', '/v1/extracts/erp', csv, { 'content-type': 'text/csv' });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ kind: 'erp', rows: 2, extractDates: { from: today, to: today } });
      const state = (await sidecar.store.getLeadStates([account.Id]))[0]!;
      expect(state.erp).toMatchObject({
        erp_account_number: 'ERP-1',
        is_customer: true,
        erp_revenue: 125000,
      });
    });

    it('streams marketing NDJSON; a bad row fails with 400 naming line and field, and nothing is written', async () => {
      const [a, b] = [leads[10]!, leads[11]!];
      const good = [
        {
          lead_id: a.Id,
          extract_date: today,
          campaign_count: 2,
          last_campaign: 'Spring',
          intent_score: 71,
          intent_topic: 'crm',
          region: 'US',
        },
        {
          lead_id: b.Id,
          extract_date: today,
          campaign_count: 1,
          last_campaign: null,
          intent_score: 10,
          intent_topic: null,
          region: 'US',
        },
      ];
      const bad = [
        ...good.map((r) => ({ ...r, intent_score: 99 })),
        { lead_id: a.Id, extract_date: 'last week', campaign_count: 1, region: 'US' },
      ];
      const nd = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');
      const refused = await call('POST', '/v1/extracts/marketing', nd(bad), {
        'content-type': 'application/x-ndjson',
      });
      expect(refused.status).toBe(400);
      expect(refused.json.error.message).toMatch(/^line 3: extract_date: /);
      expect((await sidecar.store.getLeadStates([a.Id]))[0]!.marketing).toBeNull();
      const ok = await call('POST', '/v1/extracts/marketing', nd(good), {
        'content-type': 'application/x-ndjson',
      });
      expect(ok.status).toBe(200);
      expect(ok.json.rows).toBe(2);
      expect((await sidecar.store.getLeadStates([a.Id]))[0]!.marketing).toMatchObject({ intent_score: 71 });
    });

    it('refuses an extract with a row of the other region (403 naming line and region), writing nothing', async () => {
      const csv = `erp_account_number,extract_date,is_customer,erp_revenue,products_held,payment_status,region\nERP-7,${today},true,1,1,current,US\nERP-8,${today},true,2,2,current,EU\n`;
      const res = await call('POST', '/v1/extracts/erp', csv, { 'content-type': 'text/csv' });
      expect(res.json.error.message).toContain('line 3');
      expect(res.status).toBe(403);
      expect(res.json.error.message).toContain('region EU');
      const account = leads.find(
        (l) => l.Matched_Account__c && l.Id !== leads.find((x) => x.Matched_Account__c)!.Id,
      )!;
      await sidecar.store.putAccountLinks([
        { accountId: account.Matched_Account__c!, erpAccountNumber: 'ERP-7' },
      ]);
      expect((await sidecar.store.getLeadStates([account.Id]))[0]!.erp).toBeNull();
    });

    it('answers 415 for another content type, 400 for an unknown kind or a bad CSV row', async () => {
      expect(
        (await call('POST', '/v1/extracts/erp', '{}', { 'content-type': 'application/json' })).status,
      ).toBe(415);
      expect((await call('POST', '/v1/extracts/crm', 'a\n', { 'content-type': 'text/csv' })).status).toBe(
        400,
      );
      const res = await call(
        'POST',
        '/v1/extracts/erp',
        `erp_account_number,extract_date,is_customer,region\nERP-9,${today},maybe,US\n`,
        { 'content-type': 'text/csv' },
      );
      expect(res.status).toBe(400);
      expect(res.json.error.message).toMatch(/^line 2: is_customer: /);
    });
  });

  describe('GET /v1/worklists/:repId', () => {
    const rep = '005000000000REP';
    it("ranks the rep's candidates, scored in one batch, with reasons and why", async () => {
      const mine = leads.slice(20, 32);
      const worklistLeads = mine.map((l, i) =>
        worklistLeadOf(l, rep, i === 0 ? { status: 'Closed - Converted', isConverted: true } : {}),
      );
      await sidecar.worklistIndex!.upsert(worklistLeads);
      const res = await call('GET', `/v1/worklists/${rep}`);
      expect(res.status).toBe(200);
      const items = res.json.items as {
        leadId: string;
        rank: number;
        source: string;
        why: string[];
        reasonLines: string[];
      }[];
      expect(items.length).toBe(mine.length - 1);
      expect(items.map((i) => i.rank)).toEqual(items.map((_, i) => i + 1));
      expect(items.map((i) => i.leadId)).not.toContain(mine[0]!.Id);
      for (const item of items) {
        expect(item.source).toBe('model');
        expect(item.why.length).toBeGreaterThan(0);
      }
      expect(items.some((i) => i.reasonLines.length > 0)).toBe(true);
    });

    it('answers 400 for a rep id that is not a User Id', async () => {
      const res = await call('GET', '/v1/worklists/not-a-user');
      expect(res.status).toBe(400);
      expect(res.json.error.issues[0].path).toBe('repId');
    });
  });

  describe('health, readiness, metrics, unknown routes', () => {
    it('answers /healthz and /readyz (model loaded, store reachable)', async () => {
      expect((await call('GET', '/healthz')).json).toMatchObject({ status: 'ok', scoring: 'model' });
      const ready = await call('GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.json.checks.model).toMatchObject({ ok: true, mode: 'model', version: model.version });
      expect(ready.json.checks.store.ok).toBe(true);
    });

    it('exports latency per route, scores by source, fallbacks by reason, model info and store latency', async () => {
      const text = (await call('GET', '/metrics')).text;
      expect(text).toMatch(
        /leadrank_http_request_duration_seconds_count\{route="\/v1\/score",method="POST",status="200"\} [1-9]/,
      );
      expect(text).toMatch(/leadrank_scores_total\{source="model"\} [1-9]/);
      expect(text).toContain('leadrank_fallbacks_total{reason="no_model"} 0');
      expect(text).toContain(`leadrank_model_info{version="${model.version}",mode="model"} 1`);
      expect(text).toMatch(/leadrank_store_latency_seconds_count\{operation="getLeadStates"\} [1-9]/);
    });

    it('answers an unknown route with 404 JSON', async () => {
      const res = await call('GET', '/v2/nothing');
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe('not_found');
    });
  });

  describe('OpenAPI document (GET /openapi.json)', () => {
    let doc: OpenApiDoc;
    beforeAll(async () => {
      doc = (await call('GET', '/openapi.json')).json as OpenApiDoc;
    });

    it('documents exactly the routes the app serves', () => {
      const served = appRoutes(sidecar.app).sort();
      const documented = Object.entries(doc.paths)
        .flatMap(([path, ops]) =>
          Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
        )
        .sort();
      expect(documented).toEqual(served);
    });

    it('every JSON response of this suite validates against the documented schema of its route and status', () => {
      const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
      ajv.addSchema(doc as object, 'openapi.json');
      const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
      let checked = 0;
      const statuses = new Set<string>();
      for (const r of recorded) {
        const route = Object.keys(doc.paths).find((p) =>
          new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`).test(r.path.split('?')[0]!),
        );
        if (!route || !r.contentType.startsWith('application/json')) continue;
        const op = doc.paths[route]![r.method.toLowerCase()];
        expect(op, `${r.method} ${route}`).toBeDefined();
        const documented = op!.responses[String(r.status)]?.content?.['application/json'];
        expect(documented, `${r.method} ${route} ${r.status} is documented`).toBeDefined();
        const validate = ajv.compile({
          $ref: `openapi.json#/paths/${pointer(route)}/${r.method.toLowerCase()}/responses/${r.status}/content/${pointer('application/json')}/schema`,
        });
        const ok = validate(JSON.parse(r.text));
        expect(ok, `${r.method} ${r.path} ${r.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        checked++;
        statuses.add(`${r.method} ${route} ${r.status}`);
      }
      expect(checked).toBeGreaterThanOrEqual(40);
      for (const must of [
        'POST /v1/score 200',
        'POST /v1/events 200',
        'GET /v1/worklists/{repId} 200',
        'POST /v1/extracts/{kind} 200',
        'POST /v1/score 400',
        'POST /v1/score 403',
        'POST /v1/score 401',
      ]) {
        expect(statuses).toContain(must);
      }
    });
  });
});
