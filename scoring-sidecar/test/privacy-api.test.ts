// The erasure routes on a running sidecar (rules only, embedded store, the org simulator as the org): 401 without
// a token, 400 naming the field, 200 with the receipt, the same receipt (alreadyErased) the second time, the
// receipt by id, 404 for an unknown lead and an unknown receipt; the lead's audit entries unreadable afterwards.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { auditErasure, auditHistory, verifyAuditLog } from '../src/audit/index.js';
import type { ModelSource } from '../src/scoring/index.js';
import { startServer } from '../src/server.js';
import { seeded, syntheticLead } from './api-test-kit.js';
import { CLIENT, queryStore, seedLeads, startSimulator } from './batch-kit.js';

const SECRET = 'privacy-secret';
const CLIENTS = JSON.stringify([
  {
    clientId: 'apex-eu',
    clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
    region: 'EU',
    name: 'Apex',
  },
]);

const noModel: ModelSource = {
  current: () => null,
  status: () => ({ version: null, loadedAt: null, lastError: 'rules only in this test' }),
  close: async () => {},
};

let work: string;
let sim: RunningOrgSimulator;
let base: string;
let token: string;
let stop: () => Promise<void>;
let leadId: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'privacy-api-'));
  sim = await startSimulator({ region: 'EU' });
  seedLeads(sim, 3, { region: 'EU', seed: 3 });
  leadId = String(queryStore(sim, 'SELECT Id FROM Lead ORDER BY Id')[0]!.Id);
  sim.ctx.store.insert('Score_History__c', [
    { Lead__c: leadId, External_Key__c: `${leadId}:evt-1`, Score__c: 55 },
  ]);
  const started = await startServer(
    {
      REGION: 'EU',
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_CLIENTS: CLIENTS,
      LEADRANK_TOKEN_SIGNING_KEY: 'privacy-signing-key-0123456789abcdef0123',
      LEADRANK_AUDIT_DIR: join(work, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(work, 'state'),
      LEADRANK_ROOT: work,
      LEADRANK_CONFIG_DIR: join(process.cwd(), 'config'),
      LEADRANK_RULES_ONLY: '1',
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: CLIENT.clientId,
      SF_CLIENT_SECRET: CLIENT.clientSecret,
    },
    { logger: pino({ level: 'silent' }), models: noModel },
  );
  stop = started.stop;
  base = `http://127.0.0.1:${started.port}`;
  const rand = seeded(9);
  await started.sidecar.store.putLeads([{ ...syntheticLead(1, 'EU', Date.now(), rand), Id: leadId }]);
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=apex-eu&client_secret=${SECRET}`,
  });
  token = ((await res.json()) as { access_token: string }).access_token;
}, 60_000);

afterAll(async () => {
  await stop?.();
  await sim?.close();
  await rm(work, { recursive: true, force: true });
});

const post = (body: unknown, auth = true) =>
  fetch(`${base}/v1/privacy/erasures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

describe('POST /v1/privacy/erasures', () => {
  it('erases a scored lead, answers the same receipt again, and tells bad input and unknown leads apart', async () => {
    const scored = await fetch(`${base}/v1/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ leads: [{ id: leadId }] }),
    });
    expect(scored.status).toBe(200);

    expect((await post({ id: leadId }, false)).status).toBe(401);
    const bad = await post({ id: 'not-an-id', reason: 'because' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^id: /);
    const wrongRegion = await post({ id: leadId, region: 'US' });
    expect(wrongRegion.status).toBe(400);

    const first = await post({ id: leadId });
    expect(first.status).toBe(200);
    const body = (await first.json()) as {
      receiptId: string;
      alreadyErased: boolean;
      receipt: {
        id: string;
        status: string;
        steps: { store: string; removed: number | null; error?: string }[];
      };
    };
    expect(body.alreadyErased).toBe(false);
    expect(body.receipt.status).toBe('done');
    expect(body.receipt.steps.filter((s) => s.error)).toEqual([]);
    expect(body.receipt.steps.find((s) => s.store.startsWith('Score_History__c'))!.removed).toBe(1);
    expect(body.receipt.steps.find((s) => s.store.startsWith('online'))!.removed).toBe(1);
    expect(JSON.stringify(body)).not.toContain(leadId);
    expect(first.headers.get('location')).toBe(`/v1/privacy/erasures/${body.receiptId}`);

    const again = await post({ id: leadId });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ receiptId: body.receiptId, alreadyErased: true });

    const receipt = await fetch(`${base}/v1/privacy/erasures/${body.receiptId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(receipt.status).toBe(200);
    expect(await receipt.json()).toMatchObject({ id: body.receiptId, status: 'done' });
    const missing = await fetch(`${base}/v1/privacy/erasures/er_${'0'.repeat(24)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(missing.status).toBe(404);

    const unknown = await post({ id: `${leadId.slice(0, 9)}999999` });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_lead');

    // The Score_History__c row is gone for good; the audit still verifies, the lead's entries are unreadable.
    expect(queryStore(sim, `SELECT Id FROM Score_History__c WHERE Lead__c = '${leadId}'`)).toEqual([]);
    const auditDir = join(work, 'audit');
    expect(await verifyAuditLog(auditDir)).toMatchObject({ ok: true, entries: 1 });
    const readable = [];
    for await (const e of auditHistory(auditDir, leadId)) readable.push(e);
    expect(readable).toEqual([]);
    expect(await auditErasure(auditDir, leadId)).toMatchObject({ receipt: body.receiptId, unreadable: 1 });
  }, 60_000);
});
