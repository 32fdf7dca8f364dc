// Org rows as the store and the worklist index take them.
import { LEAD_PROFILE_FIELDS, type Region } from '../inputs/index.js';
import { isInboundSource, type RankingConfig, type WorklistLead } from '../ranking/index.js';

export type OrgRow = Record<string, string | null>;

const WORKLIST_FIELDS = [
  'OwnerId',
  'Territory__c',
  'Status',
  'IsConverted',
  'LastActivityDate',
  'SystemModstamp',
] as const;

/**
 * What a sync selects for a lead: the profile (which carries the rule inputs, Status and LastActivityDate among
 * them), the other worklist fields, and what tells a deletion or merge. Each field once.
 */
export const LEAD_SYNC_FIELDS: string[] = [...new Set([...LEAD_PROFILE_FIELDS, ...WORKLIST_FIELDS])];
export const LEAD_CHANGE_FIELDS = [...LEAD_SYNC_FIELDS, 'IsDeleted', 'MasterRecordId'];

/** A REST record (JSON types) as a Bulk CSV row (strings, null for empty), the shape the profile reader takes. */
export function toOrgRow(record: Record<string, unknown>): OrgRow {
  const row: OrgRow = {};
  for (const [key, value] of Object.entries(record))
    row[key] = value === null || value === undefined || value === '' ? null : String(value);
  return row;
}

/** Quotes a value for SOQL (single quotes and backslashes escaped). */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** SOQL datetime literal, second precision (SOQL has no milliseconds), rounded down. */
export function soqlDateTime(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

export function worklistLead(row: OrgRow, ranking: RankingConfig): WorklistLead {
  const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return {
    leadId: row.Id!,
    region: row.Data_Region__c as Region,
    ownerId: row.OwnerId ?? null,
    territory: row.Territory__c ?? null,
    status: row.Status ?? '',
    isConverted: row.IsConverted === 'true',
    hasOptedOutOfEmail: row.HasOptedOutOfEmail === 'true',
    doNotCall: row.DoNotCall === 'true',
    createdAt: row.CreatedDate!,
    leadSource: row.LeadSource ?? null,
    isInbound: isInboundSource(row.LeadSource ?? null, ranking),
    accountKey: row.Matched_Account__c ?? null,
    employees: num(row.NumberOfEmployees),
    annualRevenue: num(row.AnnualRevenue),
    lastTouchAt: row.LastActivityDate ? `${row.LastActivityDate}T00:00:00.000+0000` : null,
  };
}
