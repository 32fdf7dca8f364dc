// One behaviour suite, run against the embedded store and against a real Redis.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEAD_CONVERSION_FEATURES, computeFeatures } from '../src/features/index.js';
import {
  EVENT_TYPES,
  EventAggregates,
  type EngagementEvent,
  type ErpExtractRow,
  type EventType,
  type LeadProfile,
  type MarketingExtractRow,
} from '../src/inputs/index.js';
import {
  RefusedInputError,
  createInProcessStore,
  createRedisStore,
  createStoreFromEnv,
  type OnlineFeatureStore,
  type StoreOptions,
} from '../src/store/index.js';
import { baseLead } from './fixtures/leads.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DAY = 86_400_000;
const silent = pino({ level: 'silent' });
const t0 = Date.parse('2026-03-10T12:00:00Z');

let clock = t0;
const storeOptions: StoreOptions = { now: () => clock };

const leadId = (n: number) => `00Q${String(n).padStart(12, '0')}AAA`;
const leadOf = (n: number, patch: Partial<LeadProfile> = {}): LeadProfile => ({
  ...baseLead,
  Id: leadId(n),
  ...patch,
});

let eventSeq = 0;
const eventOf = (
  lead: number | string,
  type: EventType,
  occurredAtMs: number,
  patch: Partial<EngagementEvent> = {},
): EngagementEvent => ({
  eventId: `evt-${++eventSeq}-${randomUUID()}`,
  leadId: typeof lead === 'number' ? leadId(lead) : lead,
  type,
  occurredAt: new Date(occurredAtMs).toISOString(),
  region: 'EU',
  ...patch,
});

const erpRow = (account: string, date: string, patch: Partial<ErpExtractRow> = {}): ErpExtractRow => ({
  erp_account_number: account,
  extract_date: date,
  is_customer: false,
  erp_revenue: 1250.75,
  products_held: 0,
  payment_status: 'current',
  ...patch,
});

const marketingRow = (lead: number, date: string, patch: Partial<MarketingExtractRow> = {}) => ({
  lead_id: leadId(lead),
  extract_date: date,
  campaign_count: 3,
  last_campaign: 'Spring Promo',
  intent_score: 71.5,
  intent_topic: 'crm',
  ...patch,
});

/** The reference: the same events folded in TS, in occurrence order. */
function folded(events: readonly EngagementEvent[]): EventAggregates {
  const agg = new EventAggregates();
  for (const e of [...events].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt)))
    agg.apply(e.type, Date.parse(e.occurredAt));
  return agg;
}

function expectSameAggregates(actual: EventAggregates, expected: EventAggregates, instants: number[]) {
  for (const type of EVENT_TYPES) {
    expect(actual.total(type)).toBe(expected.total(type));
    expect(actual.lastAt(type)).toBe(expected.lastAt(type));
    for (const at of instants)
      for (const days of [1, 7, 30])
        expect(actual.countInWindow(type, days, at)).toBe(expected.countInWindow(type, days, at));
  }
  expect(actual.lastAt()).toBe(expected.lastAt());
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

interface Harness {
  /** A new store on the same data (another sidecar process, for Redis). */
  open(region?: 'US' | 'EU', extra?: object): OnlineFeatureStore;
  cleanup(): Promise<void>;
}

function inProcessHarness(): Harness {
  const stores = new Map<string, OnlineFeatureStore>();
  return {
    // In-process state is per instance: "another process" cannot share it, so the same region reuses one.
    open: (region = 'EU') => {
      let store = stores.get(region);
      if (!store) stores.set(region, (store = createInProcessStore(region, storeOptions)));
      return store;
    },
    cleanup: async () => {},
  };
}

function redisHarness(): Harness {
  const keyPrefix = `lrtest:store:${randomUUID()}`;
  const opened: OnlineFeatureStore[] = [];
  return {
    open: (region = 'EU', extra = {}) => {
      const store = createRedisStore(REDIS_URL, region, {
        ...storeOptions,
        keyPrefix,
        indexBuckets: 64,
        logger: silent,
        ...extra,
      });
      opened.push(store);
      return store;
    },
    cleanup: async () => {
      await Promise.all(opened.map((s) => s.close()));
      await deleteKeys(keyPrefix);
    },
  };
}

describe.each([
  ['in-process', inProcessHarness],
  ['redis', redisHarness],
] as const)('%s store', (kind, makeHarness) => {
  let harness: Harness;
  let store: OnlineFeatureStore;

  beforeEach(() => {
    clock = t0;
    harness = makeHarness();
    store = harness.open();
  });
  afterEach(() => harness.cleanup());

  it('round-trips a lead state exactly, keeping only what features need', async () => {
    const lead = leadOf(1, {
      NumberOfEmployees: 0,
      AnnualRevenue: 0.1 + 0.2,
      HasOptedOutOfEmail: true,
      DoNotCall: false,
      Country: null,
      Matched_Account__c: '001000000000001AAA',
      // The rules' inputs, so an event rescore by Id scores as the batch and the Apex payload do.
      Status: 'Working - Contacted',
      Rating: 'Hot',
      LastActivityDate: '2026-03-05',
      Web_Visits__c: 7,
      Web_Time_On_Site__c: 612.5,
      Web_Pages_Per_Visit__c: null,
    });
    await store.putLeads([lead]);
    await store.putAccountLinks([{ accountId: '001000000000001AAA', erpAccountNumber: 'E-1' }]);
    const erp = erpRow('E-1', '2026-03-09', { is_customer: true, erp_revenue: -12.5, payment_status: null });
    await store.putErpRows([erp]);
    const marketing = marketingRow(1, '2026-03-10', { last_campaign: null, campaign_count: 0 });
    await store.putMarketingRows([marketing]);
    const events = [
      eventOf(1, 'pricing_page_visit', t0 - DAY),
      eventOf(1, 'pricing_page_visit', t0 - 3 * DAY + 17),
      eventOf(1, 'email_open', t0 - 40 * DAY),
    ];
    await store.applyEvents(events);

    const [state] = await store.getLeadStates([lead.Id]);
    expect(state).not.toBeNull();
    expect(state!.lead).toEqual({
      ...lead,
      Email: null,
      EmailIsFreeMail: true, // gmx.de: all the store keeps of the email
      FirstName: null,
      LastName: null,
      Phone: null,
      Street: null,
      Company: null,
    });
    expect(state!.erp).toEqual(erp);
    expect(state!.marketing).toEqual(marketing);
    expect(state!.events.toJSON()).toEqual(folded(events).toJSON());
    // Minimized, yet the feature vector is the one the full profile gives.
    const full = { lead, events: folded(events), erp, marketing };
    expect(computeFeatures(LEAD_CONVERSION_FEATURES, state!, t0)).toEqual(
      computeFeatures(LEAD_CONVERSION_FEATURES, full, t0),
    );
  });

  it('answers null for unknown ids, in the order asked', async () => {
    await store.putLeads([leadOf(1), leadOf(2, { Industry: 'Retail' })]);
    const states = await store.getLeadStates([leadId(2), leadId(99), leadId(1), leadId(98)]);
    expect(states.map((s) => s?.lead.Id ?? null)).toEqual([leadId(2), null, leadId(1), null]);
    expect(states[0]!.lead.Industry).toBe('Retail');
    expect(await store.getLeadStates([])).toEqual([]);
  });

  it('upserts profiles and follows a change of matched account', async () => {
    await store.putAccountLinks([
      { accountId: 'A1', erpAccountNumber: 'E-1' },
      { accountId: 'A2', erpAccountNumber: 'E-2' },
    ]);
    await store.putErpRows([
      erpRow('E-1', '2026-03-01', { products_held: 1 }),
      erpRow('E-2', '2026-03-01', { products_held: 2 }),
    ]);
    await store.putLeads([leadOf(1, { Matched_Account__c: 'A1' })]);
    expect((await store.getLeadStates([leadId(1)]))[0]!.erp?.products_held).toBe(1);
    await store.putLeads([leadOf(1, { Matched_Account__c: 'A2', Title: 'Intern' })]);
    const [moved] = await store.getLeadStates([leadId(1)]);
    expect(moved!.erp?.products_held).toBe(2);
    expect(moved!.lead.Title).toBe('Intern');
    await store.putLeads([leadOf(1, { Matched_Account__c: null })]);
    expect((await store.getLeadStates([leadId(1)]))[0]!.erp).toBeNull();
  });

  it('applies a redelivered event once, within and across batches', async () => {
    await store.putLeads([leadOf(1)]);
    const a = eventOf(1, 'web_visit', t0 - DAY);
    const b = eventOf(1, 'web_visit', t0 - 2 * DAY);
    expect(await store.applyEvents([a, b, a])).toEqual({
      applied: 2,
      duplicates: 1,
      unknownLeads: [],
      affectedLeadIds: [leadId(1)],
    });
    expect(await store.applyEvents([b, a])).toEqual({
      applied: 0,
      duplicates: 2,
      unknownLeads: [],
      affectedLeadIds: [],
    });
    const [state] = await store.getLeadStates([leadId(1)]);
    expect(state!.events.total('web_visit')).toBe(2);
    expect(state!.events.countInWindow('web_visit', 7, t0)).toBe(2);
  });

  it('keeps events of a lead whose profile has not arrived yet, and reports it', async () => {
    const early = eventOf(7, 'form_fill', t0 - 60_000);
    const result = await store.applyEvents([early]);
    expect(result.unknownLeads).toEqual([leadId(7)]);
    expect(await store.getLeadStates([leadId(7)])).toEqual([null]);
    await store.putLeads([leadOf(7)]);
    const [state] = await store.getLeadStates([leadId(7)]);
    expect(state!.events.total('form_fill')).toBe(1);
    expect(state!.events.lastAt('form_fill')).toBe(t0 - 60_000);
  });

  it('gives the same aggregates as folding in TS, whatever order events arrive in', async () => {
    let n = 100;
    const event = fc.record({
      type: fc.constantFrom(...EVENT_TYPES.slice(0, 3)),
      // 70 days back, so late arrivals fall before the 30-day window of the newest bucket
      ageMs: fc.integer({ min: 0, max: 70 * DAY }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        async (drawn, batches) => {
          const lead = leadOf(++n);
          await store.putLeads([lead]);
          const events = drawn.map((d) => eventOf(lead.Id, d.type, t0 - d.ageMs));
          // arrival order is the drawn order, not occurrence order, and split into several batches
          const size = Math.ceil(events.length / batches);
          for (let i = 0; i < events.length; i += size) await store.applyEvents(events.slice(i, i + size));
          const [state] = await store.getLeadStates([lead.Id]);
          const instants = [
            t0,
            t0 - 5 * DAY,
            t0 - 29 * DAY,
            Math.floor(t0 / DAY) * DAY,
            Math.floor(t0 / DAY) * DAY - 1,
          ];
          expectSameAggregates(state!.events, folded(events), instants);
        },
      ),
      { numRuns: kind === 'redis' ? 40 : 100 },
    );
  });

  it('keeps the newest extract row per account and per lead', async () => {
    await store.putLeads([leadOf(1, { Matched_Account__c: 'A1' })]);
    await store.putAccountLinks([{ accountId: 'A1', erpAccountNumber: 'E-1' }]);
    const erpOf = async () => (await store.getLeadStates([leadId(1)]))[0]!.erp;
    const mktOf = async () => (await store.getLeadStates([leadId(1)]))[0]!.marketing;

    await store.putErpRows([erpRow('E-1', '2026-03-08', { products_held: 8 })]);
    await store.putErpRows([erpRow('E-1', '2026-03-05', { products_held: 5 })]); // older: ignored
    expect(await erpOf()).toMatchObject({ extract_date: '2026-03-08', products_held: 8 });
    // in one batch, order does not matter either
    await store.putErpRows([
      erpRow('E-1', '2026-03-09', { products_held: 9 }),
      erpRow('E-1', '2026-03-07', { products_held: 7 }),
    ]);
    expect(await erpOf()).toMatchObject({ extract_date: '2026-03-09', products_held: 9 });
    // a corrected row of the same date replaces it, as offline
    await store.putErpRows([erpRow('E-1', '2026-03-09', { products_held: 10 })]);
    expect(await erpOf()).toMatchObject({ extract_date: '2026-03-09', products_held: 10 });

    await store.putMarketingRows([marketingRow(1, '2026-03-09', { intent_score: 90 })]);
    await store.putMarketingRows([marketingRow(1, '2026-03-02', { intent_score: 10 })]);
    expect(await mktOf()).toMatchObject({ extract_date: '2026-03-09', intent_score: 90 });
  });

  it('refuses data of the other region, naming it, and writes nothing of the batch', async () => {
    const refusal = (promise: Promise<unknown>) => expect(promise).rejects.toThrow(/region US .*EU store/);
    await refusal(store.putLeads([leadOf(1), leadOf(2, { Data_Region__c: 'US' })]));
    expect(await store.getLeadStates([leadId(1), leadId(2)])).toEqual([null, null]);

    await store.putLeads([leadOf(3)]);
    await refusal(
      store.applyEvents([eventOf(3, 'web_visit', t0), eventOf(3, 'web_visit', t0, { region: 'US' })]),
    );
    expect((await store.getLeadStates([leadId(3)]))[0]!.events.total('web_visit')).toBe(0);

    await refusal(store.putErpRows([{ ...erpRow('E-9', '2026-03-01'), region: 'US' }]));
    await refusal(store.putMarketingRows([{ ...marketingRow(3, '2026-03-01'), region: 'US' }]));
    await refusal(store.putAccountLinks([{ accountId: 'A9', erpAccountNumber: 'E-9', region: 'US' }]));
    expect((await store.getLeadStates([leadId(3)]))[0]!.marketing).toBeNull();

    const error = await store.putLeads([leadOf(4, { Data_Region__c: 'US' })]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedInputError);
    expect((error as RefusedInputError).refused).toEqual([
      { index: 0, id: leadId(4), reason: 'region US does not belong in the EU store' },
    ]);
  });

  it('keeps a US store free of EU data the same way', async () => {
    const us = harness.open('US');
    await expect(us.putLeads([leadOf(1)])).rejects.toThrow(/region EU .*US store/);
    await expect(us.applyEvents([eventOf(1, 'web_visit', t0)])).rejects.toThrow(/region EU/);
    expect(await us.leadIds()).toEqual({ ids: [], cursor: null });
  });

  it('refuses events from the future and extract rows dated after today (UTC)', async () => {
    await store.putLeads([leadOf(1, { Matched_Account__c: 'A1' })]);
    await expect(store.applyEvents([eventOf(1, 'web_visit', t0 + 6 * 60_000)])).rejects.toThrow(
      /in the future/,
    );
    expect((await store.applyEvents([eventOf(1, 'web_visit', t0 + 4 * 60_000)])).applied).toBe(1);

    await expect(store.putErpRows([erpRow('E-1', '2026-03-11')])).rejects.toThrow(/after today \(2026-03-10/);
    await expect(store.putMarketingRows([marketingRow(1, '2026-03-11')])).rejects.toThrow(/after today/);
    await store.putErpRows([erpRow('E-1', '2026-03-10')]);
    clock = Date.parse('2026-03-11T00:00:00Z'); // the next UTC day has begun: its rows are known
    await store.putMarketingRows([marketingRow(1, '2026-03-11')]);
    expect((await store.getLeadStates([leadId(1)]))[0]!.marketing?.extract_date).toBe('2026-03-11');
  });

  it('iterates every lead exactly once, also while leads are being added', async () => {
    const leads = Array.from({ length: 1500 }, (_, i) => leadOf(1000 + i));
    await store.putLeads(leads);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.leadIds(cursor, 100);
      seen.push(...page.ids);
      cursor = page.cursor ?? undefined;
      if (++pages === 3) await store.putLeads([leadOf(9000), leadOf(1000)]); // one new, one upsert
    } while (cursor !== undefined);
    expect(seen.length).toBe(new Set(seen).size);
    const original = new Set(leads.map((l) => l.Id));
    expect(seen.filter((id) => original.has(id)).length).toBe(leads.length);
    expect(pages).toBeGreaterThan(3);
    expect(seen.every((id) => original.has(id) || id === leadId(9000))).toBe(true);
  });

  it('measures a round trip', async () => {
    expect(await store.ping()).toBeGreaterThanOrEqual(0);
  });
});

describe('redis store specifics', () => {
  let harness: Harness;
  beforeEach(() => {
    clock = t0;
    harness = redisHarness();
  });
  afterEach(() => harness.cleanup());

  /** Commands the server received from one named connection while `action` ran (scripts' inner calls excluded). */
  async function commandsSentBy(
    connectionName: string,
    store: OnlineFeatureStore,
    action: () => Promise<unknown>,
  ) {
    const admin = new Redis(REDIS_URL);
    const clients = (await admin.client('LIST')) as string;
    const line = clients.split('\n').find((l) => l.includes(` name=${connectionName} `));
    const addr = / addr=(\S+)/.exec(line ?? '')?.[1];
    if (!addr) throw new Error(`connection ${connectionName} not found`);
    const monitor = await admin.monitor();
    const seen: string[] = [];
    let sawMarker: () => void = () => {};
    const marker = new Promise<void>((resolve) => (sawMarker = resolve));
    let recording = false;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== addr) return;
      const name = args[0]!.toLowerCase();
      if (name === 'ping') return recording ? sawMarker() : undefined;
      if (recording) seen.push(name);
    });
    await store.ping(); // the monitor sees traffic from here on
    recording = true;
    await action();
    await store.ping();
    await marker;
    monitor.disconnect();
    admin.disconnect();
    return seen;
  }

  it('reads a batch of leads in one command', async () => {
    const name = `lrtest-${randomUUID()}`;
    const store = harness.open('EU', { redisOptions: { connectionName: name } });
    const leads = Array.from({ length: 100 }, (_, i) => leadOf(i + 1, { Matched_Account__c: 'A1' }));
    await store.putLeads(leads);
    await store.putAccountLinks([{ accountId: 'A1', erpAccountNumber: 'E-1' }]);
    await store.putErpRows([erpRow('E-1', '2026-03-01')]);
    await store.getLeadStates([leadId(1)]); // first use on a connection sends the script itself
    let states: unknown[] = [];
    const sent = await commandsSentBy(name, store, async () => {
      states = await store.getLeadStates(leads.map((l) => l.Id));
    });
    expect(sent).toEqual(['evalsha']);
    expect(states.filter((s) => s !== null)).toHaveLength(100);
  });

  it('sums concurrent updates of one lead from two processes exactly, and dedups across them', async () => {
    const first = harness.open();
    const second = harness.open();
    await first.putLeads([leadOf(1)]);
    const spread = (i: number) => t0 - (i % 20) * DAY - i;
    const mine = Array.from({ length: 600 }, (_, i) => eventOf(1, 'web_visit', spread(i)));
    const theirs = Array.from({ length: 600 }, (_, i) => eventOf(1, 'web_visit', spread(i + 7)));
    const shared = Array.from({ length: 300 }, (_, i) => eventOf(1, 'email_click', spread(i)));
    const inBatches = async (store: OnlineFeatureStore, events: EngagementEvent[]) => {
      let applied = 0;
      for (let i = 0; i < events.length; i += 50)
        applied += (await store.applyEvents(events.slice(i, i + 50))).applied;
      return applied;
    };
    const [a, b, c, d] = await Promise.all([
      inBatches(first, mine),
      inBatches(second, theirs),
      inBatches(first, shared),
      inBatches(second, shared),
    ]);
    expect(a + b).toBe(1200);
    expect(c + d).toBe(300); // each shared event applied by exactly one of the two
    const [state] = await first.getLeadStates([leadId(1)]);
    expectSameAggregates(state!.events, folded([...mine, ...theirs, ...shared]), [t0, t0 - 10 * DAY]);
  });

  it('keeps no personal data in Redis, drops old day buckets, and expires dedup keys', async () => {
    const keyPrefix = `lrtest:pii:${randomUUID()}`;
    const store = createRedisStore(REDIS_URL, 'EU', { ...storeOptions, keyPrefix, logger: silent });
    const redis = new Redis(REDIS_URL);
    try {
      await store.putLeads([leadOf(1)]);
      const events = Array.from({ length: 70 }, (_, i) => eventOf(1, 'web_visit', t0 - i * DAY));
      await store.applyEvents(events.reverse()); // oldest first, as they happened
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000);
        keys.push(...found);
        cursor = next;
      } while (cursor !== '0');
      const dump = [...keys];
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'hash') dump.push(...Object.entries(await redis.hgetall(key)).flat());
        else if (type === 'string') dump.push((await redis.get(key)) ?? '');
      }
      const text = dump.join('\n');
      for (const pii of [
        baseLead.FirstName,
        baseLead.LastName,
        baseLead.Phone,
        baseLead.Street,
        baseLead.Email,
        'anna.schmidt',
        'gmx.de', // not even the domain: the free-mail flag is all the feature needs
        '@',
      ])
        expect(text).not.toContain(pii!);

      await store.applyEvents([eventOf(1, 'web_visit', t0 - 45 * DAY)]); // late and outside the window
      const fields = await redis.hkeys(`${keyPrefix}:{EU}:state:${leadId(1)}`);
      const days = fields.filter((f) => f.startsWith('d')).map((f) => Number(f.split(':')[1]));
      expect(days).toHaveLength(30);
      expect(Math.min(...days)).toBe(Math.floor(t0 / DAY) - 29);

      const seenKeys = keys.filter((k) => k.includes(':seen:'));
      expect(seenKeys).toHaveLength(70);
      const ttl = await redis.pttl(seenKeys[0]!);
      expect(ttl).toBeGreaterThan(2 * DAY);
      expect(ttl).toBeLessThanOrEqual(3 * DAY);
    } finally {
      await store.close();
      redis.disconnect();
      await deleteKeys(keyPrefix);
    }
  });

  it('is what createStoreFromEnv builds when REDIS_URL is set, and the embedded store otherwise', async () => {
    const keyPrefix = `lrtest:env:${randomUUID()}`;
    const env = { REDIS_URL, LEADRANK_REDIS_PREFIX: keyPrefix };
    const fromEnv = createStoreFromEnv(env, 'EU', { ...storeOptions, logger: silent });
    const direct = createRedisStore(REDIS_URL, 'EU', { ...storeOptions, keyPrefix, logger: silent });
    const embedded = createStoreFromEnv({}, 'EU', storeOptions);
    try {
      await fromEnv.putLeads([leadOf(1)]);
      expect((await direct.getLeadStates([leadId(1)]))[0]?.lead.Id).toBe(leadId(1));
      expect(await embedded.getLeadStates([leadId(1)])).toEqual([null]);
      expect(embedded.region).toBe('EU');
    } finally {
      await Promise.all([fromEnv.close(), direct.close(), embedded.close()]);
      await deleteKeys(keyPrefix);
    }
  });
});
