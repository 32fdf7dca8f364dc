// Writes coalesced write-back jobs to the org: Lead fields through sObject Collections (<= 200 records a call),
// or one Bulk API 2.0 job when a write holds more than `bulkThreshold` leads; then a Score_History__c row per
// lead written (upsert on External_Key__c "<leadId>:evt-<scoredAt ms>", idempotent on a repeated write).
import { stringify } from 'csv-stringify/sync';
import type jsforce from 'jsforce';
import { SCORE_SOURCE_PICKLIST, type SalesforceNames } from '../config/index.js';
import type { WritebackJob } from './job.js';

/**
 * What the writer needs of a Salesforce client (the batch's SalesforceClient fits): the connection, the
 * API-allocation guard (`reserve` waits while the org is past its configured share) and Bulk ingest jobs.
 */
export interface WritebackOrgClient {
  readonly conn: jsforce.Connection;
  /** The package namespace's names layer: the collections path calls jsforce directly, so it qualifies here. */
  readonly names: SalesforceNames;
  reserve(calls: number): Promise<void>;
  runIngestJob(
    spec: {
      object: string;
      operation: 'update' | 'upsert';
      keyColumn: 'Id' | 'External_Key__c';
      externalIdFieldName?: string;
      csv: string;
      rows: number;
    },
    checkpoint: { load(): Promise<string | null>; save(jobId: string): Promise<void> },
  ): Promise<{
    failed: { key: string; code: string; message: string }[];
    unprocessed: string[];
    jobFailure: string | null;
  }>;
}

export type RowOutcome =
  | { status: 'ok' }
  | { status: 'retry'; code: string; message: string }
  | { status: 'failed'; code: string; message: string };

/** Worth another attempt: a rep's edit holding the row, the org's rate limit, a 5xx or no answer at all. */
const RETRYABLE = new Set([
  'UNABLE_TO_LOCK_ROW',
  'REQUEST_LIMIT_EXCEEDED',
  'SERVER_UNAVAILABLE',
  'UNKNOWN_EXCEPTION',
  'UNPROCESSED',
  'JOB_FAILED',
]);

export function outcomeOfError(error: unknown): RowOutcome {
  const e = error as { errorCode?: unknown; name?: unknown; message?: unknown };
  const code = typeof e.errorCode === 'string' ? e.errorCode : typeof e.name === 'string' ? e.name : 'ERROR';
  const message = String(e.message ?? error).slice(0, 300);
  // No Salesforce error code: a network failure or a timeout (an org outage), or an HTTP 5xx without a body.
  const retryable = RETRYABLE.has(code) || typeof e.errorCode !== 'string' || /^ERROR_HTTP_5\d\d$/.test(code);
  return { status: retryable ? 'retry' : 'failed', code, message };
}

const rowOutcome = (r: { success: boolean; errors?: unknown[] }): RowOutcome => {
  if (r.success) return { status: 'ok' };
  const first = (r.errors?.[0] ?? {}) as { statusCode?: string; errorCode?: string; message?: string };
  const code = first.statusCode ?? first.errorCode ?? 'UNKNOWN';
  return {
    status: RETRYABLE.has(code) ? 'retry' : 'failed',
    code,
    message: String(first.message ?? '').slice(0, 300),
  };
};

const source = (s: WritebackJob['source']) => SCORE_SOURCE_PICKLIST[s];
/** Salesforce text limits: Score_Reasons__c 4,000 (whole lines dropped, never cut), Next_Best_Action__c 255. */
function reasonsText(lines: readonly string[]): string {
  const kept = [...lines];
  while (kept.join('\n').length > 4000) kept.pop();
  return kept.join('\n');
}

export const historyKeyOf = (job: Pick<WritebackJob, 'leadId' | 'scoredAt'>) =>
  `${job.leadId}:evt-${Date.parse(job.scoredAt)}`;

function leadRecord(job: WritebackJob) {
  return {
    Id: job.leadId,
    Lead_Score__c: job.score,
    Score_Band__c: job.band,
    Score_Reasons__c: reasonsText(job.reasonLines) || null,
    Next_Best_Action__c: job.nextBestAction?.slice(0, 255) ?? null,
    Score_Source__c: source(job.source),
    Score_Model_Version__c: job.modelVersion.slice(0, 64),
    Scored_At__c: job.scoredAt,
  };
}

function historyRecord(job: WritebackJob) {
  return {
    External_Key__c: historyKeyOf(job),
    Lead__c: job.leadId,
    Score__c: job.score,
    Previous_Score__c: job.previousScore,
    Band__c: job.band,
    Reasons__c: reasonsText(job.reasonLines) || null,
    Next_Best_Action__c: job.nextBestAction?.slice(0, 255) ?? null,
    Source__c: source(job.source),
    Model_Version__c: job.modelVersion.slice(0, 64),
    Feature_Hash__c: job.featureHash.slice(0, 64),
    Cycle_Id__c: 'events',
    Scored_At__c: job.scoredAt,
    Data_Region__c: job.region,
  };
}

/** Bulk API 2.0 CSV: an empty cell leaves a field untouched, #N/A clears it. */
function csvOf(records: Record<string, string | number | null>[]): string {
  const columns = Object.keys(records[0] ?? {});
  return stringify(
    records.map((r) => columns.map((c) => (r[c] === null || r[c] === '' ? '#N/A' : r[c]))),
    { header: true, columns, record_delimiter: 'unix' },
  );
}

const noCheckpoint = { load: async () => null, save: async () => {} };

export interface WriteOutcome {
  outcomes: RowOutcome[];
  path: 'collections' | 'bulk';
}

/** One attempt at writing `jobs` (one per lead); an outcome per job, in order. */
export async function writeToOrg(
  client: WritebackOrgClient,
  jobs: readonly WritebackJob[],
  o: { bulkThreshold: number; history: boolean },
): Promise<WriteOutcome> {
  const path = jobs.length > o.bulkThreshold ? 'bulk' : 'collections';
  const leads = jobs.map(leadRecord);
  const outcomes =
    path === 'bulk'
      ? await bulkWrite(client, 'Lead', leads, 'Id')
      : await collectionsWrite(client, 'Lead', leads, 'Id');
  if (o.history) {
    const written = jobs.filter((_, i) => outcomes[i]!.status === 'ok');
    const history = written.map(historyRecord);
    const historyOutcomes =
      path === 'bulk'
        ? await bulkWrite(client, 'Score_History__c', history, 'External_Key__c')
        : await collectionsWrite(client, 'Score_History__c', history, 'External_Key__c');
    // A lead whose history row failed is written again as a whole: both writes are idempotent.
    let h = 0;
    jobs.forEach((_, i) => {
      if (outcomes[i]!.status === 'ok') outcomes[i] = historyOutcomes[h++]!;
    });
  }
  return { outcomes, path };
}

async function collectionsWrite(
  client: WritebackOrgClient,
  object: 'Lead' | 'Score_History__c',
  records: Record<string, string | number | null>[],
  key: 'Id' | 'External_Key__c',
): Promise<RowOutcome[]> {
  const out: RowOutcome[] = [];
  for (let i = 0; i < records.length; i += 200) {
    const part = records.slice(i, i + 200);
    try {
      await client.reserve(1);
      const { names } = client;
      const sobject = client.conn.sobject(names.qualify(object));
      const opts = { allOrNone: false, allowRecursive: true };
      const rows = part.map(names.record);
      const results = (
        key === 'Id'
          ? await sobject.update(rows as ({ Id: string } & Record<string, string | number | null>)[], opts)
          : await sobject.upsert(rows, names.qualify(key), opts)
      ) as { success: boolean; errors?: unknown[] }[];
      out.push(...results.map(rowOutcome));
    } catch (error) {
      const outcome = outcomeOfError(error);
      out.push(...part.map(() => outcome));
    }
  }
  return out;
}

async function bulkWrite(
  client: WritebackOrgClient,
  object: 'Lead' | 'Score_History__c',
  records: Record<string, string | number | null>[],
  key: 'Id' | 'External_Key__c',
): Promise<RowOutcome[]> {
  if (records.length === 0) return [];
  try {
    const result = await client.runIngestJob(
      {
        object,
        operation: key === 'Id' ? 'update' : 'upsert',
        keyColumn: key,
        ...(key === 'Id' ? {} : { externalIdFieldName: key }),
        csv: csvOf(records),
        rows: records.length,
      },
      noCheckpoint,
    );
    if (result.jobFailure)
      return records.map(() => ({ status: 'retry', code: 'JOB_FAILED', message: result.jobFailure! }));
    const failures = new Map<string, RowOutcome>();
    for (const f of result.failed)
      failures.set(
        f.key,
        rowOutcome({ success: false, errors: [{ statusCode: f.code, message: f.message }] }),
      );
    for (const k of result.unprocessed)
      failures.set(k, { status: 'retry', code: 'UNPROCESSED', message: 'not processed by the job' });
    return records.map((r) => failures.get(String(r[key])) ?? { status: 'ok' });
  } catch (error) {
    const outcome = outcomeOfError(error);
    return records.map(() => outcome);
  }
}
