// Everything known about one lead at an instant: what `computeFeatures` reads and what the store keeps.
import type { ContextLookup } from './context.js';
import type { EventAggregates } from './event-aggregates.js';
import type { ErpExtractRow, MarketingExtractRow } from './extracts.js';
import type { LeadProfile } from './lead-profile.js';

export interface FeatureInputs {
  lead: LeadProfile;
  events: EventAggregates;
  erp: ErpExtractRow | null; // the matched account's row known at the instant
  marketing: MarketingExtractRow | null;
  /** Dated context rows (campaigns, market indicators); the spec's features ask it for the row in effect at t. */
  context?: ContextLookup | null;
}
