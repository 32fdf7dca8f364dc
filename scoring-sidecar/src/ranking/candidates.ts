// Which leads may be on a worklist, and which list (rep or territory queue) a lead belongs to. Shared by both
// index implementations so that they cannot disagree.
import type { Region } from '../inputs/index.js';
import type { WorklistLead } from './types.js';

/** Salesforce key prefix of Group ids: a lead owned by a queue waits in its territory's queue. */
const QUEUE_ID_PREFIX = '00G';

export const DEFAULT_CLOSED_STATUSES: readonly string[] = [
  'Closed - Converted',
  'Closed - Not Converted',
  'Disqualified',
  'Unqualified',
];

/** Why a lead can never be on a worklist, or null when it can. */
export function ineligibility(
  lead: WorklistLead,
  closedStatuses: ReadonlySet<string>,
  region?: Region,
): string | null {
  if (region !== undefined && lead.region !== region) return `belongs to region ${lead.region}`;
  if (lead.isConverted) return 'converted';
  if (closedStatuses.has(lead.status)) return `status "${lead.status}" is closed`;
  if (lead.hasOptedOutOfEmail && lead.doNotCall) return 'opted out of both email and calls';
  return null;
}

export function isUnassigned(ownerId: string | null): boolean {
  return ownerId === null || ownerId.startsWith(QUEUE_ID_PREFIX);
}

/** The list a lead sits in: `owner:<userId>` or `queue:<territory>`; null for an unassigned lead without territory. */
export function listOf(lead: WorklistLead): string | null {
  if (!isUnassigned(lead.ownerId)) return `owner:${lead.ownerId}`;
  return lead.territory === null ? null : `queue:${lead.territory}`;
}

export function listsFor(repId: string, territory: string | null): string[] {
  return territory === null ? [`owner:${repId}`] : [`owner:${repId}`, `queue:${territory}`];
}

export const byLeadId = (a: WorklistLead, b: WorklistLead): number =>
  a.leadId < b.leadId ? -1 : a.leadId > b.leadId ? 1 : 0;
