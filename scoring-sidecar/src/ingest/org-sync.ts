// The continuous org sync: an initial (full) load of a region's open leads, then incremental pulls of what
// changed since a persisted watermark (SystemModstamp), read with queryAll so deletions and merges are seen
// (IsDeleted, MasterRecordId: rows stay visible while in the Recycle Bin). The region is a condition of every
// query: an EU deployment never reads a US row. Deleted, merged and converted leads leave the store and the
// worklists; status, owner and territory changes move a lead between worklists (the index's upsert does).
// The watermark is saved only after the store and index writes succeeded: a failed pull is read again.
import type { Logger } from 'pino';
import { customFieldsRead, LEAD_FEATURE_CONFIG } from '../features/index.js';
import { leadProfileFromRow, parseSalesforceDateTime } from '../inputs/index.js';
import type { RankingConfig, WorklistIndex } from '../ranking/index.js';
import type { SalesforceClient } from '../salesforce/index.js';
import type { Region } from '../inputs/index.js';
import type { OnlineFeatureStore } from '../store/index.js';
import type { SyncConfig } from './config.js';
import type { ErasureRequestQueue, SyncErasureRequest } from './erasure-requests.js';
import {
  LEAD_CHANGE_FIELDS,
  LEAD_SYNC_FIELDS,
  soqlDateTime,
  soqlString,
  toOrgRow,
  worklistLead,
  type OrgRow,
} from './rows.js';
import type { SyncCursor, Watermark, WatermarkStore } from './watermark.js';

export interface OrgSyncOptions {
  client: SalesforceClient;
  region: Region;
  store: OnlineFeatureStore;
  worklistIndex: WorklistIndex | null;
  ranking: RankingConfig;
  watermarks: WatermarkStore;
  config: Pick<SyncConfig, 'overlapMs' | 'writeBatchRows' | 'maxWatermarkAgeDays'>;
  /** An extra SOQL condition on Lead (the demo keeps imported leads out). */
  leadFilter?: string;
  log?: Logger;
  now?: () => number;
  /**
   * Lead fields beyond the fixed profile that the store keeps (the profile's `custom` bag); default the active
   * spec's (config/features, $LEADRANK_FEATURE_SPEC), so serving can compute every feature it reads.
   */
  customFields?: readonly string[];
  /**
   * Where deleted and merged leads, and leads whose Individual has ShouldForget, are sent for erasure
   * (erasure-requests.ts); without it the sync only removes them from the store and the worklists.
   */
  erasureRequests?: ErasureRequestQueue;
  /** Called with (now - SystemModstamp) of each change an incremental pull applied: org change -> store lag. */
  onChangeApplied?: (lagMs: number) => void;
}

export interface SyncOutcome {
  mode: 'full' | 'incremental';
  /** The SOQL sent, in order (region and timestamps only: no customer values). */
  queries: string[];
  rowsRead: number;
  /** Rows read again in the overlap window that were already applied. */
  duplicates: number;
  upserted: number;
  /** Of the upserted: in a closed status, so off every worklist (their profiles stay in the store). */
  closed: number;
  removed: { deleted: number; merged: number; converted: number };
  /** Full load with reconcile: leads in the store that the org no longer has open, removed. */
  reconciled: number;
  accounts: number;
  /** Erasure requests queued (deleted, merged, ShouldForget); 0 without an erasure queue. */
  erasureRequests: number;
  /** The newest SystemModstamp applied (ISO), the next pull's starting point. */
  watermark: string | null;
}

const emptyOutcome = (mode: SyncOutcome['mode']): SyncOutcome => ({
  mode,
  queries: [],
  rowsRead: 0,
  duplicates: 0,
  upserted: 0,
  closed: 0,
  removed: { deleted: 0, merged: 0, converted: 0 },
  reconciled: 0,
  accounts: 0,
  erasureRequests: 0,
  watermark: null,
});

const DAY_MS = 86_400_000;

export class OrgSync {
  private readonly now: () => number;
  private readonly closedStatuses: ReadonlySet<string>;

  private readonly customFields: readonly string[];

  constructor(private readonly opts: OrgSyncOptions) {
    this.customFields = opts.customFields ?? customFieldsRead(LEAD_FEATURE_CONFIG);
    this.now = opts.now ?? Date.now;
    this.closedStatuses = new Set(opts.ranking.candidates.closedStatuses);
  }

  private get regionCondition(): string {
    return `Data_Region__c = ${soqlString(this.opts.region)}`;
  }

  /** A full load when there is no watermark (or it is too old to trust for deletions), else an incremental pull. */
  async runOnce(): Promise<SyncOutcome> {
    const watermark = await this.opts.watermarks.load();
    if (!watermark) return this.full({ reconcile: false });
    const ageMs = this.now() - Date.parse(watermark.savedAt);
    if (ageMs > this.opts.config.maxWatermarkAgeDays * DAY_MS) {
      this.opts.log?.warn(
        { ageDays: ageMs / DAY_MS },
        'watermark older than the Recycle Bin keeps deletions: full reload',
      );
      return this.full({ reconcile: true });
    }
    return this.incremental(watermark);
  }

  /**
   * Loads every open lead of the region (Bulk API 2.0) and the ERP account links. With `reconcile`, leads
   * in the store that the org no longer has open are removed (this holds every loaded id in memory: ~100 bytes
   * a lead). Saves a fresh watermark at the end.
   */
  async full(opts: { reconcile: boolean }): Promise<SyncOutcome> {
    const out = emptyOutcome('full');
    const statuses = [...this.closedStatuses].map(soqlString).join(', ');
    const where = [
      this.regionCondition,
      'IsConverted = false',
      ...(statuses ? [`Status NOT IN (${statuses})`] : []),
      ...(this.opts.leadFilter ? [this.opts.leadFilter] : []),
    ].join(' AND ');
    const soql = `SELECT ${[...LEAD_SYNC_FIELDS, ...this.customFields].join(', ')} FROM Lead WHERE ${where}`;
    // The watermark starts at the region's newest change of any lead, open or not, read before the load:
    // the newest open lead alone would leave older closings, conversions and deletions to be read again.
    const newest = `SELECT Id, SystemModstamp FROM Lead WHERE ${this.regionCondition} ORDER BY SystemModstamp DESC LIMIT 1`;
    out.queries.push(newest, soql);
    const cursor = new CursorBuilder(this.opts.config.overlapMs, null);
    for await (const record of this.opts.client.queryAll(newest)) {
      const row = toOrgRow(record);
      cursor.applied(row.Id!, row.SystemModstamp);
    }
    const loaded = opts.reconcile ? new Set<string>() : null;
    let batch: OrgRow[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await this.opts.store.putLeads(batch.map((row) => leadProfileFromRow(row, this.customFields)));
      await this.opts.worklistIndex?.upsert(batch.map((row) => worklistLead(row, this.opts.ranking)));
      out.upserted += batch.length;
      batch = [];
    };
    for await (const row of this.opts.client.bulkQuery(soql)) {
      out.rowsRead++;
      batch.push(row);
      loaded?.add(row.Id!);
      cursor.applied(row.Id!, row.SystemModstamp);
      if (batch.length >= this.opts.config.writeBatchRows) await flush();
    }
    await flush();
    if (loaded) out.reconciled = await this.reconcile(loaded);
    await this.forgetIndividuals(null, out);
    const accounts = await this.loadAccounts(null, out);
    await this.save(cursor.build(), accounts, out);
    return out;
  }

  /** Removes store leads absent from `open` (one pass over the store's lead index). */
  private async reconcile(open: ReadonlySet<string>): Promise<number> {
    const stale: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.opts.store.leadIds(cursor, 5_000);
      for (const id of page.ids) if (!open.has(id)) stale.push(id);
      cursor = page.cursor ?? undefined;
    } while (cursor !== undefined);
    for (let i = 0; i < stale.length; i += this.opts.config.writeBatchRows) {
      const ids = stale.slice(i, i + this.opts.config.writeBatchRows);
      await this.opts.store.deleteLeads(ids);
      await this.opts.worklistIndex?.remove(ids);
    }
    return stale.length;
  }

  /** Reads changes since the watermark (less the overlap) with queryAll and applies them in SystemModstamp order. */
  async incremental(watermark: Watermark): Promise<SyncOutcome> {
    const out = emptyOutcome('incremental');
    const fromMs = parseSalesforceDateTime(watermark.leads.modstamp) - this.opts.config.overlapMs;
    const where = [
      this.regionCondition,
      `SystemModstamp >= ${soqlDateTime(fromMs)}`,
      ...(this.opts.leadFilter ? [this.opts.leadFilter] : []),
    ].join(' AND ');
    const soql = `SELECT ${[...LEAD_CHANGE_FIELDS, ...this.customFields].join(', ')} FROM Lead WHERE ${where} ORDER BY SystemModstamp, Id`;
    out.queries.push(soql);
    const cursor = new CursorBuilder(this.opts.config.overlapMs, watermark.leads);
    // Newest version per lead within a write batch (a lead changed while its pages were read appears twice).
    let pending = new Map<string, OrgRow>();
    const flush = async () => {
      if (pending.size === 0) return;
      await this.apply([...pending.values()], out);
      pending = new Map();
    };
    for await (const record of this.opts.client.queryAll(soql)) {
      out.rowsRead++;
      const row = toOrgRow(record);
      if (cursor.alreadyApplied(row.Id!, row.SystemModstamp)) {
        out.duplicates++;
        continue;
      }
      pending.delete(row.Id!);
      pending.set(row.Id!, row);
      cursor.applied(row.Id!, row.SystemModstamp);
      if (pending.size >= this.opts.config.writeBatchRows) await flush();
    }
    await flush();
    await this.forgetIndividuals(fromMs, out);
    const accounts = await this.loadAccounts(watermark.accounts, out);
    await this.save(cursor.build(), accounts, out);
    return out;
  }

  private async apply(rows: OrgRow[], out: SyncOutcome): Promise<void> {
    const upserts: OrgRow[] = [];
    const removals: string[] = [];
    const erasures: SyncErasureRequest[] = [];
    const region = this.opts.region;
    for (const row of rows) {
      if (row.IsDeleted === 'true') {
        removals.push(row.Id!);
        if (row.MasterRecordId) out.removed.merged++;
        else out.removed.deleted++;
        erasures.push({
          leadId: row.Id!,
          region,
          reason: row.MasterRecordId ? 'lead-merged' : 'lead-deleted',
        });
      } else if (row.IsConverted === 'true') {
        removals.push(row.Id!);
        out.removed.converted++;
      } else {
        upserts.push(row);
        if (this.closedStatuses.has(row.Status ?? '')) out.closed++;
      }
    }
    if (upserts.length > 0) {
      await this.opts.store.putLeads(upserts.map((row) => leadProfileFromRow(row, this.customFields)));
      // The index moves a lead between owner/territory lists and drops it on a closed status.
      await this.opts.worklistIndex?.upsert(upserts.map((row) => worklistLead(row, this.opts.ranking)));
    }
    if (removals.length > 0) {
      await this.opts.store.deleteLeads(removals);
      await this.opts.worklistIndex?.remove(removals);
    }
    if (this.opts.erasureRequests) {
      // An undeleted lead comes back as a live row: its delayed erasure is dropped.
      if (upserts.length > 0) await this.opts.erasureRequests.cancelDeleted(upserts.map((r) => r.Id!));
      await this.opts.erasureRequests.add(erasures);
      out.erasureRequests += erasures.length;
    }
    out.upserted += upserts.length;
    const now = this.now();
    for (const row of rows)
      if (row.SystemModstamp) this.opts.onChangeApplied?.(now - parseSalesforceDateTime(row.SystemModstamp));
  }

  /**
   * Leads of the region whose Individual asks to be forgotten (ShouldForget), changed since `sinceMs` (all on a
   * full load), queued for erasure. Two plain queries (Individuals, then their leads by IndividualId) rather than
   * a relationship filter; the same request read again in the overlap window is one job (its id).
   */
  private individualsUnavailableLogged = false;

  private async forgetIndividuals(sinceMs: number | null, out: SyncOutcome): Promise<void> {
    const queue = this.opts.erasureRequests;
    if (!queue) return;
    const since = sinceMs === null ? '' : ` AND SystemModstamp >= ${soqlDateTime(sinceMs)}`;
    const soql = `SELECT Id FROM Individual WHERE ShouldForget = true${since}`;
    out.queries.push(soql);
    const individuals: string[] = [];
    try {
      for await (const record of this.opts.client.query(soql)) individuals.push(toOrgRow(record).Id!);
    } catch (error) {
      // Individual exists only in orgs with "Make data protection details available in records" on (Setup, Data
      // Protection and Privacy); elsewhere the query answers INVALID_TYPE. Such an org has no ShouldForget to read:
      // the sync goes on, saying so once per process.
      const { errorCode, message } = error as { errorCode?: string; message?: string };
      if (errorCode !== 'INVALID_TYPE' && !/INVALID_TYPE/.test(String(message))) throw error;
      if (!this.individualsUnavailableLogged) {
        this.individualsUnavailableLogged = true;
        this.opts.log?.warn(
          { object: 'Individual' },
          'the org has no Individual object (data protection details off): ShouldForget is not read',
        );
      }
      return;
    }
    for (let i = 0; i < individuals.length; i += 200) {
      const ids = individuals
        .slice(i, i + 200)
        .map(soqlString)
        .join(', ');
      const leads = `SELECT Id FROM Lead WHERE ${this.regionCondition} AND IndividualId IN (${ids})`;
      out.queries.push(leads);
      const requests: SyncErasureRequest[] = [];
      for await (const record of this.opts.client.query(leads))
        requests.push({
          leadId: toOrgRow(record).Id!,
          region: this.opts.region,
          reason: 'individual-forget',
        });
      await queue.add(requests);
      out.erasureRequests += requests.length;
    }
  }

  /** ERP account links of the region: all of them (full) or those changed since the cursor (less the overlap). */
  private async loadAccounts(since: SyncCursor | null, out: SyncOutcome): Promise<CursorBuilder> {
    const cursor = new CursorBuilder(this.opts.config.overlapMs, since);
    const where = [this.regionCondition, 'ERP_Account_Number__c != null'];
    if (since)
      where.push(
        `SystemModstamp >= ${soqlDateTime(parseSalesforceDateTime(since.modstamp) - this.opts.config.overlapMs)}`,
      );
    const soql = `SELECT Id, ERP_Account_Number__c, SystemModstamp FROM Account WHERE ${where.join(' AND ')}`;
    out.queries.push(soql);
    const rows = since ? this.opts.client.query(soql) : this.opts.client.bulkQuery(soql);
    let links: { accountId: string; erpAccountNumber: string; region: Region }[] = [];
    for await (const record of rows) {
      const row = toOrgRow(record);
      if (cursor.alreadyApplied(row.Id!, row.SystemModstamp)) continue;
      cursor.applied(row.Id!, row.SystemModstamp);
      links.push({
        accountId: row.Id!,
        erpAccountNumber: row.ERP_Account_Number__c!,
        region: this.opts.region,
      });
      out.accounts++;
      if (links.length >= this.opts.config.writeBatchRows) {
        await this.opts.store.putAccountLinks(links);
        links = [];
      }
    }
    if (links.length) await this.opts.store.putAccountLinks(links);
    return cursor;
  }

  private async save(leads: SyncCursor | null, accounts: CursorBuilder, out: SyncOutcome): Promise<void> {
    out.watermark = leads?.modstamp ?? null;
    if (!leads) return; // nothing read yet: the next run loads in full again
    await this.opts.watermarks.save({
      version: 1,
      region: this.opts.region,
      leads,
      accounts: accounts.build(),
      savedAt: new Date(this.now()).toISOString(),
    });
  }
}

/** The newest SystemModstamp applied, plus the rows applied within the overlap window before it. */
export class CursorBuilder {
  private newestMs: number | null;
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly overlapMs: number,
    previous: SyncCursor | null,
  ) {
    this.newestMs = previous ? parseSalesforceDateTime(previous.modstamp) : null;
    for (const [id, stamp] of Object.entries(previous?.seen ?? {}))
      this.seen.set(id, parseSalesforceDateTime(stamp));
  }

  alreadyApplied(id: string, modstamp: string | null | undefined): boolean {
    return !!modstamp && this.seen.get(id) === parseSalesforceDateTime(modstamp);
  }

  applied(id: string, modstamp: string | null | undefined): void {
    if (!modstamp) return;
    const ms = parseSalesforceDateTime(modstamp);
    this.seen.set(id, ms);
    if (this.newestMs === null || ms > this.newestMs) this.newestMs = ms;
    if (this.seen.size > 100_000) this.prune(); // a full load reads millions: keep memory bounded
  }

  private prune(): void {
    const oldestKept = (this.newestMs ?? 0) - this.overlapMs - 1_000;
    for (const [id, ms] of this.seen) if (ms < oldestKept) this.seen.delete(id);
  }

  /** Only what the next pull's overlap window can read again is kept (bounded by the window's change volume). */
  build(): SyncCursor | null {
    if (this.newestMs === null) return null;
    const oldestKept = this.newestMs - this.overlapMs - 1_000; // SOQL reads whole seconds: one more
    const seen: Record<string, string> = {};
    for (const [id, ms] of this.seen) if (ms >= oldestKept) seen[id] = new Date(ms).toISOString();
    return { modstamp: new Date(this.newestMs).toISOString(), seen };
  }
}
