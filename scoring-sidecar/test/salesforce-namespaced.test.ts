// The sidecar against the package installed as a managed package: the org simulator loads a namespaced build
// of force-app ('lrk__Lead_Score__c', 'lrk__Score_History__c'), and the batch cycle, the event write-back (both
// its sObject Collections and Bulk paths) and the org sync run through the names layer of config/salesforce.ts.
// A namespace that disagrees with the org's, or with sfdx-project.json, stops start-up with a clear error.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrgSchema } from '../../org-simulator/src/schema/index.js';
import { startOrgSimulator, type RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import {
  ConfigError,
  loadSalesforceNames,
  packageNamesOf,
  salesforceConfig,
  UNPACKAGED,
} from '../src/config/index.js';
import { loadRankingConfig } from '../src/ranking/index.js';
import { OrgSync, redisWatermarkStore } from '../src/ingest/index.js';
import { createRedisWorklistIndex } from '../src/ranking/index.js';
import { bulkQuery, SalesforceClient } from '../src/salesforce/index.js';
import { createRedisStore } from '../src/store/index.js';
import { writeToOrg, type WritebackJob } from '../src/writeback/index.js';
import { CLIENT, connectTo, kitRuntime, queryStore, REDIS_URL, repoRoot } from './batch-kit.js';

const NS = 'lrk';
const FORCE_APP = join(repoRoot, 'force-app', 'main', 'default');
const names = salesforceConfig(NS, packageNamesOf(FORCE_APP));
const log = pino({ level: 'silent' });
const PREFIX = `lr-ns-test-${randomUUID().slice(0, 8)}`;

let sim: RunningOrgSimulator;
let plain: RunningOrgSimulator;
const cleanup: { close(): Promise<void> }[] = [];

/** Leads as the package's names spell them, written under the namespaced names (as a subscriber org holds them). */
function seed(s: RunningOrgSimulator, n: number): string[] {
  const rows = Array.from({ length: n }, (_, i) =>
    names.record({
      LastName: `Ns${i}`,
      Company: `Namespaced ${i}`,
      Status: 'Open - Not Contacted',
      LeadSource: i % 2 ? 'Web' : 'Partner Referral',
      Country: 'Germany',
      Email: `person${i}@acme.example`,
      Data_Region__c: 'EU',
      Web_Visits__c: i % 7,
      Lead_Origin__c: `Origin ${i}`,
    }),
  );
  const results = s.ctx.store.insert('Lead', rows);
  const failed = results.filter((r) => !r.success);
  if (failed.length) throw new Error(`seed: ${JSON.stringify(failed[0])}`);
  return results.map((r) => r.id!);
}

beforeAll(async () => {
  sim = await startOrgSimulator({
    port: 0,
    clients: [CLIENT],
    logger: log,
    schema: loadOrgSchema({ packageNamespace: NS }),
  });
  plain = await startOrgSimulator({ port: 0, clients: [CLIENT], logger: log });
}, 60_000);

afterAll(async () => {
  for (const c of cleanup) await c.close();
  await sim?.close();
  await plain?.close();
});

describe('the namespaced build in the org simulator', () => {
  it('describes only the package names with the prefix', () => {
    const schema = loadOrgSchema({ packageNamespace: NS });
    expect(schema.field('Lead', 'lrk__Lead_Score__c')).toBeDefined();
    expect(schema.field('Lead', 'Lead_Score__c')).toBeUndefined();
    expect(schema.field('lrk__Score_History__c', 'lrk__External_Key__c')?.externalId).toBe(true);
    expect(schema.field('lrk__Score_History__c', 'lrk__Lead__c')?.referenceTo).toEqual(['Lead']);
    expect(schema.object('Score_History__c')).toBeUndefined();
    expect(schema.field('Lead', 'Email')).toBeDefined();
  });
});

describe('the names layer', () => {
  it('qualifies the package names only, in SOQL outside string literals, and maps rows back', () => {
    expect(names.qualify('Lead_Score__c')).toBe('lrk__Lead_Score__c');
    expect(names.qualify('Matched_Account__r.Industry')).toBe('lrk__Matched_Account__r.Industry');
    // A subscriber's own custom field (a client spec's) is not the package's.
    expect(names.qualify('Industry_Segment__c')).toBe('Industry_Segment__c');
    expect(names.qualify('lrk__Lead_Score__c')).toBe('lrk__Lead_Score__c');
    expect(
      names.soql(
        "SELECT Id, Lead_Score__c FROM Score_History__c WHERE Source__c = 'Model__c' AND Email != null",
      ),
    ).toBe(
      "SELECT Id, lrk__Lead_Score__c FROM lrk__Score_History__c WHERE lrk__Source__c = 'Model__c' AND Email != null",
    );
    expect(
      names.localRow({ lrk__Score__c: 1, lrk__Lead__r: { lrk__Data_Region__c: 'EU' }, Id: 'x' }),
    ).toEqual({
      Score__c: 1,
      Lead__r: { Data_Region__c: 'EU' },
      Id: 'x',
    });
    expect(names.csv('Id,Lead_Score__c,"Band__c"\n1,2,3\n')).toBe(
      'Id,lrk__Lead_Score__c,"lrk__Band__c"\n1,2,3\n',
    );
  });
});

describe('the sidecar against a namespaced org', () => {
  it('runs a batch cycle: Lead score fields and Score_History__c rows land under the namespaced names', async () => {
    const ids = seed(sim, 120);
    const rt = await kitRuntime({ sim, salesforceNames: names });
    try {
      const report = await runCycleInProcess(rt, { model: null, cycleId: 'EU-ns' });
      expect(report.leads.extracted).toBe(120);
      expect(report.leads.written).toBe(120);
      expect(report.leads.historyWritten).toBe(120);
      expect(report.leads.failed).toBe(0);
      const leads = queryStore(sim, 'SELECT Id, lrk__Lead_Score__c, lrk__Score_Source__c FROM Lead');
      expect(
        leads.filter((l) => ids.includes(l.Id as string) && typeof l.lrk__Lead_Score__c === 'number'),
      ).toHaveLength(120);
      expect(new Set(leads.map((l) => l.lrk__Score_Source__c))).toEqual(new Set(['Rules']));
      const history = queryStore(
        sim,
        "SELECT lrk__External_Key__c, lrk__Lead__c, lrk__Cycle_Id__c, lrk__Data_Region__c FROM lrk__Score_History__c WHERE lrk__Cycle_Id__c = 'EU-ns'",
      );
      expect(history).toHaveLength(120);
      expect(history[0]!.lrk__External_Key__c).toBe(`${history[0]!.lrk__Lead__c as string}:EU-ns`);
      expect(history[0]!.lrk__Data_Region__c).toBe('EU');
    } finally {
      await rt.close();
    }
  }, 120_000);

  it('writes event write-backs through sObject Collections and through a Bulk job', async () => {
    const ids = seed(sim, 6);
    const client = new SalesforceClient(await connectTo(sim), { log, names });
    const job = (leadId: string, score: number): WritebackJob => ({
      leadId,
      region: 'EU',
      score,
      band: 'A',
      probability: score / 100,
      previousScore: null,
      previousBand: null,
      source: 'model',
      modelVersion: 'ns-test-v1',
      reasonLines: ['+ namespaced'],
      nextBestAction: 'Call now: namespaced',
      featureHash: 'h',
      scoredAt: '2026-12-07T10:00:00.000Z',
      requestId: `r-${leadId}`,
      trigger: 'events',
    });
    const small = await writeToOrg(
      client,
      ids.slice(0, 3).map((id) => job(id, 81)),
      { bulkThreshold: 10, history: true },
    );
    const bulk = await writeToOrg(
      client,
      ids.slice(3).map((id) => job(id, 82)),
      { bulkThreshold: 1, history: true },
    );
    expect(small.path).toBe('collections');
    expect(bulk.path).toBe('bulk');
    expect([...small.outcomes, ...bulk.outcomes].every((o) => o.status === 'ok')).toBe(true);
    const quoted = ids.map((id) => `'${id}'`).join(',');
    const leads = queryStore(
      sim,
      `SELECT Id, lrk__Lead_Score__c, lrk__Score_Source__c FROM Lead WHERE Id IN (${quoted})`,
    );
    expect(leads.map((l) => l.lrk__Lead_Score__c).sort()).toEqual([81, 81, 81, 82, 82, 82]);
    expect(leads.every((l) => l.lrk__Score_Source__c === 'Model')).toBe(true);
    const history = queryStore(
      sim,
      `SELECT lrk__Score__c, lrk__Cycle_Id__c FROM lrk__Score_History__c WHERE lrk__Lead__c IN (${quoted})`,
    );
    expect(history).toHaveLength(6);
    expect(history.every((h) => h.lrk__Cycle_Id__c === 'events')).toBe(true);
  }, 60_000);

  it('syncs the namespaced lead fields into the store under the local names', async () => {
    const conn = await connectTo(sim);
    const client = new SalesforceClient(conn, { log, names });
    const store = createRedisStore(REDIS_URL, 'EU', { keyPrefix: PREFIX, logger: log });
    const ranking = loadRankingConfig();
    const index = createRedisWorklistIndex(REDIS_URL, 'EU', {
      keyPrefix: PREFIX,
      closedStatuses: ranking.candidates.closedStatuses,
      logger: log,
    });
    const watermarks = redisWatermarkStore(REDIS_URL, 'EU', { keyPrefix: PREFIX });
    cleanup.push(store, index, watermarks);
    const id = seed(sim, 4)[3];
    const sync = new OrgSync({
      client,
      region: 'EU',
      store,
      worklistIndex: index,
      ranking,
      watermarks,
      config: { overlapMs: 120_000, writeBatchRows: 200, maxWatermarkAgeDays: 13 },
      log,
    });
    await sync.runOnce();
    const [state] = await store.getLeadStates([id!]);
    expect(state?.lead.Data_Region__c).toBe('EU');
    expect(state?.lead.Lead_Origin__c).toBe('Origin 3');
  }, 60_000);
});

describe('bulkQuery on a bare connection (monitoring calibration, experiment outcomes)', () => {
  it('qualifies the SOQL and gives the columns back under the local names', async () => {
    seed(sim, 2);
    const conn = await connectTo(sim);
    const rows: Record<string, string | null>[] = [];
    for await (const row of bulkQuery(
      conn,
      "SELECT Id, Data_Region__c FROM Lead WHERE Data_Region__c = 'EU'",
      {
        names,
        pollIntervalMs: 50,
      },
    ))
      rows.push(row);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => r.Data_Region__c === 'EU')).toBe(true);
  }, 60_000);
});

describe('a namespace that disagrees stops start-up', () => {
  it('names both names when the config and the org disagree, either way', async () => {
    const unpackaged = new SalesforceClient(await connectTo(sim), { log, names: UNPACKAGED });
    await expect(unpackaged.verifyNamespace()).rejects.toThrow(
      "config/salesforce.json: namespace '' expects Lead.Lead_Score__c, which the org does not have (it has Lead.lrk__Lead_Score__c: the installed package's namespace is 'lrk')",
    );
    const packaged = new SalesforceClient(await connectTo(plain), { log, names });
    await expect(packaged.verifyNamespace()).rejects.toThrow(ConfigError);
    await expect(packaged.verifyNamespace()).rejects.toThrow(
      "namespace 'lrk' expects Lead.lrk__Lead_Score__c, which the org does not have (it has Lead.Lead_Score__c: the installed package's namespace is '')",
    );
    await new SalesforceClient(await connectTo(sim), { log, names }).verifyNamespace();
  });

  it('fails the batch before anything is read when the org is not namespaced as configured', async () => {
    const rt = await kitRuntime({ sim: plain, salesforceNames: names });
    try {
      await expect(rt.salesforce()).rejects.toThrow("namespace 'lrk' expects Lead.lrk__Lead_Score__c");
    } finally {
      await rt.close();
    }
  });

  it('names both files when config/salesforce.json and sfdx-project.json disagree', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadrank-ns-'));
    writeFileSync(join(dir, 'salesforce.json'), JSON.stringify({ namespace: 'lrk' }));
    expect(() => loadSalesforceNames(dir, repoRoot)).toThrow(
      `${join(dir, 'salesforce.json')}: namespace 'lrk' disagrees with ${join(repoRoot, 'sfdx-project.json')} namespace '': set both to the namespace the package is built with`,
    );
    expect(loadSalesforceNames(join(repoRoot, 'config'), repoRoot).namespace).toBe('');
  });
});
