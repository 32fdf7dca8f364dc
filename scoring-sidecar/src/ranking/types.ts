// The worklist's data shapes: what the index keeps per lead, what scoring hands to ranking, what a rep sees.
import type { Region } from '../inputs/index.js';

/** What candidate generation needs, kept per lead in a worklist index. No PII: ids, flags, sizes, times. */
export interface WorklistLead {
  leadId: string;
  region: Region;
  /** A user id, a queue (Group `00G…`) id, or null: the last two put the lead in its territory's queue. */
  ownerId: string | null;
  territory: string | null;
  status: string;
  isConverted: boolean;
  hasOptedOutOfEmail: boolean;
  doNotCall: boolean;
  createdAt: string;
  leadSource: string | null;
  /** Web, form or chat sources (config `candidates.inboundSources`; see `isInboundSource`). */
  isInbound: boolean;
  /** Matched_Account__c, else null: the unit of the per-account cap. */
  accountKey: string | null;
  employees: number | null;
  annualRevenue: number | null;
  /** Last rep activity (Task), or null when nobody has touched the lead. */
  lastTouchAt: string | null;
}

export interface WorklistIndex {
  upsert(leads: WorklistLead[]): Promise<void>;
  remove(leadIds: string[]): Promise<void>;
  /**
   * The rep's open leads plus the territory's unassigned queue (none when `territory` is null), sorted by lead
   * id; excludes converted leads, closed statuses (config), leads opted out of both channels and other regions.
   */
  candidatesFor(repId: string, territory: string | null): Promise<WorklistLead[]>;
}

/** What the factories return: an index that also releases its connection. */
export type ClosableWorklistIndex = WorklistIndex & { close(): Promise<void> };

export interface ScoreReason {
  text: string;
  direction: 'positive' | 'negative';
}

export interface WorklistAction {
  action: string;
  label: string;
  rationale: string;
}

export type ScoreBand = 'A' | 'B' | 'C' | 'D';

export interface ScoredCandidate {
  lead: WorklistLead;
  /** Calibrated p(convert within 30 days). */
  probability: number;
  score: number;
  band: ScoreBand;
  source: 'model' | 'rules';
  reasons: ScoreReason[];
  nextBestAction: WorklistAction | null;
  /** 0 (sure) … 1 (coin flip). Default: 1 - |2p - 1|, i.e. closeness of the calibrated p to 0.5. */
  uncertainty?: number;
}

export interface WorklistItem {
  rank: number;
  leadId: string;
  score: number;
  band: string;
  probability: number;
  /** probability × expected deal value (config currency). */
  expectedValue: number;
  /** The sort key before the account cap and exploration: expectedValue × the speed-to-lead multiplier. */
  priority: number;
  source: 'model' | 'rules';
  reasons: ScoreReason[];
  nextBestAction: WorklistAction | null;
  exploration: boolean;
  /** Why the item stands where it does, most important first. */
  why: string[];
}

export interface RankedWorklist {
  items: WorklistItem[];
  /** Ineligible leads and leads beyond the rep's daily capacity, each with the reason. */
  excluded: { leadId: string; why: string }[];
}
