// Streams the rows of a Bulk API 2.0 query job page by page (Sforce-Locator), never holding the result.
// Hand-written because jsforce 3's bulk2.query() pipes every page into one CSV stream: the second page's
// header becomes a data row and the stream ends after page one (jsforce issues #1546, #1693).
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse';
import type jsforce from 'jsforce';

export type BulkRow = Record<string, string | null>;

export interface BulkQueryOptions {
  /** Rows per results page (Salesforce picks when absent). */
  maxRecordsPerPage?: number;
  pollIntervalMs?: number;
  /** A query job over millions of rows can take minutes on a real org. */
  pollTimeoutMs?: number;
  /** queryAll: include deleted and archived records. */
  includeDeleted?: boolean;
}

interface QueryJobInfo {
  id: string;
  state: 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  errorMessage?: string;
  numberRecordsProcessed?: number;
}

export class BulkQueryError extends Error {
  constructor(
    message: string,
    readonly jobId?: string,
  ) {
    super(message);
    this.name = 'BulkQueryError';
  }
}

function jobsPath(conn: jsforce.Connection): string {
  return `/services/data/v${conn.version}/jobs/query`;
}

async function waitForJob(
  conn: jsforce.Connection,
  id: string,
  opts: BulkQueryOptions,
): Promise<QueryJobInfo> {
  const deadline = Date.now() + (opts.pollTimeoutMs ?? 30 * 60_000);
  for (;;) {
    const info = await conn.request<QueryJobInfo>(`${jobsPath(conn)}/${id}`);
    if (info.state === 'JobComplete') return info;
    if (info.state === 'Failed' || info.state === 'Aborted') {
      throw new BulkQueryError(
        `query job ${id} ended ${info.state}: ${info.errorMessage ?? 'no message'}`,
        id,
      );
    }
    if (Date.now() > deadline)
      throw new BulkQueryError(`query job ${id} still ${info.state} at the poll timeout`, id);
    await sleep(opts.pollIntervalMs ?? 500);
  }
}

async function fetchPage(conn: jsforce.Connection, url: string): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, {
      headers: { Authorization: `Bearer ${conn.accessToken}`, Accept: 'text/csv' },
    });
    if (res.status === 401 && attempt === 0) {
      // An expired session: any jsforce call renews it through the connection's refresh function.
      await res.body?.cancel();
      await conn.request(`/services/data/v${conn.version}/limits`);
      continue;
    }
    if (!res.ok) throw new BulkQueryError(`results page ${url}: HTTP ${res.status} ${await res.text()}`);
    return res;
  }
}

/** Runs `soql` as a Bulk API 2.0 query job and yields its rows; empty cells are null (Salesforce stores no empty text). */
export async function* bulkQuery(
  conn: jsforce.Connection,
  soql: string,
  opts: BulkQueryOptions = {},
): AsyncGenerator<BulkRow> {
  const job = await conn.request<QueryJobInfo>({
    method: 'POST',
    url: jobsPath(conn),
    body: JSON.stringify({ operation: opts.includeDeleted ? 'queryAll' : 'query', query: soql }),
    headers: { 'Content-Type': 'application/json' },
  });
  await waitForJob(conn, job.id, opts);
  let locator: string | null = null;
  do {
    const params = new URLSearchParams();
    if (locator) params.set('locator', locator);
    if (opts.maxRecordsPerPage) params.set('maxRecords', String(opts.maxRecordsPerPage));
    const query = params.size ? `?${params}` : '';
    const res = await fetchPage(conn, `${conn.instanceUrl}${jobsPath(conn)}/${job.id}/results${query}`);
    const next = res.headers.get('sforce-locator');
    locator = next && next !== 'null' ? next : null;
    const rows = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>).pipe(
      // on_record, not cast: with a cast function csv-parse builds a context object for every field (~10×).
      parse({
        columns: true,
        on_record: (record: BulkRow) => {
          for (const key in record) if (record[key] === '') record[key] = null;
          return record;
        },
      }),
    );
    for await (const row of rows) yield row as BulkRow;
  } while (locator);
}
