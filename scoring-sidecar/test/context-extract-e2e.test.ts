// The dated context extract end to end with config/features/lead-campaign-context.json active: delivered through
// POST /v1/extracts/context (all rows or none, errors naming line and field) into the store the sidecar serves
// from; and a training set built from the org simulator with <extracts>/context/*.csv, where every snapshot's
// context values are those of the row in effect at its instant (a row effective later is never used).
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningOrgSimulator } from '@leadrank/org-simulator';
import { baseLead } from './fixtures/leads.js';
import { startGeneratedOrg, type GeneratedOrg } from './support/generated-org.js';

// The active spec is read once when features/ loads: set it before any import of the sidecar.
vi.hoisted(() => {
  process.env.LEADRANK_FEATURE_SPEC = 'config/features/lead-campaign-context.json';
});

const { ACTIVE_SPEC, computeFeatures, featuresAsOf } = await import('../src/features/index.js');
const { ContextTable, GLOBAL_CONTEXT_KEY } = await import('../src/inputs/index.js');
const { startServer } = await import('../src/server.js');
const { buildFromOrg } = await import('../src/commands/build-training-set.js');
const { bulkQuery } = await import('../src/salesforce/index.js');
const { connectToOrg } = await import('../src/salesforce/org-connection.js');

const DAY = 86_400_000;
const features = ACTIVE_SPEC.definitions;
const index = (name: string) => features.findIndex((f) => f.name === name);

describe('POST /v1/extracts/context into the serving store', () => {
  const SECRET = 'ctx-secret';
  let stateDir: string;
  let base: string;
  let token: string;
  let started: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'context-e2e-'));
    started = await startServer(
      {
        REGION: 'US',
        PORT: '0',
        HOST: '127.0.0.1',
        LEADRANK_RULES_ONLY: '1',
        LEADRANK_MODEL_DIR: join(stateDir, 'no-model'),
        LEADRANK_CLIENTS: JSON.stringify([
          {
            clientId: 'etl-us',
            clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
            region: 'US',
            name: 'ETL',
          },
        ]),
        LEADRANK_TOKEN_SIGNING_KEY: 'context-signing-key-0123456789abcdef0123',
        LEADRANK_AUDIT_DIR: join(stateDir, 'audit'),
        LEADRANK_AUDIT_FSYNC: 'none',
        LEADRANK_STATE_DIR: stateDir,
      },
      { logger: pino({ level: 'silent' }) },
    );
    base = `http://127.0.0.1:${started.port}`;
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=etl-us&client_secret=${SECRET}`,
    });
    token = ((await res.json()) as { access_token: string }).access_token;
  });

  afterAll(async () => {
    await started?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  const post = async (body: string, type = 'text/csv') => {
    const res = await fetch(`${base}/v1/extracts/context`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': type },
      body,
    });
    return {
      status: res.status,
      json: (await res.json()) as { error: { message: string } } & Record<string, unknown>,
    };
  };

  it('takes a CSV of past and announced rows; the lead is served the row in effect now', async () => {
    const now = Date.now();
    const day = (d: number) => new Date(now + d * DAY).toISOString().slice(0, 10);
    const csv = [
      'context,key,effective_from,cost_per_lead,channel,active,region',
      `campaign,Web,${day(-30)},12.5,Paid Search,true,US`,
      `campaign,Web,${day(5)},99,Events,false,US`, // announced: not in effect yet
    ].join('\n');
    const ok = await post(csv);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ kind: 'context', rows: 2, extractDates: { from: day(-30), to: day(5) } });
    const market = [
      {
        context: 'market',
        key: '*',
        effective_from: day(-1),
        index_level: 104.2,
        outlook: 'up',
        region: 'US',
      },
    ];
    const nd = await post(market.map((r) => JSON.stringify(r)).join('\n'), 'application/x-ndjson');
    expect(nd.status).toBe(200);

    const store = started.sidecar.store;
    const profile = {
      ...baseLead,
      Id: '00Q000000000042AAA',
      CreatedDate: new Date(now - 3 * DAY).toISOString().replace('Z', '+0000'),
      LeadSource: 'Web',
      Data_Region__c: 'US' as const,
    };
    await store.putLeads([profile]);
    const [state] = await store.getLeadStates([profile.Id]);
    const at = Date.now();
    const served = computeFeatures(features, state!, at);
    expect(served[index('campaign_cost_per_lead')]).toBe(12.5);
    expect(served[index('campaign_channel')]).toBe('paid search');
    expect(served[index('market_index')]).toBe(104.2);
    // the same record and instant through the training path: the same vector
    const offline = featuresAsOf(
      features,
      {
        lead: profile,
        events: [],
        erpRows: [],
        marketingRows: [],
        fieldChanges: [],
        contextRows: await store.contextRows(),
      },
      at,
    );
    expect(served).toEqual(offline);
  });

  it('refuses a bad row with 400 naming line and field, and writes none of the extract', async () => {
    const store = started.sidecar.store;
    const before = await store.contextRows();
    const today = new Date().toISOString().slice(0, 10);
    const cases: [string, RegExp][] = [
      [
        `context,key,effective_from,cost_per_lead,region\ncampaign,Partner Referral,${today},3,US\ncampaign,Web,${today},lots,US`,
        /^line 3: cost_per_lead: a number$/,
      ],
      [
        `context,key,effective_from,budget,region\ncampaign,Web,${today},3,US`,
        /^line 2: budget: not a column of context "campaign"/,
      ],
      [
        `context,key,effective_from,index_level,region\nmarket,Web,${today},3,US`,
        /^line 2: key: context "market" is global/,
      ],
      [
        `context,key,effective_from,region\nweather,*,${today},US`,
        /^line 2: context: unknown context "weather"/,
      ],
      [
        `context,key,effective_from,region\nmarket,*,2099-01-01,US`,
        /^line 2: effective_from: is more than 366 days/,
      ],
    ];
    for (const [csv, message] of cases) {
      const res = await post(csv);
      expect(res.status, csv).toBe(400);
      expect(res.json.error.message).toMatch(message);
    }
    const otherRegion = await post(`context,key,effective_from,index_level,region\nmarket,*,${today},3,EU`);
    expect(otherRegion.status).toBe(403);
    expect(await store.contextRows()).toEqual(before);
  });
});

describe('a training set joins context rows as of each snapshot', () => {
  const dataEnd = '2026-11-24T00:00:00Z';
  const app = { clientId: 'context-builder', clientSecret: 'context-builder-secret' };
  const SOURCES = ['Web', 'Paid Search', 'Organic Search', 'Webinar', 'Trade Show', 'Partner Referral'];
  let org: GeneratedOrg;
  let root: string;
  let sim: RunningOrgSimulator;

  beforeAll(async () => {
    org = await startGeneratedOrg('context-builder', app, {
      seed: 7,
      active: 100,
      historical: 500,
      dataEnd,
      euShare: 0,
      historyDays: 240,
    });
    ({ root, sim } = org);
  }, 120_000);

  afterAll(async () => {
    await org?.close();
  });

  it('uses the row in effect at each snapshot instant, never a later one', async () => {
    // A market row every day (its level is its day number, so a row from the wrong day shows), and per lead
    // source a campaign row every 9 days, in two files.
    const endMs = Date.parse(dataEnd);
    const folder = join(root, 'data', 'extracts', 'context');
    await mkdir(folder, { recursive: true });
    const market = ['context,key,effective_from,index_level,outlook'];
    for (let d = 300; d >= 0; d--)
      market.push(`market,*,${new Date(endMs - d * DAY).toISOString().slice(0, 10)},${300 - d},up`);
    const campaign = ['context,key,effective_from,cost_per_lead,channel,active'];
    for (const [s, source] of SOURCES.entries())
      for (let d = 290 - s; d >= 0; d -= 9)
        campaign.push(
          `campaign,${source},${new Date(endMs - d * DAY).toISOString().slice(0, 10)},${d + s / 10},x,true`,
        );
    await writeFile(join(folder, 'market.csv'), `${market.join('\n')}\n`);
    await writeFile(join(folder, 'campaign.csv'), `${campaign.join('\n')}\n`);

    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const out = join(root, 'training-set');
    const data = join(root, 'data');
    const result = await buildFromOrg(conn, {
      out,
      events: join(data, 'events.ndjson.gz'),
      extracts: join(data, 'extracts'),
      dataEnd: new Date(dataEnd),
    });
    expect(result.spec.source?.config.name).toBe('lead-campaign-context');

    const sourceOf = new Map<string, string | null>();
    for await (const l of bulkQuery(conn, 'SELECT Id, LeadSource FROM Lead'))
      sourceOf.set(l.Id!, l.LeadSource || null);
    const { readContextFolder } = await import('../src/features/training-set-builder.js');
    const { contextDeclarations } = await import('../src/features/index.js');
    const table = new ContextTable(
      await readContextFolder(folder, contextDeclarations(ACTIVE_SPEC.source.config)),
    );

    const rows = await parquetReadObjects({
      file: await asyncBufferFromFile(join(out, 'training-set.parquet')),
    });
    expect(rows.length).toBe(result.snapshots);
    let withCampaign = 0;
    let nextDayRowExisted = 0;
    for (const row of rows) {
      const t = Number(row.snapshot_at instanceof Date ? row.snapshot_at.getTime() : row.snapshot_at);
      const expectedMarket = table.asOf('market', GLOBAL_CONTEXT_KEY, t)?.values.index_level ?? null;
      expect(row.market_index ?? null).toBe(expectedMarket);
      // the row in effect is the one dated on the snapshot's UTC day, the next day's row is not used
      if (expectedMarket !== null) {
        expect(expectedMarket).toBe(300 - Math.round((endMs - Math.floor(t / DAY) * DAY) / DAY));
        if (table.asOf('market', GLOBAL_CONTEXT_KEY, t + DAY)) nextDayRowExisted++;
      }
      const source = sourceOf.get(String(row.lead_id)) ?? null;
      const expectedCost =
        source === null ? null : (table.asOf('campaign', source, t)?.values.cost_per_lead ?? null);
      expect(
        row.campaign_cost_per_lead ?? null,
        `${row.lead_id} ${source} at ${new Date(t).toISOString()}`,
      ).toBe(expectedCost);
      if (expectedCost !== null) withCampaign++;
    }
    expect(nextDayRowExisted).toBeGreaterThan(500);
    expect(withCampaign).toBeGreaterThan(300);
  }, 180_000);
});
