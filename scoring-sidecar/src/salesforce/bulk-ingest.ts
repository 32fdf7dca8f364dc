// Bulk API 2.0 ingest jobs, resumable: a job's id is saved as soon as it exists, so a worker that replaces a
// dead one polls that job instead of submitting the rows again. A job that ends Failed (or Aborted) is
// submitted once more; a second failure is reported, not retried.
import { parse } from 'csv-parse/sync';
import type { SalesforceTransport } from './transport.js';

/** The rows' key column: Id, External_Key__c, or an importer's external id field. */
export type IngestKey = 'Id' | 'External_Key__c' | (string & {});

export interface IngestSpec {
  /** Lead and Score_History__c (write-back), any object for `leadrank import`. */
  object: 'Lead' | 'Score_History__c' | (string & {});
  /** hardDelete (erasure): rows by Id, past the Recycle Bin; needs the "Bulk API Hard Delete" permission. */
  operation: 'update' | 'upsert' | 'hardDelete';
  externalIdFieldName?: string;
  /** The rows' key column, reported with each failure. */
  keyColumn: IngestKey;
  csv: string;
  rows: number;
}

export interface RowFailure {
  key: string;
  code: string;
  message: string;
}

export interface IngestOutcome {
  jobIds: string[];
  processed: number;
  failed: RowFailure[];
  /** Keys of rows the job never processed (it was aborted or failed part way). */
  unprocessed: string[];
  /**
   * Set when the job ended Failed twice. Its rows are reconciled first: `committed` holds the keys either
   * submission's successfulResults list (Salesforce committed them before failing), `failed` the rows of their
   * failedResults; only the rest counts as failed with this message.
   */
  jobFailure: string | null;
  /** Keys Salesforce committed (successfulResults), read only when the job failed (else: all but failed). */
  committed: string[];
}

/** Where a task records the Bulk job it submitted, so a retry of the task resumes that job. */
export interface JobCheckpoint {
  load(): Promise<string | null>;
  save(jobId: string): Promise<void>;
}

interface IngestJobInfo {
  id: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  errorMessage?: string;
  numberRecordsProcessed?: number;
  numberRecordsFailed?: number;
}

type CsvRecord = Record<string, string>;

export async function runIngestJob(
  t: SalesforceTransport,
  spec: IngestSpec,
  checkpoint: JobCheckpoint,
): Promise<IngestOutcome> {
  const jobIds: string[] = [];
  let info: IngestJobInfo | null = null;
  const existing = await checkpoint.load();
  if (existing) {
    info = await jobInfo(t, existing);
    if (info?.state === 'Open') {
      // Abandoned mid-upload: its rows may be partial, so it is aborted and the rows submitted again.
      await t.request({
        method: 'PATCH',
        path: `/jobs/ingest/${existing}`,
        body: '{"state":"Aborted"}',
        contentType: 'application/json',
      });
      info = null;
    } else if (info) {
      jobIds.push(existing);
      if (info.state === 'UploadComplete' || info.state === 'InProgress')
        info = await t.pollJob<IngestJobInfo>(`/jobs/ingest/${existing}`);
    }
  }
  let submissions = info && (info.state === 'Failed' || info.state === 'Aborted') ? 1 : 0;
  while (!info || info.state === 'Failed' || info.state === 'Aborted') {
    if (submissions >= 2) break;
    if (submissions === 1) t.stats.resubmittedJobs++;
    submissions++;
    const id = await submit(t, spec, checkpoint);
    jobIds.push(id);
    info = await t.pollJob<IngestJobInfo>(`/jobs/ingest/${id}`);
  }
  const id = jobIds[jobIds.length - 1];
  if (!info || !id) throw new Error('ingest job was never submitted');
  if (info.state !== 'JobComplete') {
    // A Failed job may have committed some internal batches before it failed, and so may the first
    // submission: every submission's successful and failed results are read, so committed rows are reported
    // as written (they get their history row) and rejected rows keep their own error code.
    const committed = new Set<string>();
    const failed = new Map<string, RowFailure>();
    for (const jobId of jobIds) {
      for (const r of await resultRows(t, jobId, 'successfulResults')) {
        const key = r[spec.keyColumn] ?? r.sf__Id ?? '';
        committed.add(key);
        failed.delete(key);
      }
      for (const r of await resultRows(t, jobId, 'failedResults')) {
        const f = rowFailure(r, spec.keyColumn);
        if (!committed.has(f.key)) failed.set(f.key, f);
      }
    }
    return {
      jobIds,
      processed: info.numberRecordsProcessed ?? 0,
      failed: [...failed.values()],
      unprocessed: [],
      jobFailure: `job ${id} ended ${info.state}: ${info.errorMessage ?? 'no message'}`,
      committed: [...committed],
    };
  }
  const failedRows = info.numberRecordsFailed ? await resultRows(t, id, 'failedResults') : [];
  const processed = info.numberRecordsProcessed ?? 0;
  const unprocessed = processed < spec.rows ? await resultRows(t, id, 'unprocessedrecords') : [];
  return {
    jobIds,
    processed,
    failed: failedRows.map((r) => rowFailure(r, spec.keyColumn)),
    unprocessed: unprocessed.map((r) => r[spec.keyColumn] ?? ''),
    jobFailure: null,
    committed: [],
  };
}

function rowFailure(r: CsvRecord, keyColumn: IngestKey): RowFailure {
  const error = r.sf__Error ?? '';
  const colon = error.indexOf(':');
  return {
    key: r[keyColumn] ?? r.sf__Id ?? '',
    code: colon > 0 ? error.slice(0, colon).trim() : error || 'UNKNOWN',
    // sf__Error is `CODE:message:Field1,Field2 --` (no fields: `CODE:message:--`); the message may hold colons.
    message: error.slice(colon + 1).replace(/(?::(?:[A-Za-z0-9_]+(?:,[A-Za-z0-9_]+)* ?)?)?\s*--\s*$/, ''),
  };
}

async function submit(t: SalesforceTransport, spec: IngestSpec, checkpoint: JobCheckpoint): Promise<string> {
  // create, upload, close, a few polls, results: reserved up front so a job is never cut off half way.
  await t.reserve(6);
  const job = await t.request<IngestJobInfo>({
    method: 'POST',
    path: '/jobs/ingest',
    contentType: 'application/json',
    body: JSON.stringify({
      object: spec.object,
      operation: spec.operation,
      lineEnding: 'LF',
      ...(spec.externalIdFieldName ? { externalIdFieldName: spec.externalIdFieldName } : {}),
    }),
  });
  t.stats.bulkJobs++;
  await checkpoint.save(job.id);
  await t.request({
    method: 'PUT',
    path: `/jobs/ingest/${job.id}/batches`,
    body: spec.csv,
    contentType: 'text/csv',
  });
  await t.request({
    method: 'PATCH',
    path: `/jobs/ingest/${job.id}`,
    body: '{"state":"UploadComplete"}',
    contentType: 'application/json',
  });
  return job.id;
}

async function jobInfo(t: SalesforceTransport, id: string): Promise<IngestJobInfo | null> {
  try {
    return await t.request<IngestJobInfo>({ method: 'GET', path: `/jobs/ingest/${id}` });
  } catch (error) {
    if ((error as { errorCode?: string }).errorCode === 'NOT_FOUND') return null;
    throw error;
  }
}

async function resultRows(
  t: SalesforceTransport,
  id: string,
  kind: 'successfulResults' | 'failedResults' | 'unprocessedrecords',
): Promise<CsvRecord[]> {
  const csv = await t.request<string>({
    method: 'GET',
    path: `/jobs/ingest/${id}/${kind}`,
    accept: 'text/csv',
  });
  if (typeof csv !== 'string' || !csv.trim()) return [];
  return parse(csv, { columns: true, skip_empty_lines: true }) as CsvRecord[];
}
