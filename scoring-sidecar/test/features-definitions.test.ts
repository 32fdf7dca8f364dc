import { describe, expect, it } from 'vitest';
import {
  LEAD_CONVERSION_FEATURES,
  buildFeatureSpec,
  computeFeatures,
  encodeFeatures,
  featuresAsOf,
  featuresForSpec,
  titleSeniority,
  validateFeatureSet,
  type FeatureDefinition,
} from '../src/features/index.js';
import { EventAggregates } from '../src/inputs/index.js';
import { baseLead } from './fixtures/leads.js';

const DAY = 86_400_000;
const t0 = Date.parse('2026-03-10T12:00:00Z');

const valueOf = (values: unknown[], name: string) =>
  values[LEAD_CONVERSION_FEATURES.findIndex((f) => f.name === name)];

describe('the PII policy', () => {
  it('accepts the shipped feature set', () => {
    expect(validateFeatureSet(LEAD_CONVERSION_FEATURES)).toHaveLength(LEAD_CONVERSION_FEATURES.length);
  });

  it.each([
    ['Email', 'PII'],
    ['Phone', 'PII'],
    ['LastName', 'PII'],
    ['Street', 'PII'],
    ['Title', 'free-text'],
  ] as const)('refuses a feature that uses Lead.%s raw, naming the feature', (field, kind) => {
    const raw: FeatureDefinition = {
      name: `raw_${field.toLowerCase()}`,
      kind: 'categorical',
      source: { kind: 'crm', fields: [field] },
      description: 'raw',
      missing: null,
      compute: (i) => i.lead[field],
    };
    expect(() => validateFeatureSet([...LEAD_CONVERSION_FEATURES, raw])).toThrow(
      `feature "raw_${field.toLowerCase()}" uses ${kind} source Lead.${field} raw`,
    );
  });

  it('refuses duplicate feature names', () => {
    expect(() => validateFeatureSet([LEAD_CONVERSION_FEATURES[0]!, LEAD_CONVERSION_FEATURES[0]!])).toThrow(
      /defined twice/,
    );
  });

  it('never lets a PII value through into a feature vector', () => {
    const values = computeFeatures(
      LEAD_CONVERSION_FEATURES,
      { lead: baseLead, events: new EventAggregates(), erp: null, marketing: null },
      t0,
    );
    for (const pii of [
      baseLead.Email,
      baseLead.Phone,
      baseLead.FirstName,
      baseLead.LastName,
      baseLead.Street,
    ]) {
      expect(values).not.toContain(pii);
    }
    expect(valueOf(values, 'email_is_free_mail')).toBe(true);
    expect(valueOf(values, 'title_seniority')).toBe('vp');
  });
});

describe('feature values', () => {
  it('counts events in whole-UTC-day windows, lifetime totals and recency', () => {
    const events = [
      { type: 'pricing_page_visit' as const, occurredAtMs: t0 - 1 * DAY },
      { type: 'pricing_page_visit' as const, occurredAtMs: t0 - 6 * DAY },
      { type: 'pricing_page_visit' as const, occurredAtMs: t0 - 7 * DAY },
      { type: 'pricing_page_visit' as const, occurredAtMs: t0 - 20 * DAY },
      { type: 'email_open' as const, occurredAtMs: t0 - 2 * DAY },
    ];
    const history = { lead: baseLead, fieldChanges: [], events, erpRows: [], marketingRows: [] };
    const values = featuresAsOf(LEAD_CONVERSION_FEATURES, history, t0);
    expect(valueOf(values, 'pricing_page_visit_7d')).toBe(2);
    expect(valueOf(values, 'pricing_page_visit_30d')).toBe(4);
    expect(valueOf(values, 'pricing_page_visit_total')).toBe(4);
    expect(valueOf(values, 'days_since_pricing_page_visit')).toBeCloseTo(1, 10);
    expect(valueOf(values, 'days_since_any_event')).toBeCloseTo(1, 10);
    expect(valueOf(values, 'trial_signup_total')).toBe(0);
    expect(valueOf(values, 'days_since_trial_signup')).toBeNull();
    expect(valueOf(values, 'lead_age_days')).toBeCloseTo((t0 - Date.parse('2026-03-01T09:00:00Z')) / DAY, 10);
  });

  it('reads extract rows as of their date, never before', () => {
    const erpRows = [
      {
        erp_account_number: 'E1',
        extract_date: '2026-03-05',
        is_customer: false,
        erp_revenue: 0,
        products_held: 0,
        payment_status: 'current',
      },
      {
        erp_account_number: 'E1',
        extract_date: '2026-03-11',
        is_customer: true,
        erp_revenue: 9000,
        products_held: 2,
        payment_status: 'current',
      },
    ];
    const history = { lead: baseLead, fieldChanges: [], events: [], erpRows, marketingRows: [] };
    expect(valueOf(featuresAsOf(LEAD_CONVERSION_FEATURES, history, t0), 'erp_is_customer')).toBe(false);
    expect(valueOf(featuresAsOf(LEAD_CONVERSION_FEATURES, history, t0 + DAY), 'erp_is_customer')).toBe(true);
    expect(
      valueOf(featuresAsOf(LEAD_CONVERSION_FEATURES, history, t0 - 10 * DAY), 'erp_is_customer'),
    ).toBeNull();
  });

  it('applies tracked field changes from the instant they were made', () => {
    const history = {
      lead: baseLead,
      fieldChanges: [{ field: 'Industry' as const, value: 'Retail', changedAtMs: t0 + DAY }],
      events: [],
      erpRows: [],
      marketingRows: [],
    };
    expect(valueOf(featuresAsOf(LEAD_CONVERSION_FEATURES, history, t0), 'industry')).toBe('Technology');
    expect(valueOf(featuresAsOf(LEAD_CONVERSION_FEATURES, history, t0 + 2 * DAY), 'industry')).toBe('Retail');
  });

  it.each([
    ['Chief Executive Officer', 'executive'],
    ['Head of Sales', 'vp'],
    ['IT Director', 'director'],
    ['Marketing Manager', 'manager'],
    ['Software Engineer', 'individual'],
    [null, null],
  ])('reads seniority from the title %s', (title, level) => {
    expect(titleSeniority(title)).toBe(level);
  });
});

describe('feature specs', () => {
  it('encodes booleans, categories and missing values, and refuses what serving lacks', () => {
    const spec = buildFeatureSpec(
      't',
      LEAD_CONVERSION_FEATURES,
      (name) => (name === 'industry' ? ['Retail', 'Technology'] : []),
      30,
    );
    const values = computeFeatures(
      LEAD_CONVERSION_FEATURES,
      { lead: baseLead, events: new EventAggregates(), erp: null, marketing: null },
      t0,
    );
    const encoded = encodeFeatures(spec, values);
    expect(encoded[spec.features.findIndex((f) => f.name === 'industry')]).toBe(1);
    expect(encoded[spec.features.findIndex((f) => f.name === 'lead_source')]).toBeNull(); // no categories fitted
    expect(encoded[spec.features.findIndex((f) => f.name === 'do_not_call')]).toBe(0);
    expect(encoded[spec.features.findIndex((f) => f.name === 'erp_revenue')]).toBeNull();
    expect(spec.hash).toMatch(/^[0-9a-f]{64}$/);

    const withUnknown = {
      ...spec,
      features: [...spec.features, { name: 'shoe_size', kind: 'numeric' as const, description: '' }],
    };
    expect(() => featuresForSpec(withUnknown, LEAD_CONVERSION_FEATURES)).toThrow(/shoe_size/);
    expect(featuresForSpec(spec, LEAD_CONVERSION_FEATURES).map((f) => f.name)).toEqual(
      spec.features.map((f) => f.name),
    );
  });
});
