// Training/serving skew: a history replayed through the ONLINE store, in time order, must give at every
// instant exactly the vectors the OFFLINE builder (`featuresAsOf`) computes from the same history.
// The history is generated here with a seeded PRNG (crm-generator has no history API yet).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_SPECS } from './fixtures/shipped-specs.js';
import {
  LEAD_CONVERSION_FEATURES,
  computeFeatures,
  featuresAsOf,
  type FeatureDefinition,
  type FeatureValue,
  type LeadFieldChange,
  type LeadHistory,
} from '../src/features/index.js';
import {
  EVENT_TYPES,
  LEAD_PROFILE_FIELDS,
  OPPORTUNITY_SYNC_FIELDS,
  knownFromMs,
  leadProfileSchema,
  type ContextRow,
  type EngagementEvent,
  type ErpExtractRow,
  type EventType,
  type LeadProfile,
  type MarketingExtractRow,
} from '../src/inputs/index.js';
import { createInProcessStore, createRedisStore, type OnlineFeatureStore } from '../src/store/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');
const EVENTS_END = START + 60 * DAY;
const LAST_ARRIVAL = EVENTS_END + 3 * DAY;

interface GeneratedEvent {
  event: EngagementEvent;
  occurredAtMs: number;
  arrivals: number[]; // first delivery, then any redeliveries
}

interface GeneratedLead {
  created: LeadProfile;
  createdAtMs: number;
  changes: (LeadFieldChange & { profile: LeadProfile })[]; // profile = the lead after the change
  events: GeneratedEvent[];
  marketingRows: MarketingExtractRow[];
  erpAccountNumber: string | null;
}

interface GeneratedHistory {
  leads: GeneratedLead[];
  erpRows: Map<string, ErpExtractRow[]>;
  /** Dated context rows (config/features/lead-campaign-context.json's contexts), each announced ahead of its date. */
  contextRows: ContextRow[];
  contextDeliveries: { at: number; row: ContextRow }[];
  links: { accountId: string; erpAccountNumber: string }[];
  instants: number[];
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const sfDateTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

/**
 * Custom fields the shipped specs read beyond the fixed lead profile (X Education's): every generated lead gets
 * a value (or null) for each, as the org returns them (strings), so the replay compares real values through the
 * store's custom bag (inputs/lead-profile.ts `custom`, store/profile-codec.ts).
 */
const NUMERIC_CUSTOM = [
  'Web_Visits__c',
  'Web_Time_On_Site__c',
  'Web_Pages_Per_Visit__c',
  'Asym_Activity_Score__c',
  'Asym_Profile_Score__c',
];
const BOOLEAN_CUSTOM = [
  'Ad_Search__c',
  'Ad_Magazine__c',
  'Ad_Newspaper_Article__c',
  'Ad_Forums__c',
  'Ad_Newspaper__c',
  'Ad_Digital__c',
  'Ad_Recommendation__c',
  'Free_Copy_Requested__c',
];
const TEXT_CUSTOM = [
  'City_Bucket__c',
  'Specialization__c',
  'Occupation__c',
  'What_Matters_Most__c',
  'Heard_About_Us__c',
  'Tags__c',
  'Lead_Quality__c',
  'Lead_Profile__c',
  'Asym_Activity_Index__c',
  'Asym_Profile_Index__c',
  'Last_Activity__c',
  'Last_Notable_Activity__c',
];

function generateHistory(seed: number, leadCount: number, accountCount: number): GeneratedHistory {
  const rng = xoroshiro128plus(seed);
  const int = (min: number, max: number) => uniformInt(rng, min, max);
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const chance = (p: number) => int(0, 9_999) < p * 10_000;

  const links = Array.from({ length: accountCount }, (_, i) => ({
    accountId: `001${String(i).padStart(12, '0')}AAA`,
    erpAccountNumber: `E-${String(i).padStart(5, '0')}`,
  }));
  const erpRows = new Map<string, ErpExtractRow[]>();
  for (const { erpAccountNumber } of links) {
    const rows: ErpExtractRow[] = [];
    let revenue = int(0, 500_000);
    for (let day = int(-10, 20); day <= 63; day += int(1, 12)) {
      revenue += int(-20_000, 40_000);
      rows.push({
        erp_account_number: erpAccountNumber,
        extract_date: isoDay(START + day * DAY),
        is_customer: revenue > 100_000,
        erp_revenue: chance(0.1) ? null : revenue / 100,
        products_held: int(0, 6),
        payment_status: pick(['current', 'late', 'delinquent', null]),
      });
    }
    erpRows.set(erpAccountNumber, rows);
  }

  const leads: GeneratedLead[] = [];
  for (let n = 0; n < leadCount; n++) {
    const createdAtMs = START + int(0, 45 * DAY);
    const link = chance(0.6) ? pick(links) : null;
    const created: LeadProfile = leadProfileSchema.parse({
      Id: `00Q${String(n).padStart(12, '0')}AAA`,
      CreatedDate: sfDateTime(createdAtMs),
      LeadSource: pick(['Web', 'Partner', 'Trade Show', null]),
      Industry: pick(['Technology', 'Retail', 'Finance', 'Healthcare', null]),
      NumberOfEmployees: chance(0.2) ? null : int(1, 20_000),
      AnnualRevenue: chance(0.3) ? null : int(0, 10_000_000) / 7,
      Country: pick(['Germany', 'France', 'Spain', null]),
      Lead_Origin__c: pick(['Form', 'Import', 'API']),
      HasOptedOutOfEmail: chance(0.1),
      DoNotCall: chance(0.1),
      Data_Region__c: 'EU',
      Matched_Account__c: link?.accountId ?? null,
      Title: pick(['CEO', 'Head of IT', 'IT Director', 'Sales Manager', 'Engineer', 'Student', null]),
      Company: `Company ${n}`,
      Email: pick([`p${n}@gmail.com`, `p${n}@acme${n % 7}.de`, `p${n}@GMX.DE`, 'no-at-sign', null]),
      Phone: `+49 30 ${String(n).padStart(7, '0')}`,
      FirstName: `First${n}`,
      LastName: `Last${n}`,
      Street: `Street ${n}`,
      custom: Object.fromEntries([
        ...NUMERIC_CUSTOM.map((f) => [f, chance(0.2) ? null : String(int(0, 5000) / 100)]),
        ...BOOLEAN_CUSTOM.map((f) => [f, pick(['true', 'false', null])]),
        ...TEXT_CUSTOM.map((f) => [f, chance(0.1) ? null : pick(['Alpha', 'Beta', 'Gamma', 'Delta'])]),
      ]),
    });

    const changes: GeneratedLead['changes'] = [];
    let current = created;
    for (let c = chance(0.3) ? int(1, 3) : 0; c > 0; c--) {
      const changedAtMs = createdAtMs + int(60_000, 20 * DAY);
      const change = pick<[keyof LeadProfile, LeadProfile[keyof LeadProfile]]>([
        ['Industry', pick(['Retail', 'Energy', null])],
        ['Title', pick(['VP Sales', 'Intern', null])],
        ['Email', pick([`q${n}@yahoo.com`, `q${n}@corp.eu`])],
        ['NumberOfEmployees', int(1, 500)],
        ['DoNotCall', true],
      ]);
      changes.push({ field: change[0], value: change[1], changedAtMs, profile: created });
    }
    changes.sort((a, b) => a.changedAtMs - b.changedAtMs);
    for (const change of changes) current = change.profile = { ...current, [change.field]: change.value };

    const events: GeneratedEvent[] = [];
    const burstAt = createdAtMs + int(0, 30 * DAY); // engagement clusters, so 7-day windows matter
    for (let e = int(0, 22); e > 0; e--) {
      const occurredAtMs = Math.min(
        EVENTS_END,
        chance(0.5) ? burstAt + int(0, 6 * DAY) : createdAtMs + int(0, EVENTS_END - createdAtMs),
      );
      const first = chance(0.15) ? occurredAtMs + int(60_000, 3 * DAY) : occurredAtMs; // late delivery
      const arrivals = chance(0.05) ? [first, first + int(0, 2 * DAY)] : [first]; // redelivery
      const type: EventType = chance(0.3) ? 'pricing_page_visit' : pick(EVENT_TYPES);
      events.push({
        occurredAtMs,
        arrivals,
        event: {
          eventId: `ev-${n}-${e}`,
          leadId: created.Id,
          type,
          occurredAt: new Date(occurredAtMs).toISOString(),
          region: 'EU',
        },
      });
    }

    const marketingRows: MarketingExtractRow[] = [];
    for (let m = int(0, 4); m > 0; m--) {
      marketingRows.push({
        lead_id: created.Id,
        extract_date: isoDay(createdAtMs + int(0, 40) * DAY),
        campaign_count: chance(0.1) ? null : int(0, 12),
        last_campaign: pick(['Spring Promo', 'Webinar Q1', null]),
        intent_score: chance(0.2) ? null : int(0, 1000) / 10,
        intent_topic: pick(['crm', 'analytics', null]),
      });
    }
    leads.push({
      created,
      createdAtMs,
      changes,
      events,
      marketingRows,
      erpAccountNumber: link?.erpAccountNumber ?? null,
    });
  }

  // Context rows: per campaign (keyed by LeadSource) and one global market row, each delivered up to 10 days
  // before it takes effect (serving must not use it early); market rows take effect exactly at two instants.
  const contextRows: ContextRow[] = [];
  for (const key of ['Web', 'Partner', 'Trade Show']) {
    for (let day = int(-20, 0); day <= 63; day += int(3, 15)) {
      contextRows.push({
        context: 'campaign',
        key,
        effective_from: isoDay(START + day * DAY),
        values: {
          cost_per_lead: chance(0.1) ? null : int(100, 5000) / 10,
          channel: pick(['Paid Search', 'EVENTS', 'events', null]),
          active: pick([true, false, null]),
        },
      });
    }
  }
  const marketDays = new Set([20, 41]);
  for (let day = int(-10, 0); day <= 63; day += int(1, 4)) marketDays.add(day);
  for (const day of [...marketDays].sort((a, b) => a - b)) {
    contextRows.push({
      context: 'market',
      key: '*',
      effective_from: isoDay(START + day * DAY),
      values: { index_level: int(800, 1200) / 10, outlook: pick(['down', 'flat', 'up', 'sideways', null]) },
    });
  }
  const contextDeliveries = contextRows.map((row) => ({
    at: knownFromMs(row.effective_from) - int(0, 10 * DAY),
    row,
  }));

  // Random times of day, plus the edges of UTC days where day windows turn over; the last sees everything.
  const instants = [
    ...Array.from({ length: 12 }, (_, i) => START + (4 + 5 * i) * DAY + int(0, DAY - 1)),
    START + 20 * DAY,
    START + 20 * DAY - 1,
    START + 41 * DAY,
    START + 41 * DAY - 1,
    LAST_ARRIVAL,
  ].sort((a, b) => a - b);
  return { leads, erpRows, contextRows, contextDeliveries, links, instants };
}

/** The offline view at `asOfMs`: everything delivered by then (a late event counts once it has arrived). */
function offlineHistory(
  g: GeneratedLead,
  erpRows: Map<string, ErpExtractRow[]>,
  contextRows: ContextRow[],
  asOfMs: number,
): LeadHistory {
  return {
    lead: g.created,
    fieldChanges: g.changes.map(({ field, value, changedAtMs }) => ({ field, value, changedAtMs })),
    events: g.events
      .filter((e) => e.arrivals[0]! <= asOfMs)
      .map((e) => ({ type: e.event.type, occurredAtMs: e.occurredAtMs })),
    erpRows: g.erpAccountNumber === null ? [] : (erpRows.get(g.erpAccountNumber) ?? []),
    marketingRows: g.marketingRows,
    // every row: the builder itself must keep rows effective after the instant out
    contextRows,
  };
}

type TimelineItem =
  | { at: number; kind: 'lead'; lead: LeadProfile }
  | { at: number; kind: 'event'; event: EngagementEvent }
  | { at: number; kind: 'erp'; row: ErpExtractRow }
  | { at: number; kind: 'marketing'; row: MarketingExtractRow }
  | { at: number; kind: 'context'; row: ContextRow }
  | { at: number; kind: 'instant' };

// Within one millisecond: data first (offline sees what happened at t), the comparison last.
const KIND_ORDER = { lead: 0, erp: 1, marketing: 2, context: 3, event: 4, instant: 5 } as const;

function timelineOf(h: GeneratedHistory): TimelineItem[] {
  const items: TimelineItem[] = [];
  for (const g of h.leads) {
    items.push({ at: g.createdAtMs, kind: 'lead', lead: g.created });
    for (const c of g.changes) items.push({ at: c.changedAtMs, kind: 'lead', lead: c.profile });
    for (const e of g.events) for (const at of e.arrivals) items.push({ at, kind: 'event', event: e.event });
    for (const row of g.marketingRows)
      items.push({ at: knownFromMs(row.extract_date), kind: 'marketing', row });
  }
  for (const rows of h.erpRows.values())
    for (const row of rows) items.push({ at: knownFromMs(row.extract_date), kind: 'erp', row });
  for (const { at, row } of h.contextDeliveries) items.push({ at, kind: 'context', row });
  for (const at of h.instants) items.push({ at, kind: 'instant' });
  return items.sort((a, b) => a.at - b.at || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
}

interface Mismatch {
  leadId: string;
  asOfMs: number;
  feature: string;
  online: FeatureValue | undefined;
  offline: FeatureValue | undefined;
}

interface ReplayReport {
  vectorsCompared: number;
  mismatches: Mismatch[];
  duplicatesSeen: number;
  nonZeroWindowValues: number;
  withErp: number;
  withMarketing: number;
  /** Values of context features that were set (a row in effect for the lead's key). */
  contextValues: number;
}

/** Feeds the timeline to the store as the clock advances, and compares online with offline at each instant. */
async function replay(
  h: GeneratedHistory,
  store: OnlineFeatureStore,
  setClock: (ms: number) => void,
  onlineFeatures: readonly FeatureDefinition[],
  offlineFeatures: readonly FeatureDefinition[] = onlineFeatures,
): Promise<ReplayReport> {
  const report: ReplayReport = {
    vectorsCompared: 0,
    mismatches: [],
    duplicatesSeen: 0,
    nonZeroWindowValues: 0,
    withErp: 0,
    withMarketing: 0,
    contextValues: 0,
  };
  const contextual = offlineFeatures.flatMap((f, i) => (f.source.kind === 'context' ? [i] : []));
  const byId = new Map(h.leads.map((g) => [g.created.Id, g]));
  const windowed = offlineFeatures.flatMap((f, i) =>
    f.source.kind === 'events' && f.source.windowDays ? [i] : [],
  );
  setClock(START - 30 * DAY);
  await store.putAccountLinks(h.links);

  const items = timelineOf(h);
  for (let i = 0; i < items.length;) {
    // consecutive items of one kind go in one call, with the clock at the last one's time
    let j = i + 1;
    while (j < items.length && items[j]!.kind === items[i]!.kind && items[i]!.kind !== 'instant') j++;
    const batch = items.slice(i, j);
    const first = batch[0]!;
    setClock(batch[batch.length - 1]!.at);
    i = j;
    if (first.kind === 'lead')
      await store.putLeads(batch.map((b) => (b as Extract<TimelineItem, { kind: 'lead' }>).lead));
    else if (first.kind === 'event') {
      const result = await store.applyEvents(
        batch.map((b) => (b as Extract<TimelineItem, { kind: 'event' }>).event),
      );
      report.duplicatesSeen += result.duplicates;
    } else if (first.kind === 'erp')
      await store.putErpRows(batch.map((b) => (b as Extract<TimelineItem, { kind: 'erp' }>).row));
    else if (first.kind === 'marketing')
      await store.putMarketingRows(batch.map((b) => (b as Extract<TimelineItem, { kind: 'marketing' }>).row));
    else if (first.kind === 'context')
      await store.putContextRows(batch.map((b) => (b as Extract<TimelineItem, { kind: 'context' }>).row));
    else {
      const asOfMs = first.at;
      const existing = h.leads.filter((g) => g.createdAtMs <= asOfMs).map((g) => g.created.Id);
      const states = await store.getLeadStates(existing);
      states.forEach((state, k) => {
        const id = existing[k]!;
        expect(state, `lead ${id} at ${new Date(asOfMs).toISOString()}`).not.toBeNull();
        const online = computeFeatures(onlineFeatures, state!, asOfMs);
        const offline = featuresAsOf(
          offlineFeatures,
          offlineHistory(byId.get(id)!, h.erpRows, h.contextRows, asOfMs),
          asOfMs,
        );
        report.vectorsCompared++;
        if (state!.erp) report.withErp++;
        if (state!.marketing) report.withMarketing++;
        report.nonZeroWindowValues += windowed.filter((f) => offline[f] !== 0).length;
        report.contextValues += contextual.filter((f) => offline[f] !== null).length;
        offline.forEach((value, f) => {
          if (!Object.is(online[f], value))
            report.mismatches.push({
              leadId: id,
              asOfMs,
              feature: offlineFeatures[f]!.name,
              online: online[f],
              offline: value,
            });
        });
      });
    }
  }
  return report;
}

const history = generateHistory(20260310, 320, 60);
const eventDeliveries = history.leads.reduce(
  (n, g) => n + g.events.reduce((m, e) => m + e.arrivals.length, 0),
  0,
);

/**
 * The store that serves each spec's object: leads from the lead profile (its fixed fields and the custom bag the
 * generated histories carry); opportunities from the opportunity store (store/opportunity-store.ts), which keeps
 * the fields the opportunity sync reads, Account's dotted. The opportunity spec's own training/serving parity is in
 * opportunity-features.test.ts (this replay runs lead histories, where a deal's fields are all missing on both sides).
 */
const STORE_FIELDS: Record<string, readonly string[]> = { 'opportunity.json': OPPORTUNITY_SYNC_FIELDS };

describe.each(SHIPPED_SPECS)('the online store and %s', (file, features) => {
  it('carries every field the spec reads: the lead profile and its custom bag, or the opportunity store', () => {
    const read = [...new Set(features.flatMap((f) => (f.source.kind === 'crm' ? f.source.fields : [])))];
    const carried = new Set<string>(
      STORE_FIELDS[file] ?? [...LEAD_PROFILE_FIELDS, ...NUMERIC_CUSTOM, ...BOOLEAN_CUSTOM, ...TEXT_CUSTOM],
    );
    expect(read.filter((f) => !carried.has(f))).toEqual([]);
  });
});

describe('training/serving skew', () => {
  it('replays a realistic slice of history', () => {
    expect(history.leads.length).toBeGreaterThanOrEqual(300);
    expect(eventDeliveries).toBeGreaterThan(2000);
    expect([...history.erpRows.values()].flat().length).toBeGreaterThan(300);
    expect(history.leads.flatMap((g) => g.marketingRows).length).toBeGreaterThan(300);
    expect(history.contextRows.length).toBeGreaterThan(30);
    // some rows arrive days before they take effect: serving must not use them early
    expect(
      history.contextDeliveries.filter((d) => d.at < knownFromMs(d.row.effective_from) - DAY).length,
    ).toBeGreaterThan(10);
  });

  it('has a shipped spec reading dated context, so the replay covers it', () => {
    expect(SHIPPED_SPECS.some(([, features]) => features.some((f) => f.source.kind === 'context'))).toBe(
      true,
    );
  });

  describe.each(
    SHIPPED_SPECS.flatMap(([file, features]) =>
      (['in-process', 'redis'] as const).map((kind) => [file, kind, features] as const),
    ),
  )('spec %s through the %s store', (_file, kind, features) => {
    let clock = START;
    let store: OnlineFeatureStore;
    const keyPrefix = `lrtest:skew:${randomUUID()}`;

    beforeAll(() => {
      const opts = { now: () => clock };
      store =
        kind === 'redis'
          ? createRedisStore(REDIS_URL, 'EU', {
              ...opts,
              keyPrefix,
              indexBuckets: 256,
              logger: pino({ level: 'silent' }),
            })
          : createInProcessStore('EU', opts);
    });

    afterAll(async () => {
      await store.close();
      if (kind !== 'redis') return;
      const redis = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000);
        if (keys.length) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    });

    it('gives exactly the offline vectors at every instant', async () => {
      const report = await replay(history, store, (ms) => (clock = ms), features);
      expect(report.mismatches.slice(0, 5)).toEqual([]);
      // the comparison covered the parts that can drift: windows, late and repeated events, both extracts
      expect(report.vectorsCompared).toBeGreaterThan(2500);
      if (features.some((f) => f.source.kind === 'events' && f.source.windowDays))
        expect(report.nonZeroWindowValues).toBeGreaterThan(1000);
      expect(report.duplicatesSeen).toBeGreaterThan(10);
      expect(report.withErp).toBeGreaterThan(500);
      expect(report.withMarketing).toBeGreaterThan(500);
      if (features.some((f) => f.source.kind === 'context'))
        expect(report.contextValues).toBeGreaterThan(2000);
    });
  });

  it('catches leakage at serving: a store answering with a row announced ahead, before its date, mismatches', async () => {
    const features = SHIPPED_SPECS.find(([file]) => file === 'lead-campaign-context.json')![1];
    let clock = START;
    const inner = createInProcessStore('EU', { now: () => clock });
    // the latest delivered row of each key, whatever its effective date
    const early: OnlineFeatureStore = Object.assign(Object.create(inner) as OnlineFeatureStore, {
      getLeadStates: async (ids: string[]) =>
        (await inner.getLeadStates(ids)).map((s) =>
          s && s.context
            ? { ...s, context: { asOf: (c: string, k: string) => s.context!.asOf(c, k, Infinity) } }
            : s,
        ),
    });
    const report = await replay(history, early, (ms) => (clock = ms), features);
    expect(report.mismatches.length).toBeGreaterThan(0);
    expect(new Set(report.mismatches.map((m) => m.feature.split('_')[0]))).toEqual(
      new Set(['campaign', 'market']),
    );
  });

  it('catches skew: a serving copy with one wrong window mismatches', async () => {
    const wrong = LEAD_CONVERSION_FEATURES.map((f): FeatureDefinition =>
      f.name === 'pricing_page_visit_7d'
        ? { ...f, compute: (i, t) => i.events.countInWindow('pricing_page_visit', 8, t) }
        : f,
    );
    let clock = START;
    const report = await replay(
      history,
      createInProcessStore('EU', { now: () => clock }),
      (ms) => (clock = ms),
      wrong,
      LEAD_CONVERSION_FEATURES,
    );
    expect(report.mismatches.length).toBeGreaterThan(0);
    expect(new Set(report.mismatches.map((m) => m.feature))).toEqual(new Set(['pricing_page_visit_7d']));
  });
});
