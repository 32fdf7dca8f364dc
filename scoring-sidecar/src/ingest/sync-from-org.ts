// Pulls a region's open leads from the org into the online feature store and the worklist index, incrementally
// by SystemModstamp (Change Data Capture cannot carry 1.2M changes a day within default event allocations).
import type jsforce from 'jsforce';
import { LEAD_PROFILE_FIELDS, leadProfileFromRow, parseSalesforceDateTime } from '../features/index.js';
import {
  isInboundSource,
  type RankingConfig,
  type WorklistIndex,
  type WorklistLead,
} from '../ranking/index.js';
import { bulkQuery } from '../salesforce/bulk-query.js';
import type { OnlineFeatureStore, Region } from '../store/index.js';

const WORKLIST_FIELDS = [
  'OwnerId',
  'Territory__c',
  'Status',
  'IsConverted',
  'LastActivityDate',
  'SystemModstamp',
];
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

function worklistLead(row: Record<string, string | null>, ranking: RankingConfig): WorklistLead {
  const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return {
    leadId: row.Id!,
    region: row.Data_Region__c as Region,
    ownerId: row.OwnerId ?? null,
    territory: row.Territory__c ?? null,
    status: row.Status ?? '',
    isConverted: row.IsConverted === 'true',
    hasOptedOutOfEmail: row.HasOptedOutOfEmail === 'true',
    doNotCall: row.DoNotCall === 'true',
    createdAt: row.CreatedDate!,
    leadSource: row.LeadSource ?? null,
    isInbound: isInboundSource(row.LeadSource ?? null, ranking),
    accountKey: row.Matched_Account__c ?? null,
    employees: num(row.NumberOfEmployees),
    annualRevenue: num(row.AnnualRevenue),
    lastTouchAt: row.LastActivityDate ? `${row.LastActivityDate}T00:00:00.000+0000` : null,
  };
}
