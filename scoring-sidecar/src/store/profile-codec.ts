// What the store keeps of a lead, and how it is serialized. Data minimization: the store keeps only the
// fields features read. Names, phone, street and company are dropped; the email is cut down to its domain
// ("@gmx.de"), which is all `email_is_free_mail` reads and identifies a mailbox provider or a company, not
// a person. The title is kept: `title_seniority` needs it and it is a job title, not a personal identifier.
import type { ErpExtractRow, LeadProfile, MarketingExtractRow } from '../features/index.js';
import type { Region } from './online-feature-store.js';

/** Fields serialized in this order (Id and region come from the key and the store). */
const STORED_FIELDS = [
  'CreatedDate',
  'LeadSource',
  'Industry',
  'NumberOfEmployees',
  'AnnualRevenue',
  'Country',
  'Lead_Origin__c',
  'HasOptedOutOfEmail',
  'DoNotCall',
  'Matched_Account__c',
  'Title',
  'Email',
] as const satisfies readonly (keyof LeadProfile)[];

const DROPPED_FIELDS = ['Company', 'Phone', 'FirstName', 'LastName', 'Street'] as const;

const PROFILE_FORMAT = 1;

/** Email reduced to "@domain" exactly as `email_is_free_mail` splits it, so the feature cannot change. */
export function emailDomainOnly(email: string | null): string | null {
  if (email === null) return null;
  const domain = email.split('@')[1];
  return domain === undefined ? null : `@${domain}`;
}

/** The profile as the store keeps it: same feature values, no personal identifiers. */
export function minimizeLeadProfile(lead: LeadProfile): LeadProfile {
  const minimized: LeadProfile = { ...lead, Email: emailDomainOnly(lead.Email) };
  for (const field of DROPPED_FIELDS) minimized[field] = null;
  return minimized;
}

export function encodeLeadProfile(lead: LeadProfile): string {
  const minimized = minimizeLeadProfile(lead);
  return JSON.stringify([PROFILE_FORMAT, ...STORED_FIELDS.map((f) => minimized[f])]);
}

export function decodeLeadProfile(id: string, region: Region, encoded: string): LeadProfile {
  const values = JSON.parse(encoded) as unknown[];
  if (values[0] !== PROFILE_FORMAT) throw new Error(`unknown stored profile format ${String(values[0])}`);
  const lead = { Id: id, Data_Region__c: region } as Record<string, unknown>;
  STORED_FIELDS.forEach((field, i) => (lead[field] = values[i + 1]));
  for (const field of DROPPED_FIELDS) lead[field] = null;
  return lead as LeadProfile;
}

const ERP_FIELDS = ['is_customer', 'erp_revenue', 'products_held', 'payment_status'] as const;
const MARKETING_FIELDS = ['campaign_count', 'last_campaign', 'intent_score', 'intent_topic'] as const;

/** Row values only: the key and the date travel separately. */
export function encodeErpRow(row: ErpExtractRow): string {
  return JSON.stringify(ERP_FIELDS.map((f) => row[f]));
}

export function decodeErpRow(erpAccountNumber: string, extractDate: string, encoded: string): ErpExtractRow {
  const [is_customer, erp_revenue, products_held, payment_status] = JSON.parse(encoded) as [
    boolean,
    number | null,
    number | null,
    string | null,
  ];
  return {
    erp_account_number: erpAccountNumber,
    extract_date: extractDate,
    is_customer,
    erp_revenue,
    products_held,
    payment_status,
  };
}

export function encodeMarketingRow(row: MarketingExtractRow): string {
  return JSON.stringify(MARKETING_FIELDS.map((f) => row[f]));
}

export function decodeMarketingRow(
  leadId: string,
  extractDate: string,
  encoded: string,
): MarketingExtractRow {
  const [campaign_count, last_campaign, intent_score, intent_topic] = JSON.parse(encoded) as [
    number | null,
    string | null,
    number | null,
    string | null,
  ];
  return {
    lead_id: leadId,
    extract_date: extractDate,
    campaign_count,
    last_campaign,
    intent_score,
    intent_topic,
  };
}

/** Strips a region tag or any extra property, so stored rows equal the schema's shape. */
export function plainErpRow(row: ErpExtractRow): ErpExtractRow {
  return decodeErpRow(row.erp_account_number, row.extract_date, encodeErpRow(row));
}

export function plainMarketingRow(row: MarketingExtractRow): MarketingExtractRow {
  return decodeMarketingRow(row.lead_id, row.extract_date, encodeMarketingRow(row));
}
