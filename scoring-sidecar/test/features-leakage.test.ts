// Leakage is impossible by construction: a feature value at instant t depends only on what was known at t.
// Property: adding or altering anything that happens after t (events, extract rows, field changes) never
// changes the vector at t.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featuresAsOf, type FeatureDefinition, type LeadHistory } from '../src/features/index.js';
import { EVENT_TYPES } from '../src/inputs/index.js';
import { baseLead } from './fixtures/leads.js';
import { SHIPPED_SPECS } from './fixtures/shipped-specs.js';

const DAY = 86_400_000;
const start = Date.parse('2026-01-01T00:00:00Z');
const span = 120 * DAY;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const instant = fc.integer({ min: start, max: start + span });
const event = fc.record({ type: fc.constantFrom(...EVENT_TYPES), occurredAtMs: instant });
const erpRow = instant.chain((ms) =>
  fc.record({
    erp_account_number: fc.constant('E1'),
    extract_date: fc.constant(isoDay(ms)),
    is_customer: fc.boolean(),
    erp_revenue: fc.option(fc.integer({ min: 0, max: 1e7 }), { nil: null }),
    products_held: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null }),
    payment_status: fc.option(fc.constantFrom('current', 'late', 'default'), { nil: null }),
  }),
);
const marketingRow = instant.chain((ms) =>
  fc.record({
    lead_id: fc.constant(baseLead.Id),
    extract_date: fc.constant(isoDay(ms)),
    campaign_count: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
    last_campaign: fc.option(fc.constantFrom('Webinar Q1', 'Spring Promo'), { nil: null }),
    intent_score: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
    intent_topic: fc.option(fc.constantFrom('crm', 'analytics'), { nil: null }),
  }),
);
/** Dated context rows for every context column a spec reads, keyed by values a lead's field may hold. */
const contextRowsFor = (features: readonly FeatureDefinition[]) => {
  const columns = new Map<string, Set<string>>();
  for (const f of features)
    if (f.source.kind === 'context') {
      const set = columns.get(f.source.context) ?? new Set<string>();
      columns.set(f.source.context, set.add(f.source.column));
    }
  if (columns.size === 0) return fc.constant([]);
  const value = fc.oneof(
    fc.constant(null),
    fc.integer({ min: -5, max: 5000 }),
    fc.constantFrom('up', 'down', 'Paid', 'true'),
    fc.boolean(),
  );
  const row = fc.record({
    context: fc.constantFrom(...columns.keys()),
    key: fc.constantFrom('*', baseLead.LeadSource ?? 'Web', 'Partner', '42'),
    effective_from: instant.map(isoDay),
    values: fc.dictionary(fc.constantFrom(...new Set([...columns.values()].flatMap((c) => [...c]))), value),
  });
  return fc.array(row, { maxLength: 10 });
};
const fieldChange = fc.oneof(
  fc.record({
    field: fc.constant('Industry' as const),
    value: fc.constantFrom('Retail', 'Finance', null),
    changedAtMs: instant,
  }),
  fc.record({
    field: fc.constant('NumberOfEmployees' as const),
    value: fc.option(fc.nat(10_000), { nil: null }),
    changedAtMs: instant,
  }),
  fc.record({
    field: fc.constant('Title' as const),
    value: fc.constantFrom('CEO', 'Analyst', null),
    changedAtMs: instant,
  }),
  fc.record({
    field: fc.constant('Email' as const),
    value: fc.constantFrom('x@gmail.com', 'y@acme.com', null),
    changedAtMs: instant,
  }),
);
/** Fields a spec reads from the lead (custom fields included), so changes reach every spec's features. */
const fieldsOf = (features: readonly FeatureDefinition[]) => [
  ...new Set(features.flatMap((f) => (f.source.kind === 'crm' ? f.source.fields : []))),
];
const historyFor = (features: readonly FeatureDefinition[]) =>
  fc.record({
    events: fc.array(event, { maxLength: 40 }),
    erpRows: fc.array(erpRow, { maxLength: 6 }),
    marketingRows: fc.array(marketingRow, { maxLength: 6 }),
    contextRows: contextRowsFor(features),
    fieldChanges: fc.array(
      fc.oneof(
        fieldChange,
        fc.record({
          field: fc.constantFrom(...(fieldsOf(features) as (keyof typeof baseLead)[])),
          value: fc.constantFrom('42', 'true', 'Web', '2026-01-05T00:00:00.000+0000', null),
          changedAtMs: instant,
        }),
      ),
      { maxLength: 6 },
    ),
  });

/** Keeps what was known at t and replaces everything after it with `later`. */
function rewriteAfter(h: LeadHistory, t: number, later: Omit<LeadHistory, 'lead'>): LeadHistory {
  const known = (ms: number) => ms <= t;
  const dayKnown = (d: string) => Date.parse(`${d}T00:00:00Z`) <= t;
  const after = (ms: number) => ms > t;
  const dayAfter = (d: string) => Date.parse(`${d}T00:00:00Z`) > t;
  return {
    lead: h.lead,
    events: [
      ...h.events.filter((e) => known(e.occurredAtMs)),
      ...later.events.filter((e) => after(e.occurredAtMs)),
    ],
    erpRows: [
      ...h.erpRows.filter((r) => dayKnown(r.extract_date)),
      ...later.erpRows.filter((r) => dayAfter(r.extract_date)),
    ],
    marketingRows: [
      ...h.marketingRows.filter((r) => dayKnown(r.extract_date)),
      ...later.marketingRows.filter((r) => dayAfter(r.extract_date)),
    ],
    contextRows: [
      ...(h.contextRows ?? []).filter((r) => dayKnown(r.effective_from)),
      ...(later.contextRows ?? []).filter((r) => dayAfter(r.effective_from)),
    ],
    fieldChanges: [
      ...h.fieldChanges.filter((c) => known(c.changedAtMs)),
      ...later.fieldChanges.filter((c) => after(c.changedAtMs)),
    ],
  };
}

describe.each(SHIPPED_SPECS)('point-in-time features of %s', (_file, features) => {
  it('never change at t when anything after t is added, removed or altered', () => {
    const history = historyFor(features);
    fc.assert(
      fc.property(history, history, instant, (original, replacement, t) => {
        const h: LeadHistory = { lead: baseLead, ...original };
        const before = featuresAsOf(features, h, t);
        const after = featuresAsOf(features, rewriteAfter(h, t, replacement), t);
        expect(after).toEqual(before);
      }),
      { numRuns: 400 },
    );
  });

  it('do change when something at or before t changes (the property is not vacuous)', () => {
    const t = start + 30 * DAY;
    const h: LeadHistory = { lead: baseLead, events: [], erpRows: [], marketingRows: [], fieldChanges: [] };
    const withEvent = { ...h, events: [{ type: 'trial_signup' as const, occurredAtMs: t }] };
    const withChange = {
      ...withEvent,
      fieldChanges: fieldsOf(features).map((field) => ({
        field: field as keyof typeof baseLead,
        value: '42',
        changedAtMs: t,
      })),
      marketingRows: [
        {
          lead_id: baseLead.Id,
          extract_date: isoDay(t),
          campaign_count: 3,
          last_campaign: 'x',
          intent_score: 9,
          intent_topic: 'crm',
        },
      ],
    };
    expect(featuresAsOf(features, withChange, t)).not.toEqual(featuresAsOf(features, h, t));
  });
});
