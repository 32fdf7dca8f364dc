import { parse } from 'csv-parse/sync';
import { Connection } from 'jsforce';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkRuntime } from '../src/bulk/index.js';
import { startOrgSimulator, type RunningOrgSimulator } from '../src/server.js';

let sim: RunningOrgSimulator;
let conn: Connection;
const TOTAL = 25_000;
const seededIds: string[] = [];

beforeAll(async () => {
  sim = await startOrgSimulator({ port: 0, logger: pino({ level: 'silent' }) });
  const { clientId, clientSecret } = sim.devClient!;
  conn = new Connection({ oauth2: { clientId, clientSecret, loginUrl: sim.url }, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });
  conn.bulk2.pollInterval = 50;
  conn.bulk2.pollTimeout = 120_000;
  for (let i = 0; i < TOTAL; i += 5_000) {
    const batch = Array.from({ length: 5_000 }, (_, k) => ({
      LastName: `Q${i + k}`,
      Company: `Co, "${i + k}"`,
      Data_Region__c: (i + k) % 2 === 0 ? 'US' : 'EU',
      NumberOfEmployees: i + k,
      Scored_At__c: '2024-05-01T10:00:00.000Z',
    }));
    for (const r of sim.ctx.store.insert('Lead', batch)) seededIds.push(r.id!);
  }
});

afterAll(async () => {
  if (!sim) return;
  await bulkRuntime(sim.ctx).dispose();
  await sim.close();
});

async function createQueryJob(query: string, operation: 'query' | 'queryAll' = 'query') {
  const res = await fetch(`${sim.url}/services/data/v62.0/jobs/query`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${conn.accessToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ operation, query }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { id: string } };
}

async function resultsPage(jobId: string, params: Record<string, string>) {
  const qs = new URLSearchParams(params).toString();
  const res = await fetch(`${sim.url}/services/data/v62.0/jobs/query/${jobId}/results${qs ? `?${qs}` : ''}`, {
    headers: { Authorization: `Bearer ${conn.accessToken}`, Accept: 'text/csv' },
  });
  return {
    status: res.status,
    locator: res.headers.get('sforce-locator'),
    count: res.headers.get('sforce-numberofrecords'),
    text: await res.text(),
  };
}

describe('Bulk API 2.0 query', () => {
  it('runs a query job through jsforce and returns Salesforce-formatted CSV values', async () => {
    const records: Record<string, string>[] = [];
    const stream = await conn.bulk2.query(
      "SELECT Id, LastName, Company, IsConverted, Scored_At__c, Title, NumberOfEmployees FROM Lead WHERE LastName = 'Q7'",
    );
    for await (const rec of stream) records.push(rec as Record<string, string>);
    expect(records).toEqual([
      {
        Id: seededIds[7],
        LastName: 'Q7',
        Company: 'Co, "7"',
        IsConverted: 'false',
        Scored_At__c: '2024-05-01T10:00:00.000Z',
        Title: '',
        NumberOfEmployees: '7',
      },
    ]);
  });

  it('pages 25,000 rows by maxRecords=10,000 with locators, every row exactly once', async () => {
    const { body: job } = await createQueryJob('SELECT Id, Data_Region__c FROM Lead');
    expect(job).toMatchObject({
      state: 'UploadComplete',
      operation: 'query',
      object: 'Lead',
      jobType: 'V2Query',
    });
    await conn.bulk2.job('query', { id: job.id }).poll();
    const info = await conn.bulk2.job('query', { id: job.id }).check();
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: TOTAL });

    const seen: string[] = [];
    const counts: string[] = [];
    let locator: string | null = null;
    let firstPageLocator: string | null = null;
    do {
      const page = await resultsPage(job.id, { maxRecords: '10000', ...(locator ? { locator } : {}) });
      expect(page.status).toBe(200);
      const rows = parse(page.text) as string[][];
      expect(rows[0]).toEqual(['Id', 'Data_Region__c']); // header on every page
      seen.push(...rows.slice(1).map((r) => r[0]!));
      counts.push(page.count!);
      expect(Number(page.count)).toBe(rows.length - 1);
      firstPageLocator ??= page.locator;
      locator = page.locator === 'null' ? null : page.locator;
    } while (locator);
    expect(counts).toEqual(['10000', '10000', '5000']);
    expect(seen).toHaveLength(TOTAL);
    expect(new Set(seen)).toEqual(new Set(seededIds));

    // A locator names the same set of results each time it is used.
    const again1 = await resultsPage(job.id, { maxRecords: '10000', locator: firstPageLocator! });
    const again2 = await resultsPage(job.id, { maxRecords: '10000', locator: firstPageLocator! });
    expect(again1.text).toBe(again2.text);
    expect((parse(again1.text) as string[][])[1]![0]).toBe(seen[10_000]);
  });

  it('uses the job dialect for results', async () => {
    const res = await fetch(`${sim.url}/services/data/v62.0/jobs/query`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${conn.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        operation: 'query',
        query: "SELECT Id, Company FROM Lead WHERE LastName IN ('Q1', 'Q2') ORDER BY LastName",
        columnDelimiter: 'SEMICOLON',
        lineEnding: 'CRLF',
      }),
    });
    const job = (await res.json()) as { id: string };
    await conn.bulk2.job('query', { id: job.id }).poll();
    const page = await resultsPage(job.id, {});
    expect(page.text).toBe(
      `"Id";"Company"\r\n"${seededIds[1]}";"Co, ""1"""\r\n"${seededIds[2]}";"Co, ""2"""\r\n`,
    );
    expect(page.locator).toBe('null');
  });

  it('answers MALFORMED_QUERY and INVALID_FIELD on create', async () => {
    await expect(conn.bulk2.query('SELECT Id FORM Lead')).rejects.toMatchObject({
      errorCode: 'MALFORMED_QUERY',
    });
    await expect(conn.bulk2.query('SELECT Id, Nope__c FROM Lead')).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
    });
    const { status, body } = await createQueryJob('SELECT Id FROM Lead', 'bogus' as 'query');
    expect(status).toBe(400);
    expect(body).toMatchObject([{ errorCode: 'JSON_PARSER_ERROR' }]);
  });

  it('includes deleted rows with queryAll only', async () => {
    const [gone] = sim.ctx.store
      .insert('Lead', [{ LastName: 'Deleted One', Company: 'X', Data_Region__c: 'US' }])
      .map((r) => r.id!);
    sim.ctx.store.delete('Lead', [gone!]);
    const soql = "SELECT Id FROM Lead WHERE LastName = 'Deleted One'";
    for (const [operation, expected] of [
      ['query', 0],
      ['queryAll', 1],
    ] as const) {
      const { body: job } = await createQueryJob(soql, operation);
      await conn.bulk2.job('query', { id: job.id }).poll();
      expect((await conn.bulk2.job('query', { id: job.id }).check()).numberRecordsProcessed).toBe(expected);
    }
  });

  it('refuses to abort a finished job, deletes it, and counts DailyBulkV2QueryJobs', async () => {
    const runtime = bulkRuntime(sim.ctx);
    const before = runtime.usage.snapshot().DailyBulkV2QueryJobs.Remaining;
    const { body: job } = await createQueryJob('SELECT Id FROM Lead LIMIT 3');
    expect(runtime.usage.snapshot().DailyBulkV2QueryJobs.Remaining).toBe(before - 1);
    const handle = conn.bulk2.job('query', { id: job.id });
    await handle.poll();
    expect((await handle.check()).numberRecordsProcessed).toBe(3);
    await expect(handle.abort()).rejects.toMatchObject({ errorCode: 'INVALIDJOBSTATE' });
    const bad = await resultsPage(job.id, { locator: 'not-a-locator' });
    expect(bad.status).toBe(400);
    await handle.delete();
    await expect(handle.check()).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
    const list = (await conn.request('/services/data/v62.0/jobs/query')) as { records: { id: string }[] };
    expect(list.records.map((r) => r.id)).not.toContain(job.id);
  });
});
