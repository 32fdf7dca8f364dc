// Observable value lists and their mix. Effects on the outcome live in ground-truth.ts.

export type Region = 'US' | 'EU';

export interface LeadSourceSpec {
  readonly name: string;
  readonly weight: number;
  /** Lead_Origin__c: how the record entered the CRM (a function of the source). */
  readonly origin: string;
  /** Mean days until the owner's first touch (reps react to source only). */
  readonly firstTouchDays: number;
  readonly highPriority: boolean;
}

export const LEAD_SOURCES: readonly LeadSourceSpec[] = [
  { name: 'Web', weight: 22, origin: 'Web Form', firstTouchDays: 0.6, highPriority: true },
  { name: 'Paid Search', weight: 14, origin: 'Web Form', firstTouchDays: 1.0, highPriority: false },
  { name: 'Organic Search', weight: 12, origin: 'Web Form', firstTouchDays: 1.0, highPriority: false },
  { name: 'Webinar', weight: 9, origin: 'Webinar Registration', firstTouchDays: 1.5, highPriority: false },
  { name: 'Trade Show', weight: 7, origin: 'Event Scan', firstTouchDays: 2.5, highPriority: false },
  { name: 'Partner Referral', weight: 5, origin: 'Partner Portal', firstTouchDays: 0.8, highPriority: true },
  { name: 'Employee Referral', weight: 3, origin: 'Manual Entry', firstTouchDays: 0.5, highPriority: true },
  { name: 'Purchased List', weight: 14, origin: 'List Import', firstTouchDays: 6.0, highPriority: false },
  {
    name: 'Content Syndication',
    weight: 10,
    origin: 'List Import',
    firstTouchDays: 4.0,
    highPriority: false,
  },
  { name: 'Phone Inquiry', weight: 4, origin: 'Manual Entry', firstTouchDays: 0.3, highPriority: true },
];

/** Salesforce's standard Industry picklist (subset). */
export const INDUSTRIES: readonly { readonly name: string; readonly weight: number }[] = [
  { name: 'Technology', weight: 16 },
  { name: 'Finance', weight: 8 },
  { name: 'Banking', weight: 5 },
  { name: 'Insurance', weight: 5 },
  { name: 'Healthcare', weight: 9 },
  { name: 'Manufacturing', weight: 10 },
  { name: 'Retail', weight: 8 },
  { name: 'Education', weight: 6 },
  { name: 'Government', weight: 3 },
  { name: 'Consulting', weight: 7 },
  { name: 'Telecommunications', weight: 4 },
  { name: 'Media', weight: 4 },
  { name: 'Transportation', weight: 4 },
  { name: 'Energy', weight: 3 },
  { name: 'Not For Profit', weight: 3 },
  { name: 'Hospitality', weight: 3 },
  { name: 'Other', weight: 2 },
];

export const SENIORITIES = [
  'C-Level',
  'VP',
  'Director',
  'Manager',
  'Individual Contributor',
  'Student',
] as const;
export type Seniority = (typeof SENIORITIES)[number];
export const SENIORITY_WEIGHTS: readonly number[] = [6, 9, 16, 26, 36, 7];

/** Titles per seniority: the seniority is recoverable from the Title text. */
export const TITLES: Readonly<Record<Seniority, readonly string[]>> = {
  'C-Level': ['CEO', 'CFO', 'CTO', 'Chief Revenue Officer', 'Chief Marketing Officer', 'COO'],
  VP: ['VP of Sales', 'VP Marketing', 'VP Engineering', 'VP Operations', 'VP Finance'],
  Director: [
    'Director of Sales',
    'Marketing Director',
    'IT Director',
    'Director of Operations',
    'Finance Director',
  ],
  Manager: ['Sales Manager', 'Marketing Manager', 'IT Manager', 'Operations Manager', 'Product Manager'],
  'Individual Contributor': [
    'Sales Representative',
    'Marketing Specialist',
    'Software Engineer',
    'Business Analyst',
    'Accountant',
    'Operations Analyst',
  ],
  Student: ['Student', 'Intern', 'Graduate Student'],
};

export const SENIORITY_BY_TITLE: ReadonlyMap<string, Seniority> = new Map(
  SENIORITIES.flatMap((s) => TITLES[s].map((t) => [t, s] as const)),
);

export type FakerLocaleKey =
  | 'en_US'
  | 'en_CA'
  | 'de'
  | 'de_AT'
  | 'fr'
  | 'nl'
  | 'nl_BE'
  | 'es'
  | 'it'
  | 'en_IE'
  | 'sv'
  | 'pl'
  | 'da'
  | 'fi'
  | 'pt_PT'
  | 'en_IN';

export interface CountrySpec {
  readonly name: string;
  readonly region: Region;
  /** Share within its region. */
  readonly weight: number;
  readonly locale: FakerLocaleKey;
  readonly domainSuffix: string;
  /** null: territory depends on the US state. */
  readonly territory: string | null;
  readonly hasState: boolean;
}

export const COUNTRIES: readonly CountrySpec[] = [
  {
    name: 'United States',
    region: 'US',
    weight: 88,
    locale: 'en_US',
    domainSuffix: 'com',
    territory: null,
    hasState: true,
  },
  {
    name: 'Canada',
    region: 'US',
    weight: 12,
    locale: 'en_CA',
    domainSuffix: 'ca',
    territory: 'NA-Canada',
    hasState: true,
  },
  {
    name: 'Germany',
    region: 'EU',
    weight: 22,
    locale: 'de',
    domainSuffix: 'de',
    territory: 'EU-DACH',
    hasState: false,
  },
  {
    name: 'Austria',
    region: 'EU',
    weight: 4,
    locale: 'de_AT',
    domainSuffix: 'at',
    territory: 'EU-DACH',
    hasState: false,
  },
  {
    name: 'France',
    region: 'EU',
    weight: 16,
    locale: 'fr',
    domainSuffix: 'fr',
    territory: 'EU-West',
    hasState: false,
  },
  {
    name: 'Netherlands',
    region: 'EU',
    weight: 10,
    locale: 'nl',
    domainSuffix: 'nl',
    territory: 'EU-West',
    hasState: false,
  },
  {
    name: 'Belgium',
    region: 'EU',
    weight: 5,
    locale: 'nl_BE',
    domainSuffix: 'be',
    territory: 'EU-West',
    hasState: false,
  },
  {
    name: 'Ireland',
    region: 'EU',
    weight: 5,
    locale: 'en_IE',
    domainSuffix: 'ie',
    territory: 'EU-West',
    hasState: false,
  },
  {
    name: 'Spain',
    region: 'EU',
    weight: 9,
    locale: 'es',
    domainSuffix: 'es',
    territory: 'EU-South',
    hasState: false,
  },
  {
    name: 'Italy',
    region: 'EU',
    weight: 9,
    locale: 'it',
    domainSuffix: 'it',
    territory: 'EU-South',
    hasState: false,
  },
  {
    name: 'Portugal',
    region: 'EU',
    weight: 3,
    locale: 'pt_PT',
    domainSuffix: 'pt',
    territory: 'EU-South',
    hasState: false,
  },
  {
    name: 'Sweden',
    region: 'EU',
    weight: 6,
    locale: 'sv',
    domainSuffix: 'se',
    territory: 'EU-North-East',
    hasState: false,
  },
  {
    name: 'Denmark',
    region: 'EU',
    weight: 3,
    locale: 'da',
    domainSuffix: 'dk',
    territory: 'EU-North-East',
    hasState: false,
  },
  {
    name: 'Finland',
    region: 'EU',
    weight: 2,
    locale: 'fi',
    domainSuffix: 'fi',
    territory: 'EU-North-East',
    hasState: false,
  },
  {
    name: 'Poland',
    region: 'EU',
    weight: 6,
    locale: 'pl',
    domainSuffix: 'pl',
    territory: 'EU-North-East',
    hasState: false,
  },
];

export const COUNTRY_BY_NAME: ReadonlyMap<string, CountrySpec> = new Map(COUNTRIES.map((c) => [c.name, c]));

export const US_WEST_STATES = new Set([
  'WA',
  'OR',
  'CA',
  'NV',
  'ID',
  'MT',
  'WY',
  'UT',
  'CO',
  'AZ',
  'NM',
  'AK',
  'HI',
]);
export const US_CENTRAL_STATES = new Set([
  'ND',
  'SD',
  'NE',
  'KS',
  'OK',
  'TX',
  'MN',
  'IA',
  'MO',
  'AR',
  'LA',
  'WI',
  'IL',
]);

export function usTerritory(stateCode: string): string {
  if (US_WEST_STATES.has(stateCode)) return 'NA-West';
  if (US_CENTRAL_STATES.has(stateCode)) return 'NA-Central';
  return 'NA-East';
}

export interface TerritorySpec {
  readonly name: string;
  readonly region: Region;
  readonly timeZone: string;
  readonly locale: FakerLocaleKey;
}

export const TERRITORIES: readonly TerritorySpec[] = [
  { name: 'NA-West', region: 'US', timeZone: 'America/Los_Angeles', locale: 'en_US' },
  { name: 'NA-Central', region: 'US', timeZone: 'America/Chicago', locale: 'en_US' },
  { name: 'NA-East', region: 'US', timeZone: 'America/New_York', locale: 'en_US' },
  { name: 'NA-Canada', region: 'US', timeZone: 'America/Toronto', locale: 'en_CA' },
  { name: 'EU-DACH', region: 'EU', timeZone: 'Europe/Berlin', locale: 'de' },
  { name: 'EU-West', region: 'EU', timeZone: 'Europe/Paris', locale: 'fr' },
  { name: 'EU-South', region: 'EU', timeZone: 'Europe/Rome', locale: 'it' },
  { name: 'EU-North-East', region: 'EU', timeZone: 'Europe/Stockholm', locale: 'sv' },
];

/** Approximate share of a region's leads per territory (used to size rep teams). */
export const TERRITORY_SHARE: Readonly<Record<string, number>> = {
  'NA-West': 0.3,
  'NA-Central': 0.22,
  'NA-East': 0.36,
  'NA-Canada': 0.12,
  'EU-DACH': 0.26,
  'EU-West': 0.36,
  'EU-South': 0.21,
  'EU-North-East': 0.17,
};

export const CAMPAIGNS: readonly string[] = [
  'Spring Product Launch',
  'Webinar Series: Pipeline Analytics',
  'Monthly Newsletter',
  'Trade Show Follow-up',
  'Partner Co-marketing',
  'Retargeting Ads',
  'Analyst Report Download',
  'Customer Success Stories',
];

export const INTENT_TOPICS: readonly string[] = [
  'sales forecasting',
  'crm analytics',
  'lead management',
  'revenue operations',
  'marketing automation',
  'data quality',
];

export const EVENT_TYPES = [
  'web_visit',
  'pricing_page_visit',
  'email_open',
  'email_click',
  'form_fill',
  'content_download',
  'webinar_attended',
  'trial_signup',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const PAYMENT_STATUSES = ['current', 'late', 'delinquent', 'none'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const LEAD_STATUS = {
  open: 'Open - Not Contacted',
  working: 'Working - Contacted',
  converted: 'Closed - Converted',
  closed: 'Closed - Not Converted',
} as const;
