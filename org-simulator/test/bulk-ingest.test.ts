import { Readable } from 'node:stream';
import { Connection } from 'jsforce';
import type { IngestJobV2 } from 'jsforce/lib/api/bulk2.js';
import type { Schema } from 'jsforce/lib/types/index.js';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bulkRuntime } from '../src/bulk/index.js';
import { INTEGRATION_USER_ID } from '../src/store/org-store.js';
import { startOrgSimulator, type RunningOrgSimulator } from '../src/server.js';

/** jsforce types result rows loosely; they are CSV rows of strings. */
type CsvRow = Record<string, string>;
const rowsOf = (rows: unknown): CsvRow[] => rows as CsvRow[];

let sim: RunningOrgSimulator;
let conn: Connection;

beforeAll(async () => {
  sim = await startOrgSimulator({ port: 0, logger: pino({ level: 'silent' }) });
  const { clientId, clientSecret } = sim.devClient!;
  conn = new Connection({ oauth2: { clientId, clientSecret, loginUrl: sim.url }, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });
  conn.bulk2.pollInterval = 50;
  conn.bulk2.pollTimeout = 120_000;
});

afterAll(async () => {
  if (!sim) return;
  await bulkRuntime(sim.ctx).dispose();
  await sim.close();
});

beforeEach(() => {
  sim.ctx.faults.set({ lockErrorRate: 0 });
  bulkRuntime(sim.ctx).usage.reset();
  bulkRuntime(sim.ctx).configure({
    limits: { dailyRecords: 150_000_000, dailyBatches: 15_000 },
    ingestBatchSize: 10_000,
    maxUploadBytes: 150 * 1024 * 1024,
  });
});

let leadSeq = 0;
/** Inserts leads straight into the store; returns their Ids. */
function seedLeads(n: number, extra: Record<string, unknown> = {}): string[] {
  const records = Array.from({ length: n }, () => {
    leadSeq += 1;
    return {
      LastName: `Last${leadSeq}`,
      Company: `Company ${leadSeq}`,
      Data_Region__c: 'US',
      Source_Record_Id__c: `SRC-${leadSeq}`,
      ...extra,
    };
  });
  return sim.ctx.store.insert('Lead', records).map((r) => {
    expect(r.success).toBe(true);
    return r.id!;
  });
}

function lead(id: string): Record<string, unknown> {
  const rec = sim.ctx.store.retrieve('Lead', id);
  expect(rec).toBeDefined();
  return rec!;
}

async function expectApiError(promise: Promise<unknown>, errorCode: string): Promise<Error> {
  const err = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as (Error & { errorCode?: string }) | undefined;
  expect(err, `expected ${errorCode}`).toBeInstanceOf(Error);
  expect(err!.errorCode).toBe(errorCode);
  return err!;
}

/** A raw call, for requests jsforce has no method for. */
async function api(method: string, path: string, body?: string, contentType = 'application/json') {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${conn.accessToken}`, 'Content-Type': contentType },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}

/** Opens an ingest job and uploads CSV text, leaving it Open. */
async function openWithData(options: Parameters<Connection['bulk2']['createJob']>[0], csv: string) {
  const job = conn.bulk2.createJob(options);
  await job.open();
  await job.uploadData(csv);
  return job;
}

async function finalInfo(job: IngestJobV2<Schema>) {
  await job.poll(50, 120_000).catch(() => undefined);
  return job.check();
}

describe('Bulk API 2.0 ingest', () => {
  it('inserts records and reports them as created', async () => {
    const input = Array.from({ length: 30 }, (_, i) => ({
      LastName: `Bulk${i}`,
      Company: `Acme ${i}`,
      Data_Region__c: 'EU',
      NumberOfEmployees: String(10 + i),
    }));
    const res = await conn.bulk2.loadAndWaitForResults({ object: 'Lead', operation: 'insert', input });
    expect(res.failedResults).toEqual([]);
    expect(res.successfulResults).toHaveLength(30);
    for (const row of rowsOf(res.successfulResults)) {
      expect(row.sf__Created).toBe('true');
      expect(row.sf__Id).toMatch(/^00Q[a-zA-Z0-9]{15}$/);
      const stored = lead(row.sf__Id!);
      expect(stored.LastName).toBe(row.LastName);
      expect(stored.NumberOfEmployees).toBe(Number(row.NumberOfEmployees));
      expect(stored.Data_Region__c).toBe('EU');
    }
  });

  it('updates records; an empty cell leaves the field alone and #N/A clears it', async () => {
    const [a, b] = seedLeads(2, { Lead_Score__c: 10, Title: 'VP' });
    const csv = `Id,Lead_Score__c,Score_Band__c,Title\n${a},91,A,\n${b},#N/A,D,#N/A\n`;
    const job = await openWithData({ object: 'Lead', operation: 'update' }, csv);
    await job.close();
    await job.poll();
    const info = await job.check();
    expect(info).toMatchObject({ state: 'JobComplete', numberRecordsProcessed: 2, numberRecordsFailed: 0 });
    const results = await job.getSuccessfulResults();
    expect(results.map((r) => [r.sf__Id, r.sf__Created])).toEqual([
      [a, 'false'],
      [b, 'false'],
    ]);
    expect(lead(a!)).toMatchObject({ Lead_Score__c: 91, Score_Band__c: 'A', Title: 'VP' });
    expect(lead(b!)).toMatchObject({ Lead_Score__c: null, Score_Band__c: 'D', Title: null });
  });

  it('upserts on an external id: matched rows are updated, new keys created', async () => {
    const [existing] = seedLeads(1);
    const existingKey = lead(existing!).Source_Record_Id__c as string;
    const input = [
      { Source_Record_Id__c: existingKey, LastName: 'Renamed', Company: 'Same Co' },
      { Source_Record_Id__c: 'NEW-KEY-1', LastName: 'Fresh', Company: 'New Co', Data_Region__c: 'US' },
    ];
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'upsert',
      externalIdFieldName: 'Source_Record_Id__c',
      input,
    });
    expect(res.failedResults).toEqual([]);
    const byKey = new Map(rowsOf(res.successfulResults).map((r) => [r.Source_Record_Id__c!, r]));
    expect(byKey.get(existingKey)).toMatchObject({ sf__Id: existing, sf__Created: 'false' });
    const created = byKey.get('NEW-KEY-1')!;
    expect(created.sf__Created).toBe('true');
    expect(lead(existing!).LastName).toBe('Renamed');
    expect(lead(created.sf__Id!).LastName).toBe('Fresh');
  });

  it('deletes records', async () => {
    const ids = seedLeads(3);
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'delete',
      input: ids.map((Id) => ({ Id })),
    });
    expect(res.successfulResults.map((r) => r.sf__Id).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(sim.ctx.store.retrieve('Lead', id)).toBeUndefined();
  });

  it('delete leaves records in the Recycle Bin (queryAll sees them); hardDelete removes them for good', async () => {
    const soft = seedLeads(2);
    const hard = seedLeads(2);
    await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'delete',
      input: soft.map((Id) => ({ Id })),
    });
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'hardDelete',
      input: hard.map((Id) => ({ Id })),
    });
    expect(res.successfulResults.map((r) => r.sf__Id).sort()).toEqual([...hard].sort());
    const all = await conn.query<{ Id: string; IsDeleted: boolean }>(
      `SELECT Id, IsDeleted FROM Lead WHERE Id IN ('${[...soft, ...hard].join("','")}')`,
      { scanAll: true },
    );
    expect(all.records.map((r: { Id: string }) => r.Id).sort()).toEqual([...soft].sort());
    expect(all.records.every((r: { IsDeleted: boolean }) => r.IsDeleted)).toBe(true);
  });

  it('reports bad rows in failedResults while applying the good ones', async () => {
    const [good, badPicklist, badNumber] = seedLeads(3, { Lead_Score__c: 5 });
    const csv = [
      'Id,Lead_Score__c,Score_Band__c',
      `${good},77,B`,
      `${badPicklist},78,Z`,
      `${badNumber},lots,C`,
      '00Q000000000000AAA,80,A',
    ].join('\n');
    const job = await openWithData({ object: 'Lead', operation: 'update' }, csv);
    await job.close();
    await job.poll();
    expect(await job.check()).toMatchObject({ numberRecordsProcessed: 4, numberRecordsFailed: 3 });
    const failed = rowsOf(await job.getFailedResults());
    const errors = new Map(failed.map((r) => [r.Id!, r.sf__Error]));
    expect(errors.get(badPicklist!)).toMatch(/^INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:.*:Score_Band__c --$/);
    expect(errors.get(badNumber!)).toMatch(/^INVALID_TYPE_ON_FIELD_IN_RECORD:.*:Lead_Score__c --$/);
    expect(errors.get('00Q000000000000AAA')).toMatch(/^[A-Z_]+:/);
    expect(failed.find((r) => r.Id === badPicklist)).toMatchObject({
      sf__Id: badPicklist,
      Score_Band__c: 'Z',
    });
    expect(lead(good!)).toMatchObject({ Lead_Score__c: 77, Score_Band__c: 'B' });
    expect(lead(badPicklist!).Lead_Score__c).toBe(5);
    expect(lead(badNumber!).Lead_Score__c).toBe(5);
  });

  it('fails rows with UNABLE_TO_LOCK_ROW at the configured rate and leaves them unchanged', async () => {
    const ids = seedLeads(400, { Lead_Score__c: 1 });
    sim.ctx.faults.set({ lockErrorRate: 0.25 });
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'update',
      input: ids.map((Id) => ({ Id, Lead_Score__c: '99' })),
    });
    const locked = rowsOf(res.failedResults);
    expect(locked.length).toBeGreaterThan(40);
    expect(locked.length).toBeLessThan(160);
    expect(res.successfulResults.length + locked.length).toBe(400);
    for (const row of locked) {
      expect(row.sf__Error).toBe(
        `UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: ${row.Id}:--`,
      );
      expect(lead(row.Id!).Lead_Score__c).toBe(1);
    }
    for (const row of res.successfulResults) expect(lead(row.sf__Id).Lead_Score__c).toBe(99);
  });

  it('fails the whole job when the header names an unknown field', async () => {
    const [id] = seedLeads(1, { Lead_Score__c: 3 });
    const job = await openWithData(
      { object: 'Lead', operation: 'update' },
      `Id,Lead_Score__c,Foo__c\n${id},50,x\n`,
    );
    await job.close();
    const err = await job.poll().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain('InvalidBatch : Field name not found : Foo__c');
    const info = await job.check();
    expect(info).toMatchObject({
      state: 'Failed',
      errorMessage: 'InvalidBatch : Field name not found : Foo__c',
    });
    expect(lead(id!).Lead_Score__c).toBe(3);
    expect(await job.getUnprocessedRecords()).toEqual([{ Id: id, Lead_Score__c: '50', Foo__c: 'x' }]);
  });

  it('returns every uploaded row as unprocessed when an open job is aborted', async () => {
    const ids = seedLeads(5);
    const csv = `Id,Lead_Score__c\n${ids.map((id) => `${id},42`).join('\n')}\n`;
    const job = await openWithData({ object: 'Lead', operation: 'update' }, csv);
    await job.abort();
    expect((await job.check()).state).toBe('Aborted');
    const unprocessed = rowsOf(await job.getUnprocessedRecords());
    expect(unprocessed.map((r) => r.Id)).toEqual(ids);
    expect(await job.getSuccessfulResults()).toEqual([]);
    for (const id of ids) expect(lead(id).Lead_Score__c).toBeNull();
  });

  it('aborting while processing splits rows between results and unprocessed records', async () => {
    bulkRuntime(sim.ctx).configure({ ingestBatchSize: 5 });
    const ids = seedLeads(2_000);
    const csv = `Id,Lead_Score__c\n${ids.map((id) => `${id},7`).join('\n')}\n`;
    const job = await openWithData({ object: 'Lead', operation: 'update' }, csv);
    await job.close();
    await job.abort();
    const info = await job.check();
    expect(info.state).toBe('Aborted');
    const done = await job.getSuccessfulResults();
    const unprocessed = rowsOf(await job.getUnprocessedRecords());
    expect(done.length + unprocessed.length).toBe(ids.length);
    expect(done.length).toBe(info.numberRecordsProcessed);
    const untouched = new Set(unprocessed.map((r) => r.Id));
    for (const id of ids) expect(lead(id).Lead_Score__c).toBe(untouched.has(id) ? null : 7);
  });

  it('refuses illegal state transitions and uploads', async () => {
    const [id] = seedLeads(1);
    const job = await openWithData({ object: 'Lead', operation: 'update' }, `Id,Lead_Score__c\n${id},1\n`);
    // jsforce parses error bodies of CSV endpoints as CSV, so check the raw answer.
    expect(await api('GET', `/services/data/v62.0/jobs/ingest/${job.id}/successfulResults`)).toMatchObject({
      status: 400,
      body: [{ errorCode: 'INVALIDJOBSTATE' }],
    });
    await expectApiError(job.delete(), 'INVALIDJOBSTATE');
    await job.close();
    await expectApiError(job.close(), 'INVALIDJOBSTATE');
    await job.poll();
    await expectApiError(job.abort(), 'INVALIDJOBSTATE');
    const base = `/services/data/v62.0/jobs/ingest/${job.id}`;
    expect(await api('PUT', `${base}/batches`, 'Id\n', 'text/csv')).toMatchObject({
      status: 400,
      body: [{ errorCode: 'INVALIDJOBSTATE' }],
    });
    expect(await api('PATCH', base, JSON.stringify({ state: 'JobComplete' }))).toMatchObject({
      status: 400,
      body: [{ errorCode: 'INVALIDJOBSTATE' }],
    });
    await job.delete();
    await expectApiError(job.check(), 'NOT_FOUND');
  });

  it('accepts a second upload but refuses to close that job, as Salesforce does', async () => {
    const [id] = seedLeads(1);
    const job = await openWithData({ object: 'Lead', operation: 'update' }, `Id,Lead_Score__c\n${id},1\n`);
    const second = await api(
      'PUT',
      `/services/data/v62.0/jobs/ingest/${job.id}/batches`,
      `Id\n${id}\n`,
      'text/csv',
    );
    expect(second.status).toBe(201);
    const err = await expectApiError(job.close(), 'INVALIDJOB');
    expect(err.message).toContain('Found multipe contents for job');
    expect((await job.check()).state).toBe('Open');
  });

  it('validates job creation', async () => {
    await expectApiError(
      conn.bulk2.createJob({ object: 'NoSuchObject__c', operation: 'insert' }).open(),
      'INVALIDENTITY',
    );
    await expectApiError(conn.bulk2.createJob({ object: 'Lead', operation: 'upsert' }).open(), 'INVALIDJOB');
    await expectApiError(
      conn.bulk2.createJob({ object: 'Lead', operation: 'upsert', externalIdFieldName: 'Company' }).open(),
      'INVALIDJOB',
    );
    const info = await conn.bulk2
      .createJob({ object: 'lead', operation: 'upsert', externalIdFieldName: 'source_record_id__c' })
      .open();
    expect(info).toMatchObject({
      object: 'Lead',
      externalIdFieldName: 'Source_Record_Id__c',
      state: 'Open',
      jobType: 'V2Ingest',
      apiVersion: 62,
      contentUrl: `services/data/v62.0/jobs/ingest/${info.id}/batches`,
    });
    expect(info.id).toMatch(/^750[a-zA-Z0-9]{15}$/);
  });

  it('reads and writes the PIPE / CRLF dialect', async () => {
    const [a, b] = seedLeads(2);
    const csv = `Id|Title\r\n${a}|"Head of Data | AI"\r\n${b}|CTO\r\n`;
    const job = await openWithData(
      { object: 'Lead', operation: 'update', columnDelimiter: 'PIPE', lineEnding: 'CRLF' },
      csv,
    );
    await job.close();
    await job.poll();
    expect(lead(a!).Title).toBe('Head of Data | AI');
    expect(lead(b!).Title).toBe('CTO');
    const raw = (await job.getSuccessfulResults(true)) as unknown as string;
    expect(raw.split('\r\n')[0]).toBe('"sf__Id"|"sf__Created"|"Id"|"Title"');
  });

  it('fails a job that would exceed the rolling 24 h record allocation', async () => {
    bulkRuntime(sim.ctx).configure({ limits: { dailyRecords: 50 } });
    const ids = seedLeads(60, { Lead_Score__c: 2 });
    const job = await openWithData(
      { object: 'Lead', operation: 'update' },
      `Id,Lead_Score__c\n${ids.map((id) => `${id},9`).join('\n')}\n`,
    );
    await job.close();
    const info = await finalInfo(job);
    expect(info.state).toBe('Failed');
    expect(info.errorMessage).toMatch(/^ExceededQuota : .*50 records/);
    for (const id of ids) expect(lead(id).Lead_Score__c).toBe(2);
    expect(rowsOf(await job.getUnprocessedRecords()).length).toBe(60);
  });

  it('counts 10,000-row internal batches against DailyBulkApiBatches and refuses jobs once it is used up', async () => {
    const runtime = bulkRuntime(sim.ctx);
    runtime.configure({ limits: { dailyBatches: 3 }, ingestBatchSize: 10 });
    const ids = seedLeads(25);
    await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'update',
      input: ids.map((Id) => ({ Id, Title: 'x' })),
    });
    expect(runtime.usage.snapshot().DailyBulkApiBatches).toEqual({ Max: 3, Remaining: 0 });
    await expectApiError(
      conn.bulk2.createJob({ object: 'Lead', operation: 'insert' }).open(),
      'EXCEEDEDQUOTA',
    );
  });

  it('rejects an upload over the size cap with 413', async () => {
    bulkRuntime(sim.ctx).configure({ maxUploadBytes: 1_000 });
    const job = conn.bulk2.createJob({ object: 'Lead', operation: 'insert' });
    await job.open();
    const csv = `LastName,Company\n${'Someone,Somewhere\n'.repeat(100)}`;
    await expectApiError(job.uploadData(Readable.from([csv])), 'CLIENTINPUTERROR');
    expect((await job.check()).state).toBe('Open');
  });

  it('lists jobs and deletes finished ones with their files', async () => {
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'insert',
      input: [{ LastName: 'Listed', Company: 'L', Data_Region__c: 'US' }],
    });
    expect(res.successfulResults).toHaveLength(1);
    const list = (await api('GET', '/services/data/v62.0/jobs/ingest')).body as {
      done: boolean;
      records: { id: string; state: string }[];
      nextRecordsUrl: string | null;
    };
    expect(list.done).toBe(true);
    expect(list.nextRecordsUrl).toBeNull();
    const last = list.records.at(-1)!;
    expect(last.state).toBe('JobComplete');
    const job = conn.bulk2.job('ingest', { id: last.id });
    await job.delete();
    await expectApiError(job.check(), 'NOT_FOUND');
    const after = (await api('GET', '/services/data/v62.0/jobs/ingest')).body as {
      records: { id: string }[];
    };
    expect(after.records.map((r) => r.id)).not.toContain(last.id);
  });
});

describe('Bulk API 2.0 ingest: relationship columns (RelationshipName.IndexedFieldName)', () => {
  const opportunity = (id: string) => sim.ctx.store.retrieve('Opportunity', id)!;
  const accounts = (suffix: string) => {
    const ids = sim.ctx.store
      .insert('Account', [
        { Name: 'Acme', Data_Region__c: 'US', ERP_Account_Number__c: `ERP-REL-1${suffix}` },
        { Name: 'Globex', Data_Region__c: 'US', ERP_Account_Number__c: `ERP-REL-2${suffix}` },
      ])
      .map((r) => {
        expect(r.success).toBe(true);
        return r.id!;
      });
    return { acme: ids[0]!, globex: ids[1]! };
  };

  it('sets the lookup to the parent found by its external id; an unknown key fails only its row', async () => {
    const { acme, globex } = accounts('');
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Opportunity',
      operation: 'insert',
      input: [
        {
          Name: 'Deal A',
          StageName: 'Prospecting',
          CloseDate: '2026-03-01',
          'Account.ERP_Account_Number__c': 'ERP-REL-1',
        },
        {
          Name: 'Deal B',
          StageName: 'Prospecting',
          CloseDate: '2026-03-01',
          'Account.ERP_Account_Number__c': 'ERP-REL-2',
        },
        {
          Name: 'Deal C',
          StageName: 'Prospecting',
          CloseDate: '2026-03-01',
          'Account.ERP_Account_Number__c': 'ERP-NOPE',
        },
        {
          Name: 'Deal D',
          StageName: 'Prospecting',
          CloseDate: '2026-03-01',
          'Account.ERP_Account_Number__c': '',
        },
      ],
    });
    const ok = new Map(rowsOf(res.successfulResults).map((r) => [r.Name!, r.sf__Id!]));
    expect(opportunity(ok.get('Deal A')!).AccountId).toBe(acme);
    expect(opportunity(ok.get('Deal B')!).AccountId).toBe(globex);
    expect(opportunity(ok.get('Deal D')!).AccountId).toBeNull();
    expect(rowsOf(res.failedResults)).toEqual([
      {
        sf__Id: '',
        sf__Error:
          'INVALID_FIELD:Foreign key external ID: ERP-NOPE not found for field ERP_Account_Number__c in entity Account:--',
        Name: 'Deal C',
        StageName: 'Prospecting',
        CloseDate: '2026-03-01',
        'Account.ERP_Account_Number__c': 'ERP-NOPE',
      },
    ]);
  });

  it('updates with a relationship column: relinks to another parent, #N/A clears the lookup', async () => {
    const { acme, globex } = accounts('u');
    const [saved] = sim.ctx.store.insert('Opportunity', [
      { Name: 'Deal U', StageName: 'Prospecting', CloseDate: '2026-03-01', AccountId: acme },
    ]);
    const id = saved!.id!;
    const relink = await conn.bulk2.loadAndWaitForResults({
      object: 'Opportunity',
      operation: 'update',
      input: [{ Id: id, 'Account.ERP_Account_Number__c': 'ERP-REL-2u' }],
    });
    expect(relink.failedResults).toEqual([]);
    expect(opportunity(id).AccountId).toBe(globex);
    const clear = await conn.bulk2.loadAndWaitForResults({
      object: 'Opportunity',
      operation: 'update',
      input: [{ Id: id, 'Account.ERP_Account_Number__c': '#N/A' }],
    });
    expect(clear.failedResults).toEqual([]);
    expect(opportunity(id).AccountId).toBeNull();
  });

  it('a polymorphic lookup names the parent type: ObjectType:RelationshipName.IndexedFieldName', async () => {
    const owner = sim.ctx.store.retrieve('User', INTEGRATION_USER_ID, ['Id', 'Username'])!;
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'insert',
      input: [
        {
          LastName: 'Owned',
          Company: 'O',
          Data_Region__c: 'US',
          'User:Owner.Username': owner.Username as string,
        },
      ],
    });
    expect(res.failedResults).toEqual([]);
    expect(lead(rowsOf(res.successfulResults)[0]!.sf__Id!).OwnerId).toBe(owner.Id);
  });

  it.each([
    ['a relationship the object does not have', 'Parent.ERP_Account_Number__c'],
    ['a type on a lookup that is not polymorphic', 'Account:Account.ERP_Account_Number__c'],
    ['a parent field that is not an external id', 'Account.BillingCity'],
    ['a parent field that does not exist', 'Account.Nope__c'],
  ])('fails the whole job for %s', async (_what, header) => {
    const job = await openWithData(
      { object: 'Opportunity', operation: 'insert' },
      `Name,StageName,CloseDate,${header}\nX,Prospecting,2026-03-01,v\n`,
    );
    await job.close();
    const info = await finalInfo(job);
    expect(info).toMatchObject({
      state: 'Failed',
      errorMessage: `InvalidBatch : Field name not found : ${header}`,
    });
  });
});
