// Stands in for Bulk API 2.0 query job creation (SOQL compiled at create, as Salesforce does).
import type { CompiledQuery, OrgStore } from '../store/org-store.js';
import { DEFAULT_DIALECT, isColumnDelimiter, isLineEnding, type CsvDialect } from './csv-dialect.js';
import { BulkApiError } from './errors.js';
import { formatJobDate, type JobBase } from './job-info.js';

export type QueryOperation = 'query' | 'queryAll';

export interface QueryJob extends JobBase {
  readonly operation: QueryOperation;
  readonly query: CompiledQuery;
  processing?: Promise<void>;
}

export interface QueryJobRequest {
  operation: QueryOperation;
  query: CompiledQuery;
  dialect: CsvDialect;
}

interface SoqlErrorLike {
  errorCode: string;
  message: string;
}

function isSoqlError(err: unknown): err is SoqlErrorLike {
  return (
    err instanceof Error &&
    'errorCode' in err &&
    typeof (err as { errorCode: unknown }).errorCode === 'string'
  );
}

/** Validates a create-query-job body; the SOQL is compiled now so errors come back on create, as in Salesforce. */
export function parseQueryJobRequest(body: unknown, store: OrgStore): QueryJobRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BulkApiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  if (b.operation !== 'query' && b.operation !== 'queryAll') {
    throw new BulkApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize value of type OperationEnum from String ${JSON.stringify(b.operation ?? null)}`,
    );
  }
  if ((b.contentType ?? 'CSV') !== 'CSV') {
    throw new BulkApiError(400, 'INVALIDJOB', `Unsupported content type: ${String(b.contentType)}`);
  }
  const columnDelimiter = b.columnDelimiter ?? DEFAULT_DIALECT.columnDelimiter;
  const lineEnding = b.lineEnding ?? DEFAULT_DIALECT.lineEnding;
  if (!isColumnDelimiter(columnDelimiter)) {
    throw new BulkApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize value of type ColumnDelimiterEnum from String ${JSON.stringify(columnDelimiter)}`,
    );
  }
  if (!isLineEnding(lineEnding)) {
    throw new BulkApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize value of type LineEndingEnum from String ${JSON.stringify(lineEnding)}`,
    );
  }
  if (typeof b.query !== 'string' || b.query.trim() === '') {
    throw new BulkApiError(400, 'INVALIDJOB', 'A query is required to create a query job');
  }
  let query: CompiledQuery;
  try {
    query = store.compileQuery(b.query, { includeDeleted: b.operation === 'queryAll' });
  } catch (err) {
    if (isSoqlError(err)) throw new BulkApiError(400, err.errorCode, err.message);
    throw err;
  }
  return { operation: b.operation, query, dialect: { columnDelimiter, lineEnding } };
}

export function queryJobInfo(job: QueryJob): Record<string, unknown> {
  const info: Record<string, unknown> = {
    ...queryJobListEntry(job),
    numberRecordsProcessed: job.numberRecordsProcessed,
    retries: job.retries,
    totalProcessingTime: job.totalProcessingTime,
    isPkChunkingSupported: true,
  };
  if (job.errorMessage) info.errorMessage = job.errorMessage;
  return info;
}

export function queryJobListEntry(job: QueryJob): Record<string, unknown> {
  return {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: formatJobDate(job.createdDate),
    systemModstamp: formatJobDate(job.systemModstamp),
    state: job.state,
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: 'V2Query',
    lineEnding: job.dialect.lineEnding,
    columnDelimiter: job.dialect.columnDelimiter,
  };
}
