import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrgSchema } from '../src/schema/index.js';
import { OrgStore } from '../src/store/org-store.js';

// Keyset paging must return exactly the rows of one unpaged query, in its order, whichever form the keyset
// condition takes (a row value for NULLS-FIRST orders, the OR expansion otherwise or after a NULL).
describe('OrgStore keyset paging', () => {
  let store: OrgStore;
  const TITLES = ['CEO', 'Analyst', null, 'VP Sales', null, 'Director'];

  beforeAll(() => {
    store = OrgStore.open({ file: ':memory:', schema: loadOrgSchema() });
    const leads = Array.from({ length: 600 }, (_, i) => ({
      LastName: `P${i}`,
      Company: `Co ${i % 7}`,
      Title: TITLES[i % TITLES.length],
      Status: i % 5 === 0 ? 'Closed - Not Converted' : 'Open - Not Contacted',
      Data_Region__c: i % 3 === 0 ? 'US' : 'EU',
      NumberOfEmployees: i % 4 === 0 ? null : (i * 37) % 50,
    }));
    const failed = store.insert('Lead', leads).filter((r) => !r.success);
    expect(failed).toEqual([]);
  });

  afterAll(() => store.close());

  const QUERIES = [
    "SELECT Id, Title FROM Lead WHERE IsConverted = false AND Data_Region__c = 'EU' ORDER BY Id",
    "SELECT Id FROM Lead WHERE Status NOT IN ('Closed - Not Converted') ORDER BY Id DESC",
    'SELECT Id, Title FROM Lead ORDER BY Title, Id',
    'SELECT Id, Title FROM Lead ORDER BY Title NULLS LAST, Id',
    'SELECT Id, NumberOfEmployees FROM Lead ORDER BY NumberOfEmployees DESC, Title',
    'SELECT Id, Company, NumberOfEmployees FROM Lead ORDER BY Company, NumberOfEmployees',
    "SELECT Id, Owner.Name FROM Lead WHERE Data_Region__c = 'US' ORDER BY CreatedDate, Id LIMIT 150",
  ];

  it.each(QUERIES)('pages %s in the order of one unpaged query', (soql) => {
    const query = store.compileQuery(soql);
    const whole = store.page(query, null, 10_000);
    expect(whole.nextCursor).toBeNull();
    for (const size of [1, 7, 64]) {
      const paged: unknown[] = [];
      let cursor: string | null = null;
      do {
        const page = store.page(query, cursor, size);
        expect(page.records.length).toBeLessThanOrEqual(size);
        paged.push(...page.records);
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(paged).toEqual(whole.records);
    }
  });

  it('gives the same values as arrays (pageRows) as page gives as records, cursors included', () => {
    const query = store.compileQuery(
      'SELECT Id, Title, IsConverted, HasOptedOutOfEmail, NumberOfEmployees, Owner.Name FROM Lead ORDER BY Title, Id',
    );
    let recordCursor: string | null = null;
    let rowCursor: string | null = null;
    let pages = 0;
    do {
      const records = store.page(query, recordCursor, 50);
      const rows = store.pageRows(query, rowCursor, 50);
      expect(rows.nextCursor).toBe(records.nextCursor);
      expect(rows.rows).toEqual(
        records.records.map((r) => [
          r.Id,
          r.Title,
          r.IsConverted,
          r.HasOptedOutOfEmail,
          r.NumberOfEmployees,
          (r.Owner as { Name: unknown } | null)?.Name ?? null,
        ]),
      );
      recordCursor = records.nextCursor;
      rowCursor = rows.nextCursor;
      pages++;
    } while (recordCursor !== null);
    expect(pages).toBe(12);
  });
});
