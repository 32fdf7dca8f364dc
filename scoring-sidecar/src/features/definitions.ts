// The one feature definition. Online scoring and offline training sets both call `computeFeatures` from here;
// there is no second implementation anywhere (Python reads the finished vectors).
import freeMail from '../../../config/features/free-mail-domains.json' with { type: 'json' };
import {
  DAY_MS,
  EVENT_TYPES,
  LEAD_FIELD_SENSITIVITY,
  parseSalesforceDateTime,
  type EventType,
  type FeatureInputs,
  type LeadField,
  type LeadProfile,
} from '../inputs/index.js';

export type FeatureKind = 'numeric' | 'boolean' | 'categorical';
export type FeatureValue = number | boolean | string | null;

/** Where a feature's data comes from, and so how fresh it can be. */
export type FeatureSource =
  | { kind: 'crm'; fields: LeadField[] }
  | { kind: 'events'; eventType: EventType | 'any'; windowDays?: number }
  | { kind: 'erp-extract' }
  | { kind: 'marketing-extract' }
  | { kind: 'calendar' };

export interface FeatureDefinition {
  name: string;
  kind: FeatureKind;
  source: FeatureSource;
  description: string;
  /** Set when the feature reads a PII or free-text field: it must derive something that identifies no one. */
  derivation?: 'non-identifying';
  /** Value used when the source has nothing (null leaves it missing for the model). */
  missing: FeatureValue;
  compute(inputs: FeatureInputs, asOfMs: number): FeatureValue;
}

const FREE_MAIL = new Set(freeMail.domains);

function daysSince(ms: number | null, asOfMs: number): number | null {
  return ms === null ? null : (asOfMs - ms) / DAY_MS;
}

const SENIORITY: [RegExp, string][] = [
  [/\b(chief|ceo|cfo|cto|cio|coo|cmo|cro|founder|owner|president|partner)\b/i, 'executive'],
  [/\b(vp|svp|evp|vice president|head of)\b/i, 'vp'],
  [/\b(director)\b/i, 'director'],
  [/\b(manager|lead|supervisor)\b/i, 'manager'],
  [/\b(student|intern|unemployed)\b/i, 'student'],
];

/** Seniority bucket from a job title: a coarse, non-identifying reading of free text. */
export function titleSeniority(title: string | null): string | null {
  if (!title) return null;
  for (const [pattern, level] of SENIORITY) if (pattern.test(title)) return level;
  return 'individual';
}

function crm(
  name: string,
  kind: FeatureKind,
  field: LeadField,
  description: string,
  read: (lead: LeadProfile) => FeatureValue,
): FeatureDefinition {
  return {
    name,
    kind,
    source: { kind: 'crm', fields: [field] },
    description,
    missing: null,
    compute: (i) => read(i.lead),
  };
}

function eventFeatures(type: EventType): FeatureDefinition[] {
  const label = type.replace(/_/g, ' ');
  return [
    ...[7, 30].map((days): FeatureDefinition => ({
      name: `${type}_${days}d`,
      kind: 'numeric',
      source: { kind: 'events', eventType: type, windowDays: days },
      description: `${label} events in the last ${days} days`,
      missing: 0,
      compute: (i, t) => i.events.countInWindow(type, days, t),
    })),
    {
      name: `${type}_total`,
      kind: 'numeric',
      source: { kind: 'events', eventType: type },
      description: `${label} events since the lead was created`,
      missing: 0,
      compute: (i) => i.events.total(type),
    },
    {
      name: `days_since_${type}`,
      kind: 'numeric',
      source: { kind: 'events', eventType: type },
      description: `days since the last ${label} event`,
      missing: null,
      compute: (i, t) => daysSince(i.events.lastAt(type), t),
    },
  ];
}

/** Buying follows the calendar (quarter-end pushes, holiday dips); features read it from the scoring instant. */
export const CALENDAR_FEATURES: readonly FeatureDefinition[] = [
  {
    name: 'days_to_quarter_end',
    kind: 'numeric',
    source: { kind: 'calendar' },
    description: 'days until the end of the calendar quarter',
    missing: null,
    compute: (_i, t) => {
      const d = new Date(t);
      const quarterEnd = Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3 + 3, 1);
      return Math.floor((quarterEnd - t) / DAY_MS);
    },
  },
  {
    name: 'day_of_year',
    kind: 'numeric',
    source: { kind: 'calendar' },
    description: 'day of the year (UTC)',
    missing: null,
    compute: (_i, t) => Math.floor((t - Date.UTC(new Date(t).getUTCFullYear(), 0, 1)) / DAY_MS) + 1,
  },
];

export const LEAD_CONVERSION_FEATURES: readonly FeatureDefinition[] = [
  crm('lead_source', 'categorical', 'LeadSource', 'lead source', (l) => l.LeadSource),
  crm('industry', 'categorical', 'Industry', 'industry', (l) => l.Industry),
  crm('employees', 'numeric', 'NumberOfEmployees', 'company size (employees)', (l) => l.NumberOfEmployees),
  crm('annual_revenue', 'numeric', 'AnnualRevenue', 'company annual revenue', (l) => l.AnnualRevenue),
  crm('country', 'categorical', 'Country', 'country', (l) => l.Country),
  crm(
    'lead_origin',
    'categorical',
    'Lead_Origin__c',
    'how the lead entered the funnel',
    (l) => l.Lead_Origin__c,
  ),
  crm('region', 'categorical', 'Data_Region__c', 'deployment region', (l) => l.Data_Region__c),
  crm(
    'opted_out_of_email',
    'boolean',
    'HasOptedOutOfEmail',
    'opted out of email',
    (l) => l.HasOptedOutOfEmail,
  ),
  crm('do_not_call', 'boolean', 'DoNotCall', 'asked not to be called', (l) => l.DoNotCall),
  crm('has_matched_account', 'boolean', 'Matched_Account__c', 'matched to an existing account', (l) =>
    Boolean(l.Matched_Account__c),
  ),
  {
    ...crm('title_seniority', 'categorical', 'Title', 'seniority of the job title', (l) =>
      titleSeniority(l.Title),
    ),
    derivation: 'non-identifying',
  },
  {
    ...crm('email_is_free_mail', 'boolean', 'Email', 'email at a consumer mailbox provider', (l) => {
      const domain = l.Email?.split('@')[1]?.toLowerCase();
      return domain === undefined ? null : FREE_MAIL.has(domain);
    }),
    derivation: 'non-identifying',
  },
  {
    name: 'lead_age_days',
    kind: 'numeric',
    source: { kind: 'crm', fields: ['CreatedDate'] },
    description: 'days since the lead was created',
    missing: null,
    compute: (i, t) => daysSince(parseSalesforceDateTime(i.lead.CreatedDate), t),
  },
  ...EVENT_TYPES.flatMap(eventFeatures),
  {
    name: 'days_since_any_event',
    kind: 'numeric',
    source: { kind: 'events', eventType: 'any' },
    description: 'days since the last engagement of any kind',
    missing: null,
    compute: (i, t) => daysSince(i.events.lastAt(), t),
  },
  {
    name: 'erp_is_customer',
    kind: 'boolean',
    source: { kind: 'erp-extract' },
    description: 'the matched account is already a customer',
    missing: null,
    compute: (i) => i.erp?.is_customer ?? null,
  },
  {
    name: 'erp_revenue',
    kind: 'numeric',
    source: { kind: 'erp-extract' },
    description: 'revenue with the matched account (ERP)',
    missing: null,
    compute: (i) => i.erp?.erp_revenue ?? null,
  },
  {
    name: 'erp_products_held',
    kind: 'numeric',
    source: { kind: 'erp-extract' },
    description: 'products the matched account already holds',
    missing: null,
    compute: (i) => i.erp?.products_held ?? null,
  },
  {
    name: 'erp_payment_status',
    kind: 'categorical',
    source: { kind: 'erp-extract' },
    description: 'payment status of the matched account',
    missing: null,
    compute: (i) => i.erp?.payment_status ?? null,
  },
  {
    name: 'campaign_count',
    kind: 'numeric',
    source: { kind: 'marketing-extract' },
    description: 'marketing campaigns the lead is a member of',
    missing: 0,
    compute: (i) => i.marketing?.campaign_count ?? null,
  },
  {
    name: 'last_campaign',
    kind: 'categorical',
    source: { kind: 'marketing-extract' },
    description: 'last marketing campaign the lead was touched by',
    missing: null,
    compute: (i) => i.marketing?.last_campaign ?? null,
  },
  {
    name: 'intent_score',
    kind: 'numeric',
    source: { kind: 'marketing-extract' },
    description: 'buying-intent score from marketing data',
    missing: null,
    compute: (i) => i.marketing?.intent_score ?? null,
  },
  {
    name: 'intent_topic',
    kind: 'categorical',
    source: { kind: 'marketing-extract' },
    description: 'topic of the strongest buying intent',
    missing: null,
    compute: (i) => i.marketing?.intent_topic ?? null,
  },
  ...CALENDAR_FEATURES,
];

/**
 * Checks a feature set before anything is built from it: unique names, and no PII or free-text field used
 * raw. A feature reading such a field must declare a non-identifying derivation (reviewed like code).
 */
export function validateFeatureSet(features: readonly FeatureDefinition[]): readonly FeatureDefinition[] {
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f.name)) throw new Error(`feature "${f.name}" is defined twice`);
    seen.add(f.name);
    if (f.source.kind !== 'crm') continue;
    for (const field of f.source.fields) {
      const sensitivity = LEAD_FIELD_SENSITIVITY[field];
      if (sensitivity !== 'none' && f.derivation !== 'non-identifying') {
        throw new Error(
          `feature "${f.name}" uses ${sensitivity === 'pii' ? 'PII' : 'free-text'} source Lead.${field} raw: ` +
            'derive a non-identifying value and declare derivation: "non-identifying", or drop the feature',
        );
      }
    }
  }
  return features;
}

/** Raw feature values at `asOfMs`, in definition order. The caller supplies inputs as known at that instant. */
export function computeFeatures(
  features: readonly FeatureDefinition[],
  inputs: FeatureInputs,
  asOfMs: number,
): FeatureValue[] {
  return features.map((f) => {
    const value = f.compute(inputs, asOfMs);
    return value === null || value === undefined ? f.missing : value;
  });
}
