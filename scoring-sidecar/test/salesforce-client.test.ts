// The one Salesforce client against the org simulator: retries what is transient (REQUEST_LIMIT_EXCEEDED,
// 503, timeouts) and nothing else; Bulk ingest jobs resume from a checkpoint and a failed job is submitted
// once more; sObject Collections write ≤ 200 records a call.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import {
  SalesforceClient,
  backoffDelay,
  connectToOrg,
  type SalesforceError,
} from '../src/salesforce/index.js';

const app = { clientId: 'client-test', clientSecret: 'client-test-secret' };
const log = pino({ level: 'silent' });
const FAST = { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000 };
let sim: RunningOrgSimulator;

const admin = (path: string, method: string, body?: unknown) =>
  fetch(`${sim.url}/__admin${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).then((r) => r.json());

async function client(retry = FAST): Promise<SalesforceClient> {
  const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
  return new SalesforceClient(conn, { retry, poll: { intervalMs: 20, timeoutMs: 10_000 }, log });
}

async function insertLeads(c: SalesforceClient, n: number): Promise<string[]> {
  const res = await c.request<{ id: string; success: boolean }[]>({
    method: 'POST',
    path: '/composite/sobjects',
    write: true,
    contentType: 'application/json',
    body: JSON.stringify({
      allOrNone: true,
      records: Array.from({ length: n }, (_, i) => ({
        attributes: { type: 'Lead' },
        LastName: `L${i}`,
        Company: `C${i}`,
        Data_Region__c: 'US',
      })),
    }),
  });
  return res.map((r) => r.id);
}

beforeAll(async () => {
  sim = await startOrgSimulator({ port: 0, clients: [app], logger: log });
});
afterAll(async () => {
  await sim?.close();
});

describe('SalesforceClient retry policy', () => {
  it('rides out REQUEST_LIMIT_EXCEEDED then 503 answers and returns the real result', async () => {
    const c = await client();
    await insertLeads(c, 3);
    await admin('/outage', 'PUT', { errorCode: 'REQUEST_LIMIT_EXCEEDED', requests: 2 });
    const rows: unknown[] = [];
    const query = c.query("SELECT Id FROM Lead WHERE Data_Region__c = 'US'");
    const first = await query.next(); // the 2 outage answers are retried inside this call
    rows.push(first.value);
    await admin('/outage', 'PUT', { errorCode: 'SERVER_UNAVAILABLE', requests: 2 });
    for await (const r of c.bulkQuery("SELECT Id FROM Lead WHERE Data_Region__c = 'US'")) rows.push(r);
    expect(rows.length).toBe(1 + 3);
    expect(c.stats.retriedCalls).toBe(4);
    expect(await admin('/outage', 'GET', undefined)).toBeNull();
  });

  it('gives up after maxAttempts when the outage lasts, with the org’s error', async () => {
    const c = await client({ ...FAST, maxAttempts: 3 });
    await admin('/outage', 'PUT', { errorCode: 'SERVER_UNAVAILABLE', requests: 10 });
    const error = (await c.limits().catch((e: unknown) => e)) as SalesforceError;
    await admin('/outage', 'DELETE', undefined);
    expect(error.errorCode).toBe('SERVER_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(c.stats.apiCalls).toBe(3);
  });

  it('does not retry a 4xx validation error', async () => {
    const c = await client();
    const error = (await c
      .query('SELECT NoSuchField__c FROM Lead')
      .next()
      .catch((e: unknown) => e)) as SalesforceError;
    expect(error.errorCode).toBe('INVALID_FIELD');
    expect(c.stats.apiCalls).toBe(1);
    expect(c.stats.retriedCalls).toBe(0);
  });

  it('times a slow call out with AbortSignal.timeout and retries it', async () => {
    const c = await client({ ...FAST, maxAttempts: 2, timeoutMs: 100 });
    await admin('/faults', 'PUT', { latencyMs: 400 });
    const error = (await c.limits().catch((e: unknown) => e)) as Error;
    await admin('/faults', 'PUT', { latencyMs: 0 });
    expect(error.name).toBe('TimeoutError');
    expect(c.stats.retriedCalls).toBe(1);
    await expect(c.limits()).resolves.toMatchObject({ limit: 100_000 });
  });
});

describe('SalesforceClient sessions', () => {
  it('renews an expired session once through the connection (client credentials run again)', async () => {
    const c = await client();
    const revoked = await fetch(`${sim.url}/services/oauth2/revoke`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: c.conn.accessToken! }),
    });
    expect(revoked.status).toBe(200);
    const before = c.conn.accessToken;
    await expect(c.limits()).resolves.toMatchObject({ limit: 100_000 });
    expect(c.conn.accessToken).not.toBe(before);
    expect(c.stats.retriedCalls).toBe(0);
  });
});

describe('SalesforceClient writes', () => {
  it('resumes a checkpointed Bulk ingest job instead of submitting the rows again', async () => {
    const c = await client();
    const ids = await insertLeads(c, 2);
    const csv = `Id,Industry\n${ids.map((id) => `${id},Biotechnology`).join('\n')}\n`;
    let saved: string | null = null;
    const spec = {
      object: 'Lead' as const,
      operation: 'update' as const,
      keyColumn: 'Id' as const,
      csv,
      rows: 2,
    };
    const first = await c.runIngestJob(spec, {
      load: async () => null,
      save: async (id) => void (saved = id),
    });
    expect(first).toMatchObject({ processed: 2, failed: [], jobFailure: null });
    const again = await client();
    const resumed = await again.runIngestJob(spec, { load: async () => saved, save: async () => {} });
    expect(resumed.jobIds).toEqual([saved]);
    expect(again.stats.bulkJobs).toBe(0);
  });

  it('submits a job that ends Failed once more, then reports it', async () => {
    const c = await client();
    const spec = {
      object: 'Lead' as const,
      operation: 'update' as const,
      keyColumn: 'Id' as const,
      csv: '',
      rows: 0,
    };
    const outcome = await c.runIngestJob(spec, { load: async () => null, save: async () => {} });
    expect(outcome.jobIds).toHaveLength(2);
    expect(c.stats.resubmittedJobs).toBe(1);
    expect(outcome.jobFailure).toMatch(/Failed: InvalidBatch/);
  });

  it('updates records through sObject Collections, 200 a call, per-record results in order', async () => {
    const c = await client();
    const ids = await insertLeads(c, 150);
    const records = [
      ...ids.map((Id) => ({ Id, Rating: 'Hot' })),
      ...ids.slice(0, 60).map((Id) => ({ Id, NumberOfEmployees: 'not a number' })),
    ];
    const before = c.stats.apiCalls;
    const results = await c.updateRecords('Lead', records);
    expect(c.stats.apiCalls - before).toBe(2);
    expect(results.slice(0, 150).every((r) => r.success)).toBe(true);
    expect(results.slice(150).every((r) => !r.success && r.errors[0]?.statusCode)).toBe(true);
    expect(results.map((r) => r.key)).toEqual(records.map((r) => r.Id));
  });
});

describe('backoffDelay (loops above one call)', () => {
  it('stays within full jitter bounds', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const d = backoffDelay(attempt, 100, 2000);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(2000, 100 * 2 ** attempt));
    }
    expect(backoffDelay(3, 100, 2000, () => 1)).toBe(800);
  });
});
