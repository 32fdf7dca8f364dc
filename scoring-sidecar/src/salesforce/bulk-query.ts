// Streams the rows of a Bulk API 2.0 query job page by page (Sforce-Locator), never holding the result.
// Hand-written because jsforce 3's bulk2.query() pipes every page into one CSV stream: the second page's
// header becomes a data row and the stream ends after page one (jsforce issues #1546, #1693).
import { pipeline, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parse } from 'csv-parse';
import type jsforce from 'jsforce';
import type { SalesforceNames } from '../config/index.js';
import { SalesforceError } from './errors.js';
import { SalesforceTransport, type PollPolicy } from './transport.js';

export type BulkRow = Record<string, string | null>;

export interface BulkQueryOptions {
  /** Rows per results page (Salesforce picks when absent). */
  maxRecordsPerPage?: number;
  /** Overrides the transport's poll policy for this job (a query over millions of rows takes minutes). */
  pollIntervalMs?: number;
  pollTimeoutMs?: number;
  /** queryAll: include deleted and archived records. */
  includeDeleted?: boolean;
  /** Maps each result column to the name the caller reads it by (the names layer: 'ns__X__c' → 'X__c'). */
  columnName?: (name: string) => string;
  /** `bulkQuery` on a bare connection: the package namespace's names layer (SOQL qualified, columns local). */
  names?: SalesforceNames;
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

/** Runs `soql` as a Bulk API 2.0 query job and yields its rows; empty cells are null (Salesforce stores no empty text). */
export async function* bulkQueryRows(
  t: SalesforceTransport,
  soql: string,
  opts: BulkQueryOptions = {},
): AsyncGenerator<BulkRow> {
  const job = await t.request<QueryJobInfo>({
    method: 'POST',
    path: '/jobs/query',
    body: JSON.stringify({ operation: opts.includeDeleted ? 'queryAll' : 'query', query: soql }),
    contentType: 'application/json',
  });
  const policy: PollPolicy = {
    intervalMs: opts.pollIntervalMs ?? t.poll.intervalMs,
    timeoutMs: opts.pollTimeoutMs ?? t.poll.timeoutMs,
  };
  let info: QueryJobInfo;
  try {
    info = await t.pollJob<QueryJobInfo>(`/jobs/query/${job.id}`, policy);
  } catch (error) {
    if ((error as SalesforceError).errorCode === 'POLL_TIMEOUT')
      throw new BulkQueryError(`query job ${job.id} still running at the poll timeout`, job.id);
    throw error;
  }
  if (info.state !== 'JobComplete')
    throw new BulkQueryError(
      `query job ${job.id} ended ${info.state}: ${info.errorMessage ?? 'no message'}`,
      job.id,
    );
  let locator: string | null = null;
  do {
    const params = new URLSearchParams();
    if (locator) params.set('locator', locator);
    if (opts.maxRecordsPerPage) params.set('maxRecords', String(opts.maxRecordsPerPage));
    const query = params.size ? `?${params}` : '';
    // The page request is retried; a page that breaks while streaming fails the query (rows were yielded).
    const res = await t.send({
      method: 'GET',
      path: `/jobs/query/${job.id}/results${query}`,
      accept: 'text/csv',
    });
    const next = res.headers.get('sforce-locator');
    locator = next && next !== 'null' ? next : null;
    // pipeline, not pipe: a body that breaks mid-stream (the call's timeout, a dropped connection) must fail the
    // iteration below, not surface as an unhandled 'error' event that ends the process.
    const rows = pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      // on_record, not cast: with a cast function csv-parse builds a context object for every field (~10×).
      parse({
        columns: opts.columnName ? (header: string[]) => header.map(opts.columnName!) : true,
        on_record: (record: BulkRow) => {
          for (const key in record) if (record[key] === '') record[key] = null;
          return record;
        },
      }),
      () => {}, // the error reaches the parser, and so the `for await`
    );
    for await (const row of rows) yield row as BulkRow;
  } while (locator);
}

/** `bulkQueryRows` on a connection, under the default retry and poll policy and `opts.names`. */
export function bulkQuery(
  conn: jsforce.Connection,
  soql: string,
  opts: BulkQueryOptions = {},
): AsyncGenerator<BulkRow> {
  const { names, ...rest } = opts;
  if (!names?.namespace) return bulkQueryRows(new SalesforceTransport(conn), soql, rest);
  return bulkQueryRows(new SalesforceTransport(conn, { names }), names.soql(soql), {
    ...rest,
    columnName: names.local,
  });
}
