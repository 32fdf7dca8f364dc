// Streaming Bulk API 2.0 query results across pages, against the org simulator.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { connectToOrg } from '../src/salesforce/org-connection.js';
import { bulkQuery } from '../src/salesforce/bulk-query.js';

/**
 * A proxy in front of the simulator that cuts every results page after `cutAfter` bytes (a dropped connection, or
 * the per-call timeout firing while the body streams), passing everything else through.
 */
async function cuttingProxy(target: string, cutAfter: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const up = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      if (!/\/results/.test(req.url ?? '')) return void upRes.pipe(res);
      let sent = 0;
      upRes.on('data', (chunk: Buffer) => {
        if (sent >= cutAfter) return;
        const part = chunk.subarray(0, cutAfter - sent);
        sent += part.length;
        // Cut once this part has gone out: the client has headers and some rows, then the connection drops.
        res.write(part, () => {
          if (sent >= cutAfter) setTimeout(() => res.socket?.destroy(), 50);
        });
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

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

  it('fails the iteration, not the process, when a results page breaks mid-stream', async () => {
    const proxy = await cuttingProxy(sim.url, 4_000);
    try {
      const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
      conn.instanceUrl = proxy.url;
      let seen = 0;
      const read = async () => {
        for await (const _row of bulkQuery(
          conn,
          "SELECT Id, LastName FROM Lead WHERE Data_Region__c = 'US'",
          {
            pollIntervalMs: 50,
          },
        ))
          seen++;
      };
      // Before the fix the broken body was an unhandled 'error' event on a piped stream: the process ended.
      await expect(read()).rejects.toThrow();
      expect(seen).toBeGreaterThan(0);
      expect(seen).toBeLessThan(3_500);
    } finally {
      proxy.server.closeAllConnections();
      await new Promise((r) => proxy.server.close(r));
    }
  });

  it('reports a failed query with the job error', async () => {
    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const rows = bulkQuery(conn, 'SELECT Id, NoSuchField__c FROM Lead');
    await expect(rows.next()).rejects.toThrow(/NoSuchField__c|INVALID_FIELD/);
  });
});
