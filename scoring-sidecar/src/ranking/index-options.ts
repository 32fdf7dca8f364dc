// Options and input checks shared by both worklist index implementations.
import { RefusedInputError, type Refusal, type Region } from '../inputs/index.js';
import { DEFAULT_CLOSED_STATUSES } from './candidates.js';
import type { WorklistLead } from './types.js';

export interface WorklistIndexOptions {
  /** Statuses that take a lead off every worklist; pass `config.candidates.closedStatuses`. */
  closedStatuses?: readonly string[];
}

export function closedStatusesOf(opts: WorklistIndexOptions): ReadonlySet<string> {
  return new Set(opts.closedStatuses ?? DEFAULT_CLOSED_STATUSES);
}

/** Region isolation, as the feature store does it: a batch with any lead of another region is refused whole. */
export function checkRegion(region: Region, leads: readonly WorklistLead[]): void {
  const refused: Refusal[] = [];
  leads.forEach((lead, index) => {
    if (lead.region !== region)
      refused.push({
        index,
        id: lead.leadId,
        reason: `region ${lead.region} does not belong in the ${region} worklist index`,
      });
  });
  if (refused.length > 0)
    throw new RefusedInputError(
      `${region} worklist index refused ${refused.length} lead(s) of another region`,
      refused,
    );
}
