// The online feature store: what `computeFeatures` needs per lead, kept current as data arrives, so that an
// online vector equals the offline one for the same inputs. One store serves one region; data of the other
// region is refused, never stored.
import type {
  EngagementEvent,
  ErpExtractRow,
  EventAggregates,
  FeatureInputs,
  LeadProfile,
  MarketingExtractRow,
  Region,
} from '../inputs/index.js';

/** Everything `computeFeatures` reads for one lead; the lead profile is the minimized one (see profile-codec). */
export interface OnlineLeadState extends FeatureInputs {
  lead: LeadProfile;
  events: EventAggregates;
  erp: ErpExtractRow | null;
  marketing: MarketingExtractRow | null;
}

/** Extract rows and account links carry no region of their own; a feed that knows it may tag them. */
export type RegionTagged<T> = T & { region?: Region };

export interface AccountLink {
  accountId: string; // Lead.Matched_Account__c
  erpAccountNumber: string;
  region?: Region;
}

export interface ApplyEventsResult {
  applied: number;
  duplicates: number;
  /** Leads with events but no profile yet: their events are kept (the profile pull may lag) and reported. */
  unknownLeads: string[];
  /** Leads whose aggregates changed, for rescoring. */
  affectedLeadIds: string[];
}

export interface OnlineFeatureStore {
  readonly region: Region;
  putLeads(leads: LeadProfile[]): Promise<void>;
  putAccountLinks(links: AccountLink[]): Promise<void>;
  /** Forgets leads (deleted, merged or converted in the org): profile, events, marketing row, index entry. */
  deleteLeads(leadIds: string[]): Promise<void>;
  /** Idempotent by eventId for `dedupTtlMs`. Validates the whole batch first: a refusal applies nothing. */
  applyEvents(events: EngagementEvent[]): Promise<ApplyEventsResult>;
  /** Keeps the newest row per account by extract_date; an older row never overwrites a newer one. */
  putErpRows(rows: RegionTagged<ErpExtractRow>[]): Promise<void>;
  /** Keeps the newest row per lead by extract_date. */
  putMarketingRows(rows: RegionTagged<MarketingExtractRow>[]): Promise<void>;
  /** One round trip for the whole batch; null where the lead's profile is unknown. */
  getLeadStates(leadIds: string[]): Promise<(OnlineLeadState | null)[]>;
  /** Every lead of the region exactly once over a full iteration (leads added meanwhile may or may not appear). */
  leadIds(cursor?: string, count?: number): Promise<{ ids: string[]; cursor: string | null }>;
  /** Round-trip time in ms. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** The store's clock (epoch ms); tests and replays control it. */
  now?: () => number;
  /** How long an eventId is remembered for deduplication. */
  dedupTtlMs?: number;
  /** Events dated further ahead of `now` than this are refused. */
  maxFutureSkewMs?: number;
}

export const DEFAULT_DEDUP_TTL_MS = 3 * 86_400_000;
export const DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60_000;
