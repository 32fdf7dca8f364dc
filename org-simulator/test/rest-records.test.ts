import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFetch, errorOf, lead, startHarness, type Harness } from './sim-harness.js';

describe('sObject REST and composite collections (jsforce)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.sim.close());

  it('creates, retrieves, updates and deletes a record', async () => {
    const created = await h.conn.sobject('Lead').create(lead(1, { FirstName: 'Ada', Score_Band__c: 'B' }));
    expect(created.success).toBe(true);
    const id = created.id ?? '';
    expect(id).toMatch(/^00Q[0-9A-Za-z]{15}$/);

    const record = await h.conn.sobject('Lead').retrieve(id);
    expect(record).toMatchObject({
      Name: 'Ada Last1',
      Status: 'Open - Not Contacted',
      IsConverted: false,
      Score_Band__c: 'B',
    });
    expect(record.attributes).toMatchObject({
      type: 'Lead',
      url: `/services/data/v62.0/sobjects/Lead/${id}`,
    });

    await h.conn.sobject('Lead').update({ Id: id, FirstName: 'Grace', Lead_Score__c: 87.4 });
    const updated = await h.conn.sobject('Lead').retrieve(id);
    expect(updated).toMatchObject({ Name: 'Grace Last1', Lead_Score__c: 87 });

    await h.conn.sobject('Lead').destroy(id);
    const gone = await errorOf(h.conn.sobject('Lead').retrieve(id));
    expect(gone.errorCode).toBe('NOT_FOUND');
    const deleted = await h.conn.query<{ Id: string; IsDeleted: boolean }>(
      `SELECT Id, IsDeleted FROM Lead WHERE Id = '${id}'`,
      { scanAll: true },
    );
    expect(deleted.records[0]?.IsDeleted).toBe(true);
    const again = await errorOf(h.conn.sobject('Lead').update({ Id: id, Title: 'x' }));
    expect(again.errorCode).toBe('ENTITY_IS_DELETED');
  });

  it('moves SystemModstamp on every update and keeps CreatedDate', async () => {
    const { id = '' } = await h.conn.sobject('Lead').create(lead(2));
    const before = await h.conn.sobject('Lead').retrieve(id);
    await h.conn.sobject('Lead').update({ Id: id, Title: 'CFO' });
    const after = await h.conn.sobject('Lead').retrieve(id);
    expect(String(after.SystemModstamp) > String(before.SystemModstamp)).toBe(true);
    expect(after.CreatedDate).toBe(before.CreatedDate);
    expect(String(after.SystemModstamp)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
  });

  it('reports validation errors with Salesforce error codes', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ LastName: 'x' }, 'REQUIRED_FIELD_MISSING'],
      [lead(3, { Foo__c: 1 }), 'INVALID_FIELD'],
      [lead(3, { Name: 'x' }), 'INVALID_FIELD_FOR_INSERT_UPDATE'],
      [lead(3, { Score_Band__c: 'Z' }), 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST'],
      [lead(3, { Title: 'x'.repeat(129) }), 'STRING_TOO_LONG'],
      [lead(3, { NumberOfEmployees: 'many' }), 'INVALID_TYPE_ON_FIELD_IN_RECORD'],
      [lead(3, { Matched_Account__c: 'not-an-id' }), 'MALFORMED_ID'],
    ];
    for (const [record, code] of cases) {
      const error = await errorOf(h.conn.sobject('Lead').create(record));
      expect(error.errorCode, JSON.stringify(record).slice(0, 60)).toBe(code);
    }
  });

  it('upserts on an external id: 201 created, then 200 updated; duplicates rejected', async () => {
    const first = await h.conn
      .sobject('Lead')
      .upsert(lead(4, { Source_Record_Id__c: 'SRC-4' }), 'Source_Record_Id__c');
    expect(first).toMatchObject({ success: true, created: true });
    const second = await h.conn
      .sobject('Lead')
      .upsert({ Source_Record_Id__c: 'SRC-4', Title: 'COO' }, 'Source_Record_Id__c');
    expect(second).toMatchObject({ success: true, created: false, id: first.id });
    const dup = await errorOf(h.conn.sobject('Lead').create(lead(5, { Source_Record_Id__c: 'SRC-4' })));
    expect(dup.errorCode).toBe('DUPLICATE_VALUE');
    const many = h.sim.ctx.store.upsert('Lead', 'Source_Record_Id__c', [
      lead(6, { Source_Record_Id__c: 'SRC-6' }),
      lead(7, { Source_Record_Id__c: 'SRC-6' }),
    ]);
    expect(many.map((r) => r.errors[0]?.statusCode)).toEqual([
      'DUPLICATE_EXTERNAL_ID',
      'DUPLICATE_EXTERNAL_ID',
    ]);
  });

  it('composite create with allOrNone=false keeps the valid rows', async () => {
    const results = await h.conn
      .sobject('Lead')
      .create([lead(10), { LastName: 'no company' }, lead(11)], { allOrNone: false });
    expect(results.map((r) => r.success)).toEqual([true, false, true]);
    const failed = results[1];
    expect(failed && !failed.success && failed.errors[0]).toMatchObject({
      statusCode: 'REQUIRED_FIELD_MISSING',
    });
  });

  it('composite create with allOrNone=true rolls everything back', async () => {
    const countBefore = h.sim.ctx.store.countRecords('Lead');
    const results = await h.conn
      .sobject('Lead')
      .create([lead(20), { LastName: 'no company' }, lead(21)], { allOrNone: true });
    expect(results.map((r) => r.success)).toEqual([false, false, false]);
    const codes = results.map((r) =>
      r.success ? null : (r.errors[0] as unknown as { statusCode: string }).statusCode,
    );
    expect(codes).toEqual([
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'REQUIRED_FIELD_MISSING',
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    ]);
    expect(h.sim.ctx.store.countRecords('Lead')).toBe(countBefore);
  });

  it('composite update and delete by Ids', async () => {
    const created = await h.conn.sobject('Lead').create([lead(30), lead(31)]);
    const ids = created.map((r) => r.id ?? '');
    const updated = await h.conn.sobject('Lead').update(
      ids.map((Id) => ({ Id, Rating: 'Hot' })),
      { allOrNone: true },
    );
    expect(updated.every((r) => r.success)).toBe(true);
    const hot = await h.conn.query(
      `SELECT Id FROM Lead WHERE Rating = 'Hot' AND Id IN ('${ids.join("','")}')`,
    );
    expect(hot.totalSize).toBe(2);
    const deleted = await h.conn.sobject('Lead').destroy(ids);
    expect(deleted.every((r) => r.success)).toBe(true);
    expect(
      (await h.conn.query(`SELECT COUNT() FROM Lead WHERE Id IN ('${ids.join("','")}')`)).totalSize,
    ).toBe(0);
  });

  it('rejects more than 200 records in one collection call', async () => {
    const records = Array.from({ length: 201 }, (_, i) => ({ attributes: { type: 'Lead' }, ...lead(i) }));
    const res = await apiFetch(h, '/services/data/v62.0/composite/sobjects', {
      method: 'POST',
      body: JSON.stringify({ allOrNone: false, records }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errorCode: string }[];
    expect(body[0]?.errorCode).toBe('EXCEEDED_ID_LIMIT');
  });

  it('answers malformed JSON with JSON_PARSER_ERROR and unknown objects with NOT_FOUND', async () => {
    const res = await apiFetch(h, '/services/data/v62.0/sobjects/Lead', {
      method: 'POST',
      body: '{"LastName": ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errorCode: string }[])[0]?.errorCode).toBe('JSON_PARSER_ERROR');
    const missing = await errorOf(h.conn.sobject('Nope__c').describe());
    expect(missing.errorCode).toBe('NOT_FOUND');
  });
});

describe('region guard', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ region: 'EU' });
  });
  afterAll(() => h.sim.close());

  it('an EU org rejects US rows with FIELD_INTEGRITY_EXCEPTION and accepts EU rows', async () => {
    const us = await errorOf(h.conn.sobject('Lead').create(lead(1, { Data_Region__c: 'US' })));
    expect(us.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
    const eu = await h.conn.sobject('Lead').create(lead(2, { Data_Region__c: 'EU' }));
    expect(eu.success).toBe(true);
    const move = await errorOf(h.conn.sobject('Lead').update({ Id: eu.id ?? '', Data_Region__c: 'US' }));
    expect(move.errorCode).toBe('FIELD_INTEGRITY_EXCEPTION');
  });
});

describe('unknown paths', () => {
  it('answer 404 with Salesforce’s JSON error inside and outside the API', async () => {
    const h = await startHarness();
    try {
      for (const path of ['/', '/nope', `/services/data/v62.0/nope`]) {
        const res = await apiFetch(h, path);
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual([
          { message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' },
        ]);
      }
    } finally {
      await h.sim.close();
    }
  });
});
