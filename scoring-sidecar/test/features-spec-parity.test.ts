// config/features/lead.json through the spec interpreter must be today's compiled lead features, bit for bit:
// the same names, kinds, sources, descriptions and spec hash, and Object.is-identical values on generated
// leads and histories (fast-check), so a model trained before the swap serves unchanged after it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LEAD_CONVERSION_FEATURES,
  buildFeatureSpec,
  snapshotsOf,
  type LeadHistory,
} from '../src/features/index.js';
import { EVENT_TYPES, emailIsFreeMail, type LeadProfile } from '../src/inputs/index.js';
import * as compiled from './fixtures/compiled-lead-features.js';

const DAY = 86_400_000;
const start = Date.parse('2026-01-01T00:00:00Z');
const instant = fc.integer({ min: start - 400 * DAY, max: start + 400 * DAY });
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const sfDateTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
const text = (values: string[]) =>
  fc.option(fc.oneof(fc.constantFrom(...values), fc.string()), { nil: null });
const num = fc.option(fc.oneof(fc.integer(), fc.double({ noNaN: false })), { nil: null });

const lead: fc.Arbitrary<LeadProfile> = fc
  .record({
    Id: fc.constant('00Q000000000001AAA'),
    CreatedDate: instant.map(sfDateTime),
    LeadSource: text(['Web', 'Partner', '']),
    Industry: text(['Technology', 'RETAIL']),
    NumberOfEmployees: num,
    AnnualRevenue: num,
    Country: text(['Germany']),
    Lead_Origin__c: text(['Form']),
    HasOptedOutOfEmail: fc.boolean(),
    DoNotCall: fc.boolean(),
    Data_Region__c: fc.constantFrom('US' as const, 'EU' as const),
    Matched_Account__c: fc.option(fc.constantFrom('001000000000001AAA', ''), { nil: null }),
    Title: text(['CEO', 'Head of IT', 'IT Director', 'Sales Manager', 'intern', 'Engineer', '']),
    Company: text(['Acme']),
    Email: text(['a@gmail.com', 'b@GMX.DE', 'c@acme.de', 'no-at-sign', 'x@', '@']),
    Phone: text(['+49']),
    FirstName: text(['Anna']),
    LastName: text(['Schmidt']),
    Street: text(['Hauptstr. 1']),
    Status: text(['Open - Not Contacted']),
    Rating: text(['Hot']),
    LastActivityDate: fc.option(instant.map(isoDay), { nil: null }),
    Web_Visits__c: num,
    Web_Time_On_Site__c: num,
    Web_Pages_Per_Visit__c: num,
  })
  .map((l) => ({ ...l, EmailIsFreeMail: emailIsFreeMail(l.Email) }));
const history = fc.record({
  lead,
  events: fc.array(fc.record({ type: fc.constantFrom(...EVENT_TYPES), occurredAtMs: instant }), {
    maxLength: 60,
  }),
  erpRows: fc.array(
    fc.record({
      erp_account_number: fc.constant('E1'),
      extract_date: instant.map(isoDay),
      is_customer: fc.boolean(),
      erp_revenue: num,
      products_held: num,
      payment_status: text(['current', 'late']),
    }),
    { maxLength: 5 },
  ),
  marketingRows: fc.array(
    fc.record({
      lead_id: fc.constant('00Q000000000001AAA'),
      extract_date: instant.map(isoDay),
      campaign_count: num,
      last_campaign: text(['Webinar Q1']),
      intent_score: num,
      intent_topic: text(['crm']),
    }),
    { maxLength: 5 },
  ),
  fieldChanges: fc.array(
    fc.record({
      field: fc.constantFrom('Industry' as const, 'Title' as const, 'Email' as const),
      value: text(['Retail', 'CFO', 'z@yahoo.com']),
      changedAtMs: instant,
    }),
    { maxLength: 3 },
  ),
});

describe('config/features/lead.json is the compiled lead feature set', () => {
  it('has the same 56 definitions: names, kinds, sources, descriptions, missing values, derivations', () => {
    const shape = (f: compiled.FeatureDefinition) => ({
      name: f.name,
      kind: f.kind,
      source: f.source,
      description: f.description,
      missing: f.missing,
      derivation: f.derivation,
    });
    expect(LEAD_CONVERSION_FEATURES).toHaveLength(56);
    expect(LEAD_CONVERSION_FEATURES.map(shape)).toEqual(compiled.LEAD_CONVERSION_FEATURES.map(shape));
  });

  it('gives the same spec hash, so models trained on the compiled set stay servable', () => {
    const categories = (name: string) => [`${name}-a`, `${name}-b`];
    expect(buildFeatureSpec('lead-conversion', LEAD_CONVERSION_FEATURES, categories, 30).hash).toBe(
      buildFeatureSpec('lead-conversion', compiled.LEAD_CONVERSION_FEATURES, categories, 30).hash,
    );
  });

  it('computes bit-identical vectors on generated histories at any instants', () => {
    let compared = 0;
    fc.assert(
      fc.property(history, fc.array(instant, { minLength: 1, maxLength: 6 }), (h: LeadHistory, instants) => {
        const ours = snapshotsOf(LEAD_CONVERSION_FEATURES, h, instants);
        // the reference folds the same history with its own compiled definitions
        const theirs = snapshotsOf(
          compiled.LEAD_CONVERSION_FEATURES as unknown as typeof LEAD_CONVERSION_FEATURES,
          h,
          instants,
        );
        ours.forEach((s, k) =>
          s.values.forEach((v, f) => {
            compared++;
            if (!Object.is(v, theirs[k]!.values[f]))
              throw new Error(
                `${LEAD_CONVERSION_FEATURES[f]!.name}: ${String(v)} vs ${String(theirs[k]!.values[f])}`,
              );
          }),
        );
      }),
      { numRuns: 600 },
    );
    expect(compared).toBeGreaterThan(600 * 56);
  });

  it('would notice a difference (one reference feature altered mismatches)', () => {
    const altered = compiled.LEAD_CONVERSION_FEATURES.map((f) =>
      f.name === 'title_seniority' ? { ...f, compute: () => 'executive' } : f,
    );
    const h: LeadHistory = {
      lead: { ...fc.sample(lead, { numRuns: 1, seed: 1 })[0]!, Title: 'Engineer' },
      events: [],
      erpRows: [],
      marketingRows: [],
      fieldChanges: [],
    };
    const t = start;
    const a = snapshotsOf(LEAD_CONVERSION_FEATURES, h, [t])[0]!.values;
    const b = snapshotsOf(altered as unknown as typeof LEAD_CONVERSION_FEATURES, h, [t])[0]!.values;
    expect(a).not.toEqual(b);
  });
});
