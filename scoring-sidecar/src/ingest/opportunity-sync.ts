// The opportunity sync: a region's open opportunities into the opportunity store, by SystemModstamp, the
// lead sync's way (org-sync.ts: a full load when there is no watermark or it is too old, then incremental
// queryAll pulls with an overlap window, the region a condition of every query, the watermark saved after the
// store write). A deal that closes (won or lost) or is deleted leaves the store: only open deals are scored.
// The watermark has the lead watermark's shape and its own key; its `leads` cursor is the Opportunity cursor.
// Known gap: a change to the Account alone (industry, size) reaches the store with the deal's next change.
import type { Logger } from 'pino';
import {
  OPPORTUNITY_SYNC_FIELDS,
  opportunityFromRow,
  parseSalesforceDateTime,
  type Region,
} from '../inputs/index.js';
import type { SalesforceClient } from '../salesforce/index.js';
import type { OpportunityStore } from '../store/index.js';
import type { SyncConfig } from './config.js';
import { CursorBuilder } from './org-sync.js';
import { soqlDateTime, soqlString, type OrgRow } from './rows.js';
import type { Watermark, WatermarkStore } from './watermark.js';

export interface OpportunitySyncOptions {
  client: SalesforceClient;
  region: Region;
  store: OpportunityStore;
  watermarks: WatermarkStore;
  config: Pick<SyncConfig, 'overlapMs' | 'writeBatchRows' | 'maxWatermarkAgeDays'>;
  log?: Logger;
  now?: () => number;
}

export interface OpportunitySyncOutcome {
  mode: 'full' | 'incremental';
  /** The SOQL sent, in order (region and timestamps only). */
  queries: string[];
  rowsRead: number;
  duplicates: number;
  upserted: number;
  removed: { closed: number; deleted: number };
  reconciled: number;
  watermark: string | null;
}

const DAY_MS = 86_400_000;

/** A REST record (parents nested, `attributes` on each) as the Bulk API's flat row: strings, parents dotted. */
export function flattenRecord(record: Record<string, unknown>, prefix = ''): OrgRow {
  const row: OrgRow = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'attributes') continue;
    if (value !== null && typeof value === 'object')
      Object.assign(row, flattenRecord(value as never, `${key}.`));
    else row[prefix + key] = value === null || value === undefined || value === '' ? null : String(value);
  }
  return row;
}

export class OpportunitySync {
  private readonly now: () => number;

  constructor(private readonly opts: OpportunitySyncOptions) {
    this.now = opts.now ?? Date.now;
  }

  private get regionCondition(): string {
    return `Data_Region__c = ${soqlString(this.opts.region)}`;
  }

  async runOnce(): Promise<OpportunitySyncOutcome> {
    const watermark = await this.opts.watermarks.load();
    if (!watermark) return this.full({ reconcile: false });
    if (this.now() - Date.parse(watermark.savedAt) > this.opts.config.maxWatermarkAgeDays * DAY_MS)
      return this.full({ reconcile: true });
    return this.incremental(watermark);
  }

  private outcome(mode: OpportunitySyncOutcome['mode']): OpportunitySyncOutcome {
    return {
      mode,
      queries: [],
      rowsRead: 0,
      duplicates: 0,
      upserted: 0,
      removed: { closed: 0, deleted: 0 },
      reconciled: 0,
      watermark: null,
    };
  }

  /** Every open opportunity of the region (Bulk API 2.0); with `reconcile`, store deals no longer open leave. */
  async full(opts: { reconcile: boolean }): Promise<OpportunitySyncOutcome> {
    const out = this.outcome('full');
    const newest = `SELECT Id, SystemModstamp FROM Opportunity WHERE ${this.regionCondition} ORDER BY SystemModstamp DESC LIMIT 1`;
    const soql = `SELECT ${OPPORTUNITY_SYNC_FIELDS.join(', ')}, SystemModstamp FROM Opportunity WHERE ${this.regionCondition} AND IsClosed = false`;
    out.queries.push(newest, soql);
    const cursor = new CursorBuilder(this.opts.config.overlapMs, null);
    for await (const record of this.opts.client.queryAll(newest)) {
      const row = flattenRecord(record as never);
      cursor.applied(row.Id!, row.SystemModstamp);
    }
    const loaded = new Set<string>();
    let batch: OrgRow[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await this.opts.store.put(batch.map((r) => opportunityFromRow(r)));
      out.upserted += batch.length;
      batch = [];
    };
    for await (const row of this.opts.client.bulkQuery(soql)) {
      out.rowsRead++;
      batch.push(row);
      loaded.add(row.Id!);
      cursor.applied(row.Id!, row.SystemModstamp);
      if (batch.length >= this.opts.config.writeBatchRows) await flush();
    }
    await flush();
    if (opts.reconcile) {
      const stale: string[] = [];
      let page: string | undefined;
      do {
        const got = await this.opts.store.ids(page, 5_000);
        for (const id of got.ids) if (!loaded.has(id)) stale.push(id);
        page = got.cursor ?? undefined;
      } while (page !== undefined);
      await this.opts.store.remove(stale);
      out.reconciled = stale.length;
    }
    await this.save(cursor, out);
    return out;
  }

  /** Changes since the watermark (less the overlap), deletions included (queryAll), in SystemModstamp order. */
  async incremental(watermark: Watermark): Promise<OpportunitySyncOutcome> {
    const out = this.outcome('incremental');
    const fromMs = parseSalesforceDateTime(watermark.leads.modstamp) - this.opts.config.overlapMs;
    const soql =
      `SELECT ${OPPORTUNITY_SYNC_FIELDS.join(', ')}, IsDeleted, SystemModstamp FROM Opportunity ` +
      `WHERE ${this.regionCondition} AND SystemModstamp >= ${soqlDateTime(fromMs)} ORDER BY SystemModstamp, Id`;
    out.queries.push(soql);
    const cursor = new CursorBuilder(this.opts.config.overlapMs, watermark.leads);
    let pending = new Map<string, OrgRow>();
    const flush = async () => {
      if (pending.size === 0) return;
      const upserts: OrgRow[] = [];
      const removals: string[] = [];
      for (const row of pending.values()) {
        if (row.IsDeleted === 'true') {
          removals.push(row.Id!);
          out.removed.deleted++;
        } else if (row.IsClosed === 'true') {
          removals.push(row.Id!);
          out.removed.closed++;
        } else upserts.push(row);
      }
      await this.opts.store.put(upserts.map((r) => opportunityFromRow(r)));
      await this.opts.store.remove(removals);
      out.upserted += upserts.length;
      pending = new Map();
    };
    for await (const record of this.opts.client.queryAll(soql)) {
      out.rowsRead++;
      const row = flattenRecord(record as never);
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
    await this.save(cursor, out);
    return out;
  }

  private async save(cursor: CursorBuilder, out: OpportunitySyncOutcome): Promise<void> {
    const built = cursor.build();
    out.watermark = built?.modstamp ?? null;
    if (!built) return;
    await this.opts.watermarks.save({
      version: 1,
      region: this.opts.region,
      leads: built,
      accounts: null,
      savedAt: new Date(this.now()).toISOString(),
    });
    this.opts.log?.info(
      { mode: out.mode, rowsRead: out.rowsRead, upserted: out.upserted, removed: out.removed },
      'opportunity sync',
    );
  }
}
