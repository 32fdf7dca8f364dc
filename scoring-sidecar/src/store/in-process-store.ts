// The embedded store: plain Maps in this process, the same semantics as the Redis store. Events fold through
// `EventAggregates.apply` itself, which is what the Redis store is held to.
import {
  checkContextRows,
  checkEvents,
  ContextTable,
  pruneContextRows,
  type ContextLookup,
  type ContextRow,
  checkLeads,
  checkLinks,
  checkRows,
  EventAggregates,
  minimizeLeadProfile,
  type EngagementEvent,
  type ErpExtractRow,
  type LeadProfile,
  type MarketingExtractRow,
  type Region,
} from '../inputs/index.js';
import { eventIdDigest } from './event-dedup.js';
import {
  DEFAULT_CONTEXT_HISTORY_DAYS,
  DEFAULT_DEDUP_TTL_MS,
  DEFAULT_MAX_FUTURE_SKEW_MS,
  type AccountLink,
  type ApplyEventsResult,
  type OnlineFeatureStore,
  type OnlineLeadState,
  type RegionTagged,
  type StoreOptions,
} from './online-feature-store.js';
import { plainErpRow, plainMarketingRow } from './profile-codec.js';

/** The row as stored: no region tag, its own copy of the values. */
function plainContextRow(row: ContextRow): ContextRow {
  return {
    context: row.context,
    key: row.key,
    effective_from: row.effective_from,
    values: { ...row.values },
  };
}

class InProcessStore implements OnlineFeatureStore {
  private readonly leads = new Map<string, LeadProfile>();
  private readonly leadOrder: string[] = []; // insertion order: a stable cursor for `leadIds`
  private readonly events = new Map<string, EventAggregates>();
  private readonly seen = new Map<string, number>(); // event digest -> expiry ms, in insertion order
  private readonly accountLinks = new Map<string, string>();
  private readonly erp = new Map<string, ErpExtractRow>();
  private readonly marketing = new Map<string, MarketingExtractRow>();
  private context = new ContextTable();
  private readonly contextHistoryDays: number;
  private readonly now: () => number;
  private readonly dedupTtlMs: number;
  private readonly maxFutureSkewMs: number;

  constructor(
    readonly region: Region,
    opts: StoreOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.dedupTtlMs = opts.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS;
    this.maxFutureSkewMs = opts.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS;
    this.contextHistoryDays = opts.contextHistoryDays ?? DEFAULT_CONTEXT_HISTORY_DAYS;
  }

  async putLeads(leads: LeadProfile[]): Promise<void> {
    checkLeads(this.region, leads);
    for (const lead of leads) {
      if (!this.leads.has(lead.Id)) this.leadOrder.push(lead.Id);
      this.leads.set(lead.Id, minimizeLeadProfile(lead));
    }
  }

  async deleteLeads(leadIds: string[]): Promise<void> {
    const gone = new Set(leadIds.filter((id) => this.leads.delete(id)));
    for (const id of leadIds) {
      this.events.delete(id);
      this.marketing.delete(id);
    }
    // One pass, not one splice per id: cursors handed out before may skip or repeat a lead (as SCAN may).
    if (gone.size > 0)
      this.leadOrder.splice(0, this.leadOrder.length, ...this.leadOrder.filter((id) => !gone.has(id)));
  }

  async putAccountLinks(links: AccountLink[]): Promise<void> {
    checkLinks(this.region, links);
    for (const l of links) this.accountLinks.set(l.accountId, l.erpAccountNumber);
  }

  async applyEvents(events: EngagementEvent[]): Promise<ApplyEventsResult> {
    const now = this.now();
    const checked = checkEvents(this.region, events, now, this.maxFutureSkewMs);
    this.forgetExpired(now);
    let applied = 0;
    let duplicates = 0;
    const affected = new Set<string>();
    for (const e of checked) {
      const digest = eventIdDigest(e.eventId);
      const expiry = this.seen.get(digest);
      if (expiry !== undefined && expiry > now) {
        duplicates++;
        continue;
      }
      this.seen.delete(digest); // re-insert at the end to keep the map in expiry order
      this.seen.set(digest, now + this.dedupTtlMs);
      let aggregates = this.events.get(e.leadId);
      if (!aggregates) this.events.set(e.leadId, (aggregates = new EventAggregates()));
      aggregates.apply(e.type, e.occurredAtMs);
      applied++;
      affected.add(e.leadId);
    }
    const affectedLeadIds = [...affected];
    return {
      applied,
      duplicates,
      unknownLeads: affectedLeadIds.filter((id) => !this.leads.has(id)),
      affectedLeadIds,
    };
  }

  private forgetExpired(now: number): void {
    for (const [digest, expiry] of this.seen) {
      if (expiry > now) break;
      this.seen.delete(digest);
    }
  }

  async putErpRows(rows: RegionTagged<ErpExtractRow>[]): Promise<void> {
    checkRows(this.region, rows, (r) => r.erp_account_number, this.now(), 'ERP row');
    for (const row of rows) {
      const current = this.erp.get(row.erp_account_number);
      if (!current || current.extract_date <= row.extract_date)
        this.erp.set(row.erp_account_number, plainErpRow(row));
    }
  }

  async putMarketingRows(rows: RegionTagged<MarketingExtractRow>[]): Promise<void> {
    checkRows(this.region, rows, (r) => r.lead_id, this.now(), 'marketing row');
    for (const row of rows) {
      const current = this.marketing.get(row.lead_id);
      if (!current || current.extract_date <= row.extract_date)
        this.marketing.set(row.lead_id, plainMarketingRow(row));
    }
  }

  async putContextRows(rows: ContextRow[]): Promise<void> {
    checkContextRows(this.region, rows, this.now());
    // A new table each time: states already handed out keep answering from the table they were read with.
    const next = new ContextTable(this.context.all());
    for (const row of rows) next.add(plainContextRow(row));
    this.context = new ContextTable(pruneContextRows(next, this.now(), this.contextHistoryDays));
  }

  async contextRows(): Promise<ContextRow[]> {
    return [...this.context.all()].map(plainContextRow);
  }

  async contextLookup(): Promise<ContextLookup | null> {
    return this.context.size > 0 ? this.context : null;
  }

  async getLeadStates(leadIds: string[]): Promise<(OnlineLeadState | null)[]> {
    return leadIds.map((id) => {
      const lead = this.leads.get(id);
      if (!lead) return null;
      const account = lead.Matched_Account__c;
      const erpAccountNumber = account === null ? undefined : this.accountLinks.get(account);
      const erp = erpAccountNumber === undefined ? undefined : this.erp.get(erpAccountNumber);
      const marketing = this.marketing.get(id);
      // Copies: callers must not be able to change the store's state through what they read.
      return {
        lead: { ...lead },
        events: EventAggregates.fromJSON(this.events.get(id)?.toJSON()),
        erp: erp ? { ...erp } : null,
        marketing: marketing ? { ...marketing } : null,
        context: this.context.size > 0 ? this.context : null,
      };
    });
  }

  async leadIds(cursor?: string, count = 1000): Promise<{ ids: string[]; cursor: string | null }> {
    const from = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(from) || from < 0) throw new Error(`not a lead cursor: ${cursor}`);
    const ids = this.leadOrder.slice(from, from + count);
    const next = from + ids.length;
    return { ids, cursor: next >= this.leadOrder.length ? null : String(next) };
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}
}

/** The embedded default: state lives in this process and is lost with it (rebuilt from pulls and replays). */
export function createInProcessStore(region: Region, opts?: StoreOptions): OnlineFeatureStore {
  return new InProcessStore(region, opts);
}
