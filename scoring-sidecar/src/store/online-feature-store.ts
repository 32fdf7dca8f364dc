// The online feature store: what `computeFeatures` needs per lead, kept current as data arrives, so that an
// online vector equals the offline one for the same inputs. One store serves one region; data of the other
// region is refused, never stored.
import type {
  ContextLookup,
  ContextRow,
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
  /** The region's dated context rows (shared by every lead; null when none were delivered). */
  context: ContextLookup | null;
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
  /**
   * Dated context rows, kept with their history: a later row never replaces an earlier date (both answer, each
   * for its own period); the same (context, key, date) delivered again replaces the values. Rows in effect only
   * before now − `contextHistoryDays` are dropped, the one in effect then is kept.
   */
  putContextRows(rows: ContextRow[]): Promise<void>;
  /** Every context row held, by (context, key) then date (exports, training from the store's history). */
  contextRows(): Promise<ContextRow[]>;
  /** The context rows as `getLeadStates` hands them out, for a lead the store does not hold (scored by payload). */
  contextLookup(): Promise<ContextLookup | null>;
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
  /** How far back context history is kept (default: as long as training sets, config/retention.json). */
  contextHistoryDays?: number;
}

/** Context history kept by default: 730 days, the retention of training sets (config/retention.json). */
export const DEFAULT_CONTEXT_HISTORY_DAYS = 730;

export const DEFAULT_DEDUP_TTL_MS = 3 * 86_400_000;
export const DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60_000;
