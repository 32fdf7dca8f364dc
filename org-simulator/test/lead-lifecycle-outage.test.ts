// convertLead()/merge() as the org does them (read back through queryAll as Salesforce documents), and the
// scripted outage switch (REQUEST_LIMIT_EXCEEDED / SERVER_UNAVAILABLE for N requests or a span of time).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFetch, lead, startHarness, type Harness } from './sim-harness.js';

let h: Harness;
let now = Date.parse('2026-11-25T10:00:00Z');

beforeAll(async () => {
  h = await startHarness({ clock: () => new Date(now) });
});
afterAll(async () => {
  await h.sim.close();
});

const admin = (path: string, method: string, body?: unknown) =>
  fetch(`${h.sim.url}/__admin${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function createLeads(n: number): Promise<string[]> {
  const res = (await h.conn
    .sobject('Lead')
    .create(Array.from({ length: n }, (_, i) => lead(i, { Data_Region__c: 'US' })))) as { id: string }[];
  return res.map((r) => r.id);
}

async function queryAll(soql: string): Promise<Record<string, unknown>[]> {
  const res = await apiFetch(h, `/services/data/v62.0/queryAll?q=${encodeURIComponent(soql)}`);
  return ((await res.json()) as { records: Record<string, unknown>[] }).records;
}

describe('lead conversion and merge', () => {
  it('converts a lead: IsConverted, ConvertedDate, account and opportunity, converted status', async () => {
    const [id] = await createLeads(1);
    now += 1000;
    const res = await admin('/leads/convert', 'POST', { leadId: id });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { accountId: string; opportunityId: string };
    const [row] = await queryAll(
      `SELECT IsConverted, ConvertedDate, ConvertedAccountId, ConvertedOpportunityId, Status, SystemModstamp FROM Lead WHERE Id = '${id}'`,
    );
    expect(row).toMatchObject({
      IsConverted: true,
      ConvertedDate: '2026-11-25',
      ConvertedAccountId: result.accountId,
      ConvertedOpportunityId: result.opportunityId,
      Status: 'Closed - Converted',
    });
    const again = await admin('/leads/convert', 'POST', { leadId: id });
    expect(String(row!.SystemModstamp) >= '2026-11-25T10:00:01').toBe(true);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual([
      expect.objectContaining({ errorCode: 'CANNOT_UPDATE_CONVERTED_LEAD' }),
    ]);
  });

  it('merges leads: losers deleted with MasterRecordId (queryAll only), the master updated', async () => {
    const [master, a, b] = await createLeads(3);
    now += 1000;
    const res = await admin('/leads/merge', 'POST', { masterRecordId: master, recordToMergeIds: [a, b] });
    expect(res.status).toBe(200);
    const rows = await queryAll(
      `SELECT Id, IsDeleted, MasterRecordId, SystemModstamp FROM Lead WHERE Id IN ('${master}', '${a}', '${b}') ORDER BY Id`,
    );
    const byId = new Map(rows.map((r) => [r.Id, r]));
    expect(byId.get(a)).toMatchObject({ IsDeleted: true, MasterRecordId: master });
    expect(byId.get(b)).toMatchObject({ IsDeleted: true, MasterRecordId: master });
    expect(byId.get(master)).toMatchObject({ IsDeleted: false, MasterRecordId: null });
    // The master is updated after the losers are deleted (each write call moves SystemModstamp on).
    expect(String(byId.get(master)!.SystemModstamp) > String(byId.get(a)!.SystemModstamp)).toBe(true);
    expect(String(byId.get(master)!.SystemModstamp) >= '2026-11-25T10:00:02').toBe(true);
    const visible = await h.conn.query(`SELECT Id FROM Lead WHERE Id IN ('${a}', '${b}')`);
    expect(visible.totalSize).toBe(0);
    const bad = await admin('/leads/merge', 'POST', { masterRecordId: master, recordToMergeIds: [] });
    expect(bad.status).toBe(400);
  });
});

describe('outage switch', () => {
  it('answers N requests with the error, uncounted, then recovers', async () => {
    const before = (await (await admin('/usage', 'GET')).json()) as { used: number };
    expect((await admin('/outage', 'PUT', { errorCode: 'REQUEST_LIMIT_EXCEEDED', requests: 2 })).status).toBe(
      200,
    );
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await apiFetch(h, '/services/data/v62.0/limits'));
    expect(answers.map((r) => r.status)).toEqual([403, 403, 200]);
    expect(await answers[0]!.json()).toEqual([
      expect.objectContaining({ errorCode: 'REQUEST_LIMIT_EXCEEDED' }),
    ]);
    const after = (await (await admin('/usage', 'GET')).json()) as { used: number };
    expect(after.used).toBe(before.used + 1);
  });

  it('answers 503 for a span of the org clock’s time, and can be ended early', async () => {
    await admin('/outage', 'PUT', { errorCode: 'SERVER_UNAVAILABLE', durationMs: 300_000 });
    expect((await apiFetch(h, '/services/data/v62.0/limits')).status).toBe(503);
    now += 299_000;
    expect((await apiFetch(h, '/services/data/v62.0/limits')).status).toBe(503);
    now += 1_000;
    expect((await apiFetch(h, '/services/data/v62.0/limits')).status).toBe(200);
    await admin('/outage', 'PUT', { errorCode: 'SERVER_UNAVAILABLE', durationMs: 60_000 });
    expect((await apiFetch(h, '/services/data/v62.0/limits')).status).toBe(503);
    await admin('/outage', 'DELETE');
    expect((await apiFetch(h, '/services/data/v62.0/limits')).status).toBe(200);
    const bad = await admin('/outage', 'PUT', {
      errorCode: 'SERVER_UNAVAILABLE',
      requests: 1,
      durationMs: 5,
    });
    expect(bad.status).toBe(400);
  });
});
