// How the store serializes what it keeps of a lead (the minimized profile, see inputs/profile-minimization)
// and the newest extract rows.
import { createHash } from 'node:crypto';
import {
  DROPPED_LEAD_FIELDS,
  LEAD_PROFILE_FIELDS,
  minimizeLeadProfile,
  type ErpExtractRow,
  type LeadProfile,
  type MarketingExtractRow,
  type Region,
} from '../inputs/index.js';

const NOT_STORED = new Set<string>(['Id', 'Data_Region__c', ...DROPPED_LEAD_FIELDS]);

/**
 * Fields serialized in this order: the profile's fields (inputs/lead-profile.ts, the one list) less what the key
 * and the store carry (Id, region) and what minimization drops, then the derived free-mail flag. Adding a field
 * to LEAD_PROFILE_FIELDS changes this layout, so PROFILE_FORMAT is a hash of it: a profile stored in another
 * layout is refused by name, never misread.
 */
const STORED_FIELDS: readonly (keyof LeadProfile)[] = [
  ...LEAD_PROFILE_FIELDS.filter((f) => !NOT_STORED.has(f)),
  'EmailIsFreeMail',
];

const PROFILE_FORMAT = `p-${createHash('sha256').update(STORED_FIELDS.join(',')).digest('hex').slice(0, 8)}`;

/** The fixed fields in order, then the custom bag (the active spec's other fields) when there is one. */
export function encodeLeadProfile(lead: LeadProfile): string {
  const minimized = minimizeLeadProfile(lead);
  const values: unknown[] = [PROFILE_FORMAT, ...STORED_FIELDS.map((f) => minimized[f])];
  if (minimized.custom && Object.keys(minimized.custom).length) values.push(minimized.custom);
  return JSON.stringify(values);
}

export function decodeLeadProfile(id: string, region: Region, encoded: string): LeadProfile {
  const values = JSON.parse(encoded) as unknown[];
  if (values[0] !== PROFILE_FORMAT)
    throw new Error(
      `stored profile of lead ${id} is in format ${String(values[0])}, this build reads ${PROFILE_FORMAT}: ` +
        'refill the store with `leadrank store sync --full`',
    );
  const lead = { Id: id, Data_Region__c: region } as Record<string, unknown>;
  STORED_FIELDS.forEach((field, i) => (lead[field] = values[i + 1]));
  const custom = values[STORED_FIELDS.length + 1];
  if (custom !== null && typeof custom === 'object') lead.custom = custom;
  for (const field of DROPPED_LEAD_FIELDS) lead[field] = null;
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
