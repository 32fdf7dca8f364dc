// The dated context extract: rows checked against the spec's declared contexts (errors name the line and the
// field), the as-of join at day boundaries (a row effective after the instant is never used: no leakage), the
// store's history and its retention, and training/serving parity on the same record and instant through both
// stores.
import { randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  computeFeatures,
  contextDeclarations,
  featuresAsOf,
  loadFeatureConfig,
  loadFeatureSpec,
  parseFeatureConfig,
  type LeadHistory,
} from '../src/features/index.js';
import { readContextFolder } from '../src/features/training-set-builder.js';
import {
  ContextTable,
  EventAggregates,
  parseContextRow,
  RefusedInputError,
  type ContextRow,
} from '../src/inputs/index.js';
import { createInProcessStore, createRedisStore, type OnlineFeatureStore } from '../src/store/index.js';
import { baseLead } from './fixtures/leads.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SPEC_FILE = fileURLToPath(new URL('../../config/features/lead-campaign-context.json', import.meta.url));
const config = loadFeatureConfig(SPEC_FILE);
const features = loadFeatureSpec(SPEC_FILE);
const declared = contextDeclarations(config);
const at = (iso: string) => Date.parse(iso);
const valueOf = (values: unknown[], name: string) => values[features.findIndex((f) => f.name === name)];

const campaign = (key: string, date: string, cost: number, channel = 'Paid Search'): ContextRow => ({
  context: 'campaign',
  key,
  effective_from: date,
  values: { cost_per_lead: cost, channel, active: true },
});
const market = (date: string, level: number, outlook = 'up'): ContextRow => ({
  context: 'market',
  key: '*',
  effective_from: date,
  values: { index_level: level, outlook },
});

describe('a context row is checked against the declared contexts', () => {
  const ok = { context: 'campaign', key: 'Web', effective_from: '2026-03-10', cost_per_lead: '12.5' };

  it('takes a good row: typed values, empty cells missing, the region tag not a column', () => {
    const r = parseContextRow({ ...ok, channel: '', active: '1', region: 'US' }, declared);
    expect(r).toEqual({
      ok: true,
      row: {
        context: 'campaign',
        key: 'Web',
        effective_from: '2026-03-10',
        values: { cost_per_lead: 12.5, channel: null, active: true },
      },
    });
  });

  it.each([
    [
      { ...ok, context: 'weather' },
      'context',
      /unknown context "weather" \(the active spec declares: campaign, market\)/,
    ],
    [{ ...ok, context: '' }, 'context', /required/],
    [{ ...ok, key: '' }, 'key', /required/],
    [
      { context: 'market', key: 'Web', effective_from: '2026-03-10' },
      'key',
      /global: its rows have key "\*"/,
    ],
    [{ ...ok, effective_from: '2026-02-30' }, 'effective_from', /YYYY-MM-DD/],
    [{ ...ok, effective_from: '10/03/2026' }, 'effective_from', /YYYY-MM-DD/],
    [{ ...ok, cost_per_lead: 'twelve' }, 'cost_per_lead', /a number/],
    [{ ...ok, active: 'yes' }, 'active', /true or false/],
    [
      { ...ok, budget: '3' },
      'budget',
      /not a column of context "campaign" \(declared: cost_per_lead, channel, active\)/,
    ],
  ])('refuses %j naming the field', (raw, field, message) => {
    const r = parseContextRow(raw, declared);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });

  it('refuses every row when the spec declares no contexts', () => {
    const r = parseContextRow(ok, {});
    expect(r).toMatchObject({
      ok: false,
      field: 'context',
      message: expect.stringMatching(/declares no contexts/),
    });
  });
});

describe('a spec declaring contexts is checked with file, line and field', () => {
  const spec = (contexts: unknown, source: unknown, transform: unknown = { kind: 'numeric' }) =>
    JSON.stringify(
      {
        specVersion: 1,
        name: 's',
        target: 'lead',
        object: 'Lead',
        eventTypes: [],
        calendar: false,
        contexts,
        features: [{ name: 'f', description: 'd', source, transform }],
      },
      null,
      2,
    );
  const campaignDecl = { campaign: { key: { field: 'Campaign_Code__c' }, columns: { cost: 'number' } } };

  it('accepts the shipped example and a custom key field', () => {
    expect(() =>
      parseFeatureConfig(spec(campaignDecl, { context: 'campaign', column: 'cost' }), 'x.json'),
    ).not.toThrow();
    expect(Object.keys(declared)).toEqual(['campaign', 'market']);
    expect(declared.market!.keyField).toBeNull();
  });

  it.each([
    [
      campaignDecl,
      { context: 'ads', column: 'cost' },
      /^x\.json:\d+:\d+: features\[0\]\.source\.context: context "ads" is not declared/,
    ],
    [
      campaignDecl,
      { context: 'campaign', column: 'budget' },
      /features\[0\]\.source\.column: unknown column "budget" of context "campaign"/,
    ],
    [
      { c: { key: { field: 'Email' }, columns: { v: 'number' } } },
      { context: 'c', column: 'v' },
      /contexts\.c\.key\.field: Email is PII or free text/,
    ],
    [
      { c: { key: { field: 'Nope' }, columns: { v: 'number' } } },
      { context: 'c', column: 'v' },
      /contexts\.c\.key\.field: unknown Lead field "Nope"/,
    ],
    [
      { c: { key: 'global', columns: { key: 'number' } } },
      { context: 'c', column: 'key' },
      /contexts\.c\.columns\.key: "key" is a column every context row has/,
    ],
    [
      { c: { key: 'global', columns: { v: 'float' } } },
      { context: 'c', column: 'v' },
      /contexts\.c\.columns\.v: /,
    ],
    [
      { c: { key: 'global', columns: {} } },
      { context: 'c', column: 'v' },
      /contexts\.c\.columns: at least one column/,
    ],
  ])('refuses %j / %j', (contexts, source, message) => {
    expect(() => parseFeatureConfig(spec(contexts, source), 'x.json')).toThrow(message);
  });

  it('needs the context key field in the store (objectFieldsRead), so sync keeps it', async () => {
    const { objectFieldsRead } = await import('../src/features/index.js');
    const c = parseFeatureConfig(spec(campaignDecl, { context: 'campaign', column: 'cost' }), 'x.json');
    expect(objectFieldsRead(c)).toContain('Campaign_Code__c');
  });
});

describe('the as-of join', () => {
  const rows = [
    campaign('Web', '2026-03-01', 10),
    campaign('Web', '2026-03-10', 20),
    campaign('Partner', '2026-03-05', 99),
    market('2026-03-09', 100, 'down'),
    market('2026-03-10', 110, 'flat'),
  ];
  const history: LeadHistory = {
    lead: { ...baseLead, LeadSource: 'Web' },
    events: [],
    erpRows: [],
    marketingRows: [],
    fieldChanges: [],
    contextRows: rows,
  };

  it('uses the latest row effective at or before the instant, from 00:00 UTC of its date', () => {
    const before = featuresAsOf(features, history, at('2026-03-09T23:59:59.999Z'));
    const onTheDay = featuresAsOf(features, history, at('2026-03-10T00:00:00.000Z'));
    expect(valueOf(before, 'campaign_cost_per_lead')).toBe(10);
    expect(valueOf(before, 'market_index')).toBe(100);
    expect(valueOf(before, 'market_outlook')).toBe('down');
    expect(valueOf(onTheDay, 'campaign_cost_per_lead')).toBe(20);
    expect(valueOf(onTheDay, 'market_index')).toBe(110);
    expect(valueOf(onTheDay, 'market_outlook')).toBe('flat');
    expect(valueOf(onTheDay, 'campaign_channel')).toBe('paid search'); // the spec's caseFold
  });

  it('never uses a row effective after the instant (leakage): before the first row, nothing', () => {
    const t = at('2026-02-28T12:00:00Z');
    const v = featuresAsOf(features, history, t);
    expect(valueOf(v, 'campaign_cost_per_lead')).toBeNull();
    expect(valueOf(v, 'campaign_active')).toBe(false); // the spec's missing value
    expect(valueOf(v, 'market_index')).toBeNull();
    // adding any number of later rows changes nothing at t
    const later = {
      ...history,
      contextRows: [...rows, campaign('Web', '2026-02-29', 1), campaign('Web', '2026-03-01', 5)],
    };
    expect(featuresAsOf(features, later, t)).toEqual(v);
  });

  it('joins on the key as the record holds it at the instant (a field change moves the lead to another row)', () => {
    const moved: LeadHistory = {
      ...history,
      fieldChanges: [{ field: 'LeadSource', value: 'Partner', changedAtMs: at('2026-03-12T08:00:00Z') }],
    };
    expect(valueOf(featuresAsOf(features, moved, at('2026-03-12T07:59:59Z')), 'campaign_cost_per_lead')).toBe(
      20,
    );
    expect(valueOf(featuresAsOf(features, moved, at('2026-03-12T08:00:00Z')), 'campaign_cost_per_lead')).toBe(
      99,
    );
    const noSource: LeadHistory = { ...history, lead: { ...baseLead, LeadSource: null } };
    expect(
      valueOf(featuresAsOf(features, noSource, at('2026-03-12T00:00:00Z')), 'campaign_cost_per_lead'),
    ).toBeNull();
    expect(valueOf(featuresAsOf(features, noSource, at('2026-03-12T00:00:00Z')), 'market_index')).toBe(110);
  });

  it('a later delivery of the same (context, key, date) replaces its values', () => {
    const table = new ContextTable([campaign('Web', '2026-03-10', 20), campaign('Web', '2026-03-10', 21)]);
    expect(table.size).toBe(1);
    expect(table.asOf('campaign', 'Web', at('2026-03-10T00:00:00Z'))!.values.cost_per_lead).toBe(21);
  });
});

const state0Events = () => new EventAggregates();

describe.each(['in-process', 'redis'] as const)('the %s store keeps context history', (kind) => {
  let clock = at('2026-03-09T18:00:00Z');
  const keyPrefix = `lrtest:ctx:${randomUUID()}`;
  const open = (opts: { contextHistoryDays?: number } = {}): OnlineFeatureStore =>
    kind === 'redis'
      ? createRedisStore(REDIS_URL, 'US', {
          now: () => clock,
          keyPrefix,
          indexBuckets: 16,
          logger: pino({ level: 'silent' }),
          ...opts,
        })
      : createInProcessStore('US', { now: () => clock, ...opts });
  const stores: OnlineFeatureStore[] = [];

  afterAll(async () => {
    for (const s of stores) await s.close();
    if (kind !== 'redis') return;
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
  });

  it('serves the row in effect now, the same vector the builder computes for that record and instant', async () => {
    const store = open();
    stores.push(store);
    const lead = { ...baseLead, Id: '00Q000000000777AAA', LeadSource: 'Web', Data_Region__c: 'US' as const };
    await store.putLeads([lead]);
    const rows = [
      campaign('Web', '2026-03-01', 10),
      market('2026-03-01', 100),
      // announced ahead: effective tomorrow, delivered today
      campaign('Web', '2026-03-10', 20),
      market('2026-03-10', 110, 'flat'),
    ];
    await store.putContextRows(rows);
    // a second process sees the rows too (Redis: another connection; its cache follows the version)
    const reader = kind === 'redis' ? open() : store;
    if (reader !== store) stores.push(reader);

    for (const now of [
      clock,
      at('2026-03-09T23:59:59.999Z'),
      at('2026-03-10T00:00:00Z'),
      at('2026-03-20T00:00:00Z'),
    ]) {
      clock = now;
      const [state] = await reader.getLeadStates([lead.Id]);
      const online = computeFeatures(features, state!, now);
      const offline = featuresAsOf(
        features,
        { lead, events: [], erpRows: [], marketingRows: [], fieldChanges: [], contextRows: rows },
        now,
      );
      expect(online).toEqual(offline);
      expect(valueOf(online, 'campaign_cost_per_lead')).toBe(now < at('2026-03-10T00:00:00Z') ? 10 : 20);
    }

    // a lead the store does not hold (scored by payload) reads the same rows
    const lookup = await reader.contextLookup();
    expect(lookup).not.toBeNull();
    const payloadLead = { ...lead, Id: '00Q000000000778AAA' };
    const payloadInputs = {
      lead: payloadLead,
      events: state0Events(),
      erp: null,
      marketing: null,
      context: lookup,
    };
    expect(computeFeatures(features, payloadInputs, clock)).toEqual(
      computeFeatures(features, { ...payloadInputs, context: new ContextTable(rows) }, clock),
    );

    // a correction of an existing row reaches a reader that had cached the table
    await store.putContextRows([campaign('Web', '2026-03-10', 25)]);
    const [state] = await reader.getLeadStates([lead.Id]);
    expect(valueOf(computeFeatures(features, state!, clock), 'campaign_cost_per_lead')).toBe(25);
    expect((await store.contextRows()).length).toBe(4);
  });

  it('drops history beyond its retention but keeps the row in effect at the window start', async () => {
    clock = at('2026-06-01T12:00:00Z');
    const store = open({ contextHistoryDays: 30 });
    stores.push(store);
    await store.putContextRows([
      market('2026-01-01', 1),
      market('2026-04-01', 2), // in effect at the window start (2026-05-02): kept
      market('2026-05-10', 3),
      market('2026-06-15', 4), // announced ahead
    ]);
    const held = (await store.contextRows())
      .filter((r) => r.context === 'market')
      .map((r) => r.effective_from);
    expect(held).not.toContain('2026-01-01');
    expect(held).toEqual(expect.arrayContaining(['2026-04-01', '2026-05-10', '2026-06-15']));
  });

  it('refuses rows of the other region or dated more than a year ahead, writing none of the batch', async () => {
    const store = open();
    stores.push(store);
    const before = (await store.contextRows()).length;
    await expect(
      store.putContextRows([market('2026-06-02', 5), { ...market('2026-06-03', 6), region: 'EU' }]),
    ).rejects.toThrow(RefusedInputError);
    await expect(store.putContextRows([market('2099-01-01', 7)])).rejects.toThrow(/days ahead/);
    expect((await store.contextRows()).length).toBe(before);
  });
});

describe('context files for training (<extracts>/context/*.csv)', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads every file in name order and fails naming file, line and column', async () => {
    dir = await mkdtemp(join(tmpdir(), 'context-files-'));
    const folder = join(dir, 'context');
    await mkdir(folder);
    await writeFile(
      join(folder, '2026-03-01.csv'),
      'context,key,effective_from,cost_per_lead,channel,active\ncampaign,Web,2026-03-01,10,Paid Search,true\n',
    );
    await writeFile(
      join(folder, '2026-03-02.csv'),
      'context,key,effective_from,index_level\nmarket,*,2026-03-02,101.5\n',
    );
    const rows = await readContextFolder(folder, declared);
    expect(rows.map((r) => [r.context, r.key, r.effective_from])).toEqual([
      ['campaign', 'Web', '2026-03-01'],
      ['market', '*', '2026-03-02'],
    ]);
    expect(rows[1]!.values).toEqual({ index_level: 101.5, outlook: null });

    await writeFile(
      join(folder, '2026-03-03.csv'),
      'context,key,effective_from,index_level\nmarket,*,2026-03-03,100\nmarket,*,2026-03-04,lots\n',
    );
    await expect(readContextFolder(folder, declared)).rejects.toThrow(
      `${join(folder, '2026-03-03.csv')}:3: index_level: a number`,
    );
  });
});

describe('a record training set (spec with a "training" target) joins context as of each record', () => {
  it('reads the row in effect at the time field, keyed by the record as read from the org', async () => {
    const { recordTrainingSet, fieldsRead } = await import('../src/features/index.js');
    const c = parseFeatureConfig(
      JSON.stringify({
        specVersion: 1,
        name: 'rec',
        target: 'lead',
        object: 'Lead',
        eventTypes: [],
        calendar: false,
        contexts: { campaign: { key: { field: 'Campaign_Code__c' }, columns: { cost: 'number' } } },
        features: [
          {
            name: 'cost',
            description: 'd',
            source: { context: 'campaign', column: 'cost' },
            transform: { kind: 'numeric' },
          },
        ],
        training: { timeField: 'CreatedDate', outcome: { field: 'Status', positive: ['Won'] } },
      }),
      'rec.json',
    );
    expect(fieldsRead(c)).toContain('Campaign_Code__c');
    const row = (date: string, cost: number): ContextRow => ({
      context: 'campaign',
      key: 'C-1',
      effective_from: date,
      values: { cost },
    });
    const records = [
      {
        Id: '00Q000000000001AAA',
        CreatedDate: '2026-03-09T23:59:59.000+0000',
        Campaign_Code__c: 'C-1',
        Status: 'Won',
      },
      {
        Id: '00Q000000000002AAA',
        CreatedDate: '2026-03-10T00:00:00.000+0000',
        Campaign_Code__c: 'C-1',
        Status: 'Lost',
      },
      {
        Id: '00Q000000000003AAA',
        CreatedDate: '2026-03-10T00:00:00.000+0000',
        Campaign_Code__c: '',
        Status: 'Lost',
      },
    ];
    const { rows } = recordTrainingSet(c, records, 'rec.json', [row('2026-03-01', 1), row('2026-03-10', 2)]);
    expect(rows.map((r) => r.values[0])).toEqual([1, 2, null]);
  });
});
