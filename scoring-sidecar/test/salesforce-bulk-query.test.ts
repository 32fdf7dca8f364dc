// Streaming Bulk API 2.0 query results across pages, against the org simulator.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { connectToOrg } from '../src/salesforce/org-connection.js';
import { bulkQuery } from '../src/salesforce/bulk-query.js';

const app = { clientId: 'bulk-test', clientSecret: 'bulk-test-secret' };
let sim: RunningOrgSimulator;

beforeAll(async () => {
  sim = await startOrgSimulator({ port: 0, clients: [app], logger: pino({ level: 'silent' }) });
  const leads = Array.from({ length: 5_250 }, (_, i) => ({
    LastName: `Lead ${i}`,
    Company: `Company "${i % 7}", Inc.`, // quotes and commas must survive the CSV
    Data_Region__c: i % 3 === 0 ? 'EU' : 'US',
    NumberOfEmployees: i % 5 === 0 ? null : i,
  }));
  const results = sim.ctx.store.insert('Lead', leads);
  expect(results.every((r) => r.success)).toBe(true);
});
afterAll(async () => sim?.close());

describe('bulkQuery', () => {
  it('yields every row exactly once across result pages, with values intact', async () => {
    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const seen = new Map<string, Record<string, string | null>>();
    for await (const row of bulkQuery(
      conn,
      "SELECT Id, LastName, Company, NumberOfEmployees FROM Lead WHERE Data_Region__c = 'US'",
      { maxRecordsPerPage: 1_000, pollIntervalMs: 50 },
    )) {
      expect(seen.has(row.Id!)).toBe(false);
      seen.set(row.Id!, row);
    }
    expect(seen.size).toBe(3_500);
    const sample = [...seen.values()].find((r) => r.LastName === 'Lead 10')!;
    expect(sample.Company).toBe('Company "3", Inc.');
    expect(sample.NumberOfEmployees).toBeNull();
    expect([...seen.values()].find((r) => r.LastName === 'Lead 11')!.NumberOfEmployees).toBe('11');
  });

  it('reports a failed query with the job error', async () => {
    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const rows = bulkQuery(conn, 'SELECT Id, NoSuchField__c FROM Lead');
    await expect(rows.next()).rejects.toThrow(/NoSuchField__c|INVALID_FIELD/);
  });
});
