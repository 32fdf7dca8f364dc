// A one-shot pull of a region's open leads (and changes since `since`) into the store and the worklist index,
// returning what it loaded. The continuous sync (org-sync.ts) is the product path; this stays for the demo's
// replay of extracts, which needs the loaded ids.
import type jsforce from 'jsforce';
import { LEAD_PROFILE_FIELDS, leadProfileFromRow, parseSalesforceDateTime } from '../features/index.js';
import type { RankingConfig, WorklistIndex } from '../ranking/index.js';
import { bulkQuery } from '../salesforce/index.js';
import type { OnlineFeatureStore, Region } from '../store/index.js';
import { WORKLIST_FIELDS, worklistLead } from './rows.js';
const BATCH = 5_000;

export interface OrgSyncResult {
  leads: number;
  accounts: number;
  /** What was loaded, so extract rows of this region can be matched (the demo's replay uses them). */
  leadIds: Set<string>;
  erpAccountNumbers: Set<string>;
  /** Pass as `since` next time. */
  highWatermark: string | null;
}

/** Loads leads changed since `since` (all open leads when absent) and the ERP account links of the region. */
export async function syncFromOrg(
  conn: jsforce.Connection,
  opts: {
    region: Region;
    store: OnlineFeatureStore;
    worklistIndex: WorklistIndex | null;
    ranking: RankingConfig;
    since?: string;
    leadFilter?: string;
  },
): Promise<OrgSyncResult> {
  const where = [
    `Data_Region__c = '${opts.region}'`,
    'IsConverted = false',
    `Status NOT IN (${opts.ranking.candidates.closedStatuses.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(', ')})`,
    // Second precision and >=: a re-read row is upserted again, which is harmless; a skipped one would not be.
    ...(opts.since
      ? [`SystemModstamp >= ${new Date(parseSalesforceDateTime(opts.since)).toISOString().slice(0, 19)}Z`]
      : []),
    ...(opts.leadFilter ? [opts.leadFilter] : []),
  ].join(' AND ');
  let leads = 0;
  const leadIds = new Set<string>();
  const erpAccountNumbers = new Set<string>();
  let highWatermarkMs = opts.since ? parseSalesforceDateTime(opts.since) : null;
  let batch: Record<string, string | null>[] = [];
  const flush = async () => {
    if (!batch.length) return;
    await opts.store.putLeads(batch.map((row) => leadProfileFromRow(row)));
    if (opts.worklistIndex)
      await opts.worklistIndex.upsert(batch.map((row) => worklistLead(row, opts.ranking)));
    batch = [];
  };
  const soql = `SELECT ${[...LEAD_PROFILE_FIELDS, ...WORKLIST_FIELDS].join(', ')} FROM Lead WHERE ${where}`;
  for await (const row of bulkQuery(conn, soql)) {
    batch.push(row);
    leadIds.add(row.Id!);
    leads++;
    const modstampMs = row.SystemModstamp ? parseSalesforceDateTime(row.SystemModstamp) : null;
    if (modstampMs !== null && (highWatermarkMs === null || modstampMs > highWatermarkMs))
      highWatermarkMs = modstampMs;
    if (batch.length >= BATCH) await flush();
  }
  await flush();

  let accounts = 0;
  let links: { accountId: string; erpAccountNumber: string; region: Region }[] = [];
  const accountSoql = `SELECT Id, ERP_Account_Number__c FROM Account WHERE ERP_Account_Number__c != null AND Data_Region__c = '${opts.region}'`;
  for await (const a of bulkQuery(conn, accountSoql)) {
    links.push({ accountId: a.Id!, erpAccountNumber: a.ERP_Account_Number__c!, region: opts.region });
    erpAccountNumbers.add(a.ERP_Account_Number__c!);
    accounts++;
    if (links.length >= BATCH) {
      await opts.store.putAccountLinks(links);
      links = [];
    }
  }
  if (links.length) await opts.store.putAccountLinks(links);
  const highWatermark = highWatermarkMs === null ? null : new Date(highWatermarkMs).toISOString();
  return { leads, accounts, leadIds, erpAccountNumbers, highWatermark };
}
