// Reads a rule's field from a lead, including the pseudo-fields computed from dates (same in Apex).
import { isNullValue } from './conditions.js';

/** A lead as Salesforce returns it: API field names to values (dates as ISO strings or Date objects). */
export type LeadRecord = Readonly<Record<string, unknown>>;

const DAY_MS = 86_400_000;

/**
 * Pseudo-fields are not Lead fields; they are computed at scoring time from `now`:
 * - DaysSinceCreated: whole days (floor of elapsed 24 h periods) since CreatedDate.
 * - DaysSinceLastTouch: whole days since LastActivityDate (taken as 00:00 UTC of that date), or since
 *   CreatedDate when the lead has no activity yet.
 * Both are null when the dates they need are missing.
 */
export const PSEUDO_FIELDS = ['DaysSinceCreated', 'DaysSinceLastTouch'] as const;
export type PseudoField = (typeof PSEUDO_FIELDS)[number];

function toTime(value: unknown): number | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (typeof value !== 'string' || value === '') return null;
  const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  return Number.isNaN(time) ? null : time;
}

function wholeDaysSince(value: unknown, now: Date): number | null {
  const time = toTime(value);
  return time === null ? null : Math.floor((now.getTime() - time) / DAY_MS);
}

export function isPseudoField(field: string): field is PseudoField {
  return (PSEUDO_FIELDS as readonly string[]).includes(field);
}

export function leadFieldValue(lead: LeadRecord, field: string, now: Date): unknown {
  switch (field) {
    case 'DaysSinceCreated':
      return wholeDaysSince(lead.CreatedDate, now);
    case 'DaysSinceLastTouch':
      return wholeDaysSince(
        isNullValue(lead.LastActivityDate) ? lead.CreatedDate : lead.LastActivityDate,
        now,
      );
    default:
      return lead[field];
  }
}
