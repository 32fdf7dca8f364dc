// Pulling a region's open leads from the org into the feature store and the worklist index, then only changes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { syncFromOrg } from '../src/batch/org-sync.js';
import { createInProcessWorklistIndex, loadRankingConfig } from '../src/ranking/index.js';
import { connectToOrg } from '../src/salesforce/org-connection.js';
import { createInProcessStore } from '../src/store/index.js';

const app = { clientId: 'sync-test', clientSecret: 'sync-test-secret' };
let root: string;
let sim: RunningOrgSimulator;
let now = Date.now() - 3_600_000; // the org's clock, moved forward by the test

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'leadrank-sync-'));
  await generateDataset({
    outDir: root,
    seed: 5,
    active: 600,
    historical: 200,
    dataEnd: '2026-11-24T00:00:00Z',
    euShare: 0.3,
    historyDays: 120,
  });
  sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: pino({ level: 'silent' }),
    clock: () => new Date(now),
  });
  await seedFromDirectory(sim.ctx.store, root);
}, 120_000);
afterAll(async () => {
  await sim?.close();
  await rm(root, { recursive: true, force: true });
});

describe('syncFromOrg', () => {
  it('loads every open lead of the region, then only what changed since the watermark', async () => {
    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const ranking = loadRankingConfig();
    const store = createInProcessStore('US');
    const worklistIndex = createInProcessWorklistIndex('US', {
      closedStatuses: ranking.candidates.closedStatuses,
    });
    const first = await syncFromOrg(conn, { region: 'US', store, worklistIndex, ranking });

    const open = await conn.query<{
      Id: string;
      OwnerId: string;
      Territory__c: string | null;
      Status: string;
    }>(
      "SELECT Id, OwnerId, Territory__c, Status FROM Lead WHERE Data_Region__c = 'US' AND IsConverted = false AND Status != 'Closed - Not Converted'",
      { autoFetch: true, maxFetch: 100_000 },
    );
    expect(first.leads).toBe(open.totalSize);
    const states = await store.getLeadStates(open.records.map((r) => r.Id));
    expect(states.every((s) => s !== null)).toBe(true);
    expect(JSON.stringify(states)).not.toMatch(/"(FirstName|LastName|Phone|Street)":"[^"]/);

    const rep = open.records.find((r) => r.Status.startsWith('Working'))!;
    const candidates = await worklistIndex.candidatesFor(rep.OwnerId, rep.Territory__c);
    expect(candidates.map((c) => c.leadId)).toContain(rep.Id);
    expect(candidates.every((c) => c.region === 'US' && !c.isConverted)).toBe(true);

    const seededAt = now;
    now += 60_000;
    await conn.sobject('Lead').update({ Id: rep.Id, Industry: 'Biotechnology' });
    // Rows at the watermark's second are read again (>=, harmless upserts); a later watermark reads only the change.
    const again = await syncFromOrg(conn, {
      region: 'US',
      store,
      worklistIndex,
      ranking,
      since: first.highWatermark!,
    });
    expect(again.leads).toBe(first.leads);
    expect(Date.parse(again.highWatermark!)).toBe(now);
    const second = await syncFromOrg(conn, {
      region: 'US',
      store,
      worklistIndex,
      ranking,
      since: new Date(seededAt + 30_000).toISOString(),
    });
    expect(second.leads).toBe(1);
    const [changed] = await store.getLeadStates([rep.Id]);
    expect(changed!.lead.Industry).toBe('Biotechnology');
  }, 120_000);
});
