// Checks every store applies before writing anything: region isolation and no data from the future.
import { contextDateTooLate, isIsoDate, MAX_CONTEXT_LEAD_DAYS, type ContextRow } from './context.js';
import { EVENT_TYPES, type EngagementEvent, type EventType } from './events.js';
import type { LeadProfile } from './lead-profile.js';
import { RefusedInputError, type Refusal } from './refusals.js';
import type { Region } from './region.js';

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

function refuseIfAny(what: string, region: Region, refused: Refusal[]): void {
  if (refused.length === 0) return;
  const reasons = [...new Set(refused.map((r) => r.reason))].join('; ');
  throw new RefusedInputError(
    `${region} store refused ${refused.length} ${what}${refused.length === 1 ? '' : 's'}: ${reasons}`,
    refused,
  );
}

function regionReason(itemRegion: string, storeRegion: Region): string {
  return `region ${itemRegion} does not belong in the ${storeRegion} store`;
}

export function checkLeads(region: Region, leads: readonly LeadProfile[]): void {
  const refused: Refusal[] = [];
  leads.forEach((lead, index) => {
    if (lead.Data_Region__c !== region)
      refused.push({ index, id: lead.Id, reason: regionReason(lead.Data_Region__c, region) });
  });
  refuseIfAny('lead', region, refused);
}

export interface CheckedEvent {
  eventId: string;
  leadId: string;
  type: EventType;
  occurredAtMs: number;
}

export function checkEvents(
  region: Region,
  events: readonly EngagementEvent[],
  nowMs: number,
  maxFutureSkewMs: number,
): CheckedEvent[] {
  const refused: Refusal[] = [];
  const checked: CheckedEvent[] = [];
  events.forEach((e, index) => {
    const occurredAtMs = Date.parse(e.occurredAt);
    let reason: string | null = null;
    if (e.region !== region) reason = regionReason(e.region, region);
    else if (!EVENT_TYPE_SET.has(e.type)) reason = `unknown event type ${e.type}`;
    else if (!Number.isFinite(occurredAtMs)) reason = 'occurredAt is not a datetime';
    else if (occurredAtMs > nowMs + maxFutureSkewMs)
      reason = `occurredAt is more than ${maxFutureSkewMs / 60_000} minutes in the future`;
    if (reason) refused.push({ index, id: e.eventId, reason });
    else checked.push({ eventId: e.eventId, leadId: e.leadId, type: e.type, occurredAtMs });
  });
  refuseIfAny('event', region, refused);
  return checked;
}

export function utcIsoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Extract rows: tagged region must match, and a row dated after today (UTC) would leak the future. */
export function checkRows<Row extends { extract_date: string; region?: Region }>(
  region: Region,
  rows: readonly Row[],
  idOf: (row: Row) => string,
  nowMs: number,
  what: string,
): void {
  const today = utcIsoDate(nowMs);
  const refused: Refusal[] = [];
  rows.forEach((row, index) => {
    if (row.region !== undefined && row.region !== region)
      refused.push({ index, id: idOf(row), reason: regionReason(row.region, region) });
    else if (!/^\d{4}-\d{2}-\d{2}$/.test(row.extract_date))
      refused.push({ index, id: idOf(row), reason: 'extract_date is not YYYY-MM-DD' });
    else if (row.extract_date > today)
      refused.push({ index, id: idOf(row), reason: `extract_date is after today (${today}, UTC)` });
  });
  refuseIfAny(what, region, refused);
}

/** Context rows: the store's region only (when tagged), a real date, announced at most MAX_CONTEXT_LEAD_DAYS ahead. */
export function checkContextRows(region: Region, rows: readonly ContextRow[], nowMs: number): void {
  const refused: Refusal[] = [];
  rows.forEach((row, index) => {
    const id = `${row.context}/${row.key}`;
    if (row.region !== undefined && row.region !== region)
      refused.push({ index, id, reason: regionReason(row.region, region) });
    else if (!isIsoDate(row.effective_from))
      refused.push({ index, id, reason: 'effective_from is not YYYY-MM-DD' });
    else if (contextDateTooLate(row.effective_from, nowMs))
      refused.push({ index, id, reason: `effective_from is more than ${MAX_CONTEXT_LEAD_DAYS} days ahead` });
  });
  refuseIfAny('context row', region, refused);
}

export function checkLinks(
  region: Region,
  links: readonly { accountId: string; erpAccountNumber: string; region?: Region }[],
): void {
  const refused: Refusal[] = [];
  links.forEach((l, index) => {
    if (l.region !== undefined && l.region !== region)
      refused.push({ index, id: l.accountId, reason: regionReason(l.region, region) });
  });
  refuseIfAny('account link', region, refused);
}
