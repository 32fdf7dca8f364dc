// The extract: which Lead fields the cycle reads (model inputs, rule inputs, and the score fields last written,
// which the delta compares with), the SOQL that selects a region's active leads, and what of a row is kept
// in the cycle's partitions (no names, phones, streets or companies; of the email only its free-mail flag).
import {
  emailIsFreeMail,
  LEAD_PROFILE_FIELDS,
  leadProfileFromRow,
  type LeadProfile,
} from '../inputs/index.js';
import { customFieldsRead, LEAD_FEATURE_CONFIG } from '../features/index.js';
import type { LeadRecord } from '../model/index.js';
import type { BulkRow } from '../salesforce/index.js';
import type { Region } from '../store/index.js';

/** The active spec's lead fields beyond the fixed profile (custom `__c` fields), kept in the profile's bag. */
const CUSTOM_FIELDS = customFieldsRead(LEAD_FEATURE_CONFIG);
const PROFILE_FIELDS = [...LEAD_PROFILE_FIELDS, ...CUSTOM_FIELDS];
const PUBLISHED_FIELDS = [
  'Lead_Score__c',
  'Score_Band__c',
  'Score_Reasons__c',
  'Next_Best_Action__c',
  'Score_Source__c',
  'Scored_At__c',
];

/** The profile (model inputs and the fields config/rules and config/actions read) and the published score. */
export const EXTRACT_FIELDS = [...PROFILE_FIELDS, ...PUBLISHED_FIELDS];

const NUMBER_FIELDS = new Set([
  'NumberOfEmployees',
  'AnnualRevenue',
  'Web_Visits__c',
  'Web_Time_On_Site__c',
  'Web_Pages_Per_Visit__c',
  'Lead_Score__c',
]);
const BOOLEAN_FIELDS = new Set(['HasOptedOutOfEmail', 'DoNotCall']);

const soqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface ExtractWindow {
  /** Incremental: only leads modified after this instant (SystemModstamp). */
  since?: string | null;
  /** Resume: only Ids after this one (the extract is ordered by Id). */
  afterId?: string | null;
  limit?: number | null;
}

/**
 * Active leads (not converted, not in a closed status) of the region, ordered by Id so an interrupted
 * extract resumes after the last stored Id. US also takes leads without a region, as the Apex callout does.
 */
export function extractSoql(
  region: Region,
  closedStatuses: readonly string[],
  w: ExtractWindow = {},
): string {
  const where = [
    'IsConverted = false',
    ...(closedStatuses.length ? [`Status NOT IN (${closedStatuses.map(soqlString).join(', ')})`] : []),
    region === 'US'
      ? "(Data_Region__c = 'US' OR Data_Region__c = null)"
      : `Data_Region__c = ${soqlString(region)}`,
    ...(w.since ? [`SystemModstamp > ${w.since}`] : []),
    ...(w.afterId ? [`Id > ${soqlString(w.afterId)}`] : []),
  ];
  return `SELECT ${EXTRACT_FIELDS.join(', ')} FROM Lead WHERE ${where.join(' AND ')} ORDER BY Id${w.limit ? ` LIMIT ${w.limit}` : ''}`;
}

/** A row as the partition keeps it: extract fields only, the email replaced by its free-mail flag. */
export function minimizeRow(row: BulkRow, region: Region): BulkRow {
  const kept: BulkRow = {};
  for (const f of EXTRACT_FIELDS) kept[f] = row[f] ?? null;
  const freeMail = emailIsFreeMail(kept.Email ?? null);
  kept.EmailIsFreeMail = freeMail === null ? null : String(freeMail);
  kept.Email = null;
  kept.Data_Region__c ??= region;
  return kept;
}

export function leadToScore(row: BulkRow): { profile: LeadProfile; record: LeadRecord } {
  const profile = leadProfileFromRow(row, CUSTOM_FIELDS);
  const record: Record<string, unknown> = {};
  for (const field in row) {
    const value = row[field] ?? null;
    if (value === null) record[field] = null;
    else if (NUMBER_FIELDS.has(field)) record[field] = Number(value);
    else if (BOOLEAN_FIELDS.has(field)) record[field] = value === 'true';
    else record[field] = value;
  }
  // In place rather than a spread into a third object: one allocation less per lead.
  return { profile, record: Object.assign(record, profile) };
}

/** What Salesforce shows now: the baseline of the delta. */
export interface PublishedScore {
  score: number | null;
  band: string | null;
  reasons: string | null;
  nextBestAction: string | null;
  source: string | null;
  scoredAtMs: number | null;
}

/** The score a record carries now (`scoreField`: Lead_Score__c, or Opportunity_Score__c for deals). */
export function publishedOf(row: BulkRow, scoreField = 'Lead_Score__c'): PublishedScore {
  const scoredAt = row.Scored_At__c
    ? Date.parse(row.Scored_At__c.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
    : NaN;
  return {
    score: row[scoreField] === null || row[scoreField] === undefined ? null : Number(row[scoreField]),
    band: row.Score_Band__c ?? null,
    reasons: row.Score_Reasons__c ?? null,
    nextBestAction: row.Next_Best_Action__c ?? null,
    source: row.Score_Source__c ?? null,
    scoredAtMs: Number.isFinite(scoredAt) ? scoredAt : null,
  };
}
