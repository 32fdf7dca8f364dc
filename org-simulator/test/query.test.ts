import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFetch, errorOf, lead, startHarness, type Harness } from './sim-harness.js';

// A Wednesday; date literals resolve against this instant (UTC).
const NOW = new Date('2024-05-15T12:00:00.000Z');
const PAGED_ROWS = 5001;

describe('SOQL over REST (jsforce)', () => {
  let h: Harness;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await startHarness({ clock: () => NOW });
    const store = h.sim.ctx.store;
    const ops = [
      {
        key: 'r1',
        Company: 'Acme',
        Lead_Score__c: 10,
        Rating: 'Hot',
        DoNotCall: true,
        Title: 'CEO',
        Scored_At__c: '2024-05-15T08:00:00Z',
      },
      {
        key: 'r2',
        Company: 'Beta',
        Lead_Score__c: 50,
        Rating: 'Warm',
        DoNotCall: false,
        Title: null,
        Scored_At__c: '2024-05-14T23:59:59Z',
      },
      {
        key: 'r3',
        Company: 'acme labs',
        Lead_Score__c: 90,
        Rating: null,
        DoNotCall: false,
        Title: 'cto',
        Scored_At__c: '2024-05-13T10:00:00+02:00',
      },
      {
        key: 'r4',
        Company: "O'Brien_Co",
        Lead_Score__c: null,
        Rating: 'Cold',
        DoNotCall: false,
        Title: 'VP',
        Scored_At__c: '2024-04-20T00:00:00Z',
      },
      {
        key: 'r5',
        Company: 'Zeta',
        Lead_Score__c: 70,
        Rating: 'Warm',
        DoNotCall: false,
        Title: 'VP',
        Scored_At__c: '2024-05-17T00:00:00Z',
      },
    ];
    const results = store.insert(
      'Lead',
      ops.map(({ key, ...r }) => ({ ...r, LastName: key, Lead_Origin__c: 'ops' })),
    );
    results.forEach((r, i) => {
      expect(r.success).toBe(true);
      ids[ops[i]?.key ?? ''] = r.id ?? '';
    });
    const paged = store.insert(
      'Lead',
      Array.from({ length: PAGED_ROWS }, (_, i) =>
        lead(i, { Lead_Origin__c: 'paged', Web_Visits__c: i % 97 }),
      ),
    );
    expect(paged.every((r) => r.success)).toBe(true);
  });
  afterAll(() => h.sim.close());

  const keysOf = async (where: string, order = 'LastName') => {
    const result = await h.conn.query<{ LastName: string }>(
      `SELECT LastName FROM Lead WHERE Lead_Origin__c = 'ops' AND (${where}) ORDER BY ${order}`,
    );
    return result.records.map((r) => r.LastName);
  };

  it.each([
    ["Company = 'ACME'", ['r1']],
    ["Rating != 'Hot'", ['r2', 'r3', 'r4', 'r5']],
    ["Rating <> 'Hot'", ['r2', 'r3', 'r4', 'r5']],
    ['Lead_Score__c < 50', ['r1']],
    ['Lead_Score__c <= 50', ['r1', 'r2']],
    ['Lead_Score__c > 50', ['r3', 'r5']],
    ['Lead_Score__c >= 50', ['r2', 'r3', 'r5']],
    ["Rating IN ('Hot', 'Warm')", ['r1', 'r2', 'r5']],
    ["Rating NOT IN ('Hot', 'Warm')", ['r3', 'r4']],
    ["Company LIKE 'acme%'", ['r1', 'r3']],
    ["Company LIKE '_eta'", ['r2', 'r5']],
    ["Company LIKE 'O\\'Brien\\_%'", ['r4']],
    ["Company = 'O\\'Brien_Co'", ['r4']],
    ["(Rating = 'Hot' OR Lead_Score__c > 80) AND NOT Company = 'Acme'", ['r3']],
    ["NOT (Rating = 'Warm' OR Rating = null)", ['r1', 'r4']],
    ['Title = null', ['r2']],
    ['Title != null', ['r1', 'r3', 'r4', 'r5']],
    ['DoNotCall = true', ['r1']],
    ['Lead_Score__c = null', ['r4']],
  ])('WHERE %s', async (where, expected) => {
    expect(await keysOf(where)).toEqual(expected);
  });

  it.each([
    ['Scored_At__c = TODAY', ['r1']],
    ['Scored_At__c = YESTERDAY', ['r2']],
    ['Scored_At__c = N_DAYS_AGO:2', ['r3']],
    ['Scored_At__c = LAST_N_DAYS:2', ['r1', 'r2', 'r3']],
    ['Scored_At__c = NEXT_N_DAYS:2', ['r5']],
    ['Scored_At__c = THIS_WEEK', ['r1', 'r2', 'r3', 'r5']],
    ['Scored_At__c = LAST_MONTH', ['r4']],
    ['Scored_At__c < THIS_MONTH', ['r4']],
    ['Scored_At__c > TODAY', ['r5']],
    ['Scored_At__c >= 2024-05-14T23:59:59Z AND Scored_At__c < 2024-05-15T10:00:00+02:00', ['r2']],
    ['Scored_At__c = 2024-05-13T08:00:00.000Z', ['r3']],
  ])('date filter %s', async (where, expected) => {
    expect(await keysOf(where)).toEqual(expected);
  });

  it('filters date fields with date literals and dates', async () => {
    const opp = await h.conn
      .sobject('Opportunity')
      .create({ Name: 'Deal', StageName: 'Prospecting', CloseDate: '2024-05-15' });
    expect(opp.success).toBe(true);
    const today = await h.conn.query(
      `SELECT Id, IsClosed, Probability FROM Opportunity WHERE CloseDate = TODAY`,
    );
    expect(today.records).toHaveLength(1);
    expect(today.records[0]).toMatchObject({ IsClosed: false, Probability: 10 });
    expect((await h.conn.query(`SELECT Id FROM Opportunity WHERE CloseDate > 2024-05-15`)).totalSize).toBe(0);
    expect((await h.conn.query(`SELECT Id FROM Opportunity WHERE CloseDate = THIS_QUARTER`)).totalSize).toBe(
      1,
    );
  });

  it('orders by several fields with NULLS FIRST/LAST, and applies LIMIT and OFFSET', async () => {
    expect(await keysOf('Id != null', 'Rating ASC NULLS LAST, LastName DESC')).toEqual([
      'r4',
      'r1',
      'r5',
      'r2',
      'r3',
    ]);
    expect(await keysOf('Id != null', 'Lead_Score__c DESC NULLS FIRST')).toEqual([
      'r4',
      'r3',
      'r5',
      'r2',
      'r1',
    ]);
    expect(await keysOf('Id != null', 'Lead_Score__c ASC')).toEqual(['r4', 'r1', 'r2', 'r5', 'r3']);
    const limited = await h.conn.query<{ LastName: string }>(
      `SELECT LastName FROM Lead WHERE Lead_Origin__c = 'ops' ORDER BY LastName LIMIT 2 OFFSET 1`,
    );
    expect(limited.records.map((r) => r.LastName)).toEqual(['r2', 'r3']);
    expect(limited.totalSize).toBe(2);
  });

  it('answers COUNT() with totalSize only and COUNT(Id) as an AggregateResult', async () => {
    const count = await h.conn.query(`SELECT COUNT() FROM Lead WHERE Lead_Origin__c = 'ops'`);
    expect(count.totalSize).toBe(5);
    expect(count.records).toEqual([]);
    const countId = await h.conn.query<{ expr0: number }>(
      `SELECT COUNT(Id) FROM Lead WHERE Lead_Origin__c = 'ops'`,
    );
    expect(countId.records[0]?.expr0).toBe(5);
  });

  it('selects parent fields through a relationship', async () => {
    const result = await h.conn.query<{ Owner: { Name: string } }>(
      `SELECT Id, Owner.Name FROM Lead WHERE Id = '${ids.r1}'`,
    );
    expect(result.records[0]?.Owner.Name).toBe('Leadrank Integration');
  });

  it('pages 5,001 rows by 2,000 with queryMore', async () => {
    const soql = `SELECT Id, Web_Visits__c FROM Lead WHERE Lead_Origin__c = 'paged'`;
    const first = await h.conn.query<{ Id: string }>(soql, { autoFetch: false });
    expect(first.totalSize).toBe(PAGED_ROWS);
    expect(first.records).toHaveLength(2000);
    expect(first.done).toBe(false);
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g[0-9A-Za-z]{15}-2000$/);
    const second = await h.conn.queryMore<{ Id: string }>(first.nextRecordsUrl ?? '');
    const third = await h.conn.queryMore<{ Id: string }>(second.nextRecordsUrl ?? '');
    expect([second.records.length, third.records.length, third.done]).toEqual([2000, 1001, true]);
    const all = [...first.records, ...second.records, ...third.records].map((r) => r.Id);
    expect(new Set(all).size).toBe(PAGED_ROWS);
  });

  it('autoFetches an ordered query across pages without gaps or repeats', async () => {
    const { records } = await h.conn
      .query<{ Id: string; Web_Visits__c: number }>(
        `SELECT Id, Web_Visits__c FROM Lead WHERE Lead_Origin__c = 'paged' ORDER BY Web_Visits__c DESC, LastName`,
      )
      .run({ autoFetch: true, maxFetch: 10_000 });
    expect(records).toHaveLength(PAGED_ROWS);
    expect(new Set(records.map((r) => r.Id)).size).toBe(PAGED_ROWS);
    const visits = records.map((r) => r.Web_Visits__c);
    expect(visits).toEqual([...visits].sort((a, b) => b - a));
  });

  it('honors Sforce-Query-Options batchSize', async () => {
    const q = encodeURIComponent(`SELECT Id FROM Lead WHERE Lead_Origin__c = 'paged'`);
    const res = await apiFetch(h, `/services/data/v62.0/query?q=${q}`, {
      headers: { 'Sforce-Query-Options': 'batchSize=500' },
    });
    const body = (await res.json()) as { records: unknown[]; nextRecordsUrl: string };
    expect(body.records).toHaveLength(500);
    expect(body.nextRecordsUrl).toMatch(/-500$/);
    const bad = await apiFetch(h, '/services/data/v62.0/query/01gZZZZZZZZZZZZZZZ-500');
    expect(((await bad.json()) as { errorCode: string }[])[0]?.errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it.each([
    ['SELECT Id FROM Lead WHERE', 'MALFORMED_QUERY'],
    ['SELECT Id FORM Lead', 'MALFORMED_QUERY'],
    ['SELECT Id, Foo__c FROM Lead', 'INVALID_FIELD'],
    ['SELECT Id FROM Nope__c', 'INVALID_TYPE'],
    ["SELECT Id FROM Lead WHERE Scored_At__c > '2024-01-01'", 'INVALID_FIELD'],
    ['SELECT Id FROM Lead WHERE Scored_At__c > 2024-01-01', 'INVALID_FIELD'],
    ["SELECT Id FROM Lead WHERE Lead_Score__c = 'high'", 'INVALID_FIELD'],
    ['SELECT Id FROM Lead ORDER BY Score_Reasons__c', 'INVALID_FIELD'],
  ])('%s → %s', async (soql, code) => {
    const error = await errorOf(h.conn.query(soql));
    expect(error.errorCode).toBe(code);
  });

  it('words syntax errors like Salesforce', async () => {
    const error = await errorOf(h.conn.query('SELECT Id FROM Lead WHERE'));
    expect(error.message).toMatch(/unexpected token/);
  });
});
