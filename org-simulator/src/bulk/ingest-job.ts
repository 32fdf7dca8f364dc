// Stands in for Bulk API 2.0 ingest job creation and job info (validation against the org schema).
import type { OrgSchema } from '../schema/index.js';
import { DEFAULT_DIALECT, isColumnDelimiter, isLineEnding, type CsvDialect } from './csv-dialect.js';
import { BulkApiError } from './errors.js';
import { formatJobDate, versionSegment, type JobBase } from './job-info.js';

export const INGEST_OPERATIONS = ['insert', 'update', 'upsert', 'delete', 'hardDelete'] as const;
export type IngestOperation = (typeof INGEST_OPERATIONS)[number];

export interface IngestJob extends JobBase {
  readonly operation: IngestOperation;
  readonly externalIdFieldName?: string;
  readonly assignmentRuleId?: string;
  numberRecordsFailed: number;
  apiActiveProcessingTime: number;
  /** PUT /batches requests received (Salesforce accepts only one per job). */
  uploads: number;
  /** Data rows the processor has taken from the upload (the rest are "unprocessed"). */
  rowsConsumed: number;
  /** Background processing, settled once result files are complete. */
  processing?: Promise<void>;
}

export interface IngestJobRequest {
  object: string;
  operation: IngestOperation;
  externalIdFieldName?: string;
  assignmentRuleId?: string;
  dialect: CsvDialect;
}

/** Validates a create-job body against the org schema, as Salesforce does before creating the job. */
export function parseIngestJobRequest(body: unknown, schema: OrgSchema): IngestJobRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BulkApiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const operation = b.operation;
  if (!INGEST_OPERATIONS.includes(operation as IngestOperation)) {
    throw new BulkApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize value of type OperationEnum from String ${JSON.stringify(operation ?? null)}`,
    );
  }
  const contentType = b.contentType ?? 'CSV';
  if (contentType !== 'CSV') {
    throw new BulkApiError(400, 'INVALIDJOB', `Unsupported content type: ${String(contentType)}`);
  }
  const columnDelimiter = b.columnDelimiter ?? DEFAULT_DIALECT.columnDelimiter;
  if (!isColumnDelimiter(columnDelimiter)) {
    throw new BulkApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize value of type ColumnDelimiterEnum from String ${JSON.stringify(columnDelimiter)}`,
    );
  }
  const lineEnding = b.lineEnding ?? DEFAULT_DIALECT.lineEnding;
  if (!isLineEnding(lineEnding)) {
    throw new BulkApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize value of type LineEndingEnum from String ${JSON.stringify(lineEnding)}`,
    );
  }
  if (typeof b.object !== 'string' || b.object.length === 0) {
    throw new BulkApiError(400, 'INVALIDJOB', 'Object is required to create a job');
  }
  const describe = schema.object(b.object);
  if (!describe) {
    throw new BulkApiError(400, 'INVALIDENTITY', `Unable to find object: ${b.object}`);
  }
  const request: IngestJobRequest = {
    object: describe.name,
    operation: operation as IngestOperation,
    dialect: { columnDelimiter, lineEnding },
  };
  if (typeof b.assignmentRuleId === 'string') request.assignmentRuleId = b.assignmentRuleId;
  if (request.operation === 'upsert') {
    const extId = b.externalIdFieldName;
    if (typeof extId !== 'string' || extId.length === 0) {
      throw new BulkApiError(
        400,
        'INVALIDJOB',
        `External ID was blank for ${describe.name}. An External ID must be specified for upsert.`,
      );
    }
    const field = schema.field(describe.name, extId);
    if (!field || !(field.externalId || field.idLookup || field.name === 'Id')) {
      throw new BulkApiError(
        400,
        'INVALIDJOB',
        `Field name provided, ${extId} does not match an External ID, Salesforce Id, or indexed field for ${describe.name}`,
      );
    }
    request.externalIdFieldName = field.name;
  }
  return request;
}

/** Job info as returned by create, GET and PATCH. */
export function ingestJobInfo(job: IngestJob): Record<string, unknown> {
  const info: Record<string, unknown> = {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: formatJobDate(job.createdDate),
    systemModstamp: formatJobDate(job.systemModstamp),
    state: job.state,
  };
  if (job.externalIdFieldName) info.externalIdFieldName = job.externalIdFieldName;
  if (job.assignmentRuleId) info.assignmentRuleId = job.assignmentRuleId;
  Object.assign(info, {
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: 'V2Ingest',
    contentUrl: `services/data/${versionSegment(job.apiVersion)}/jobs/ingest/${job.id}/batches`,
    lineEnding: job.dialect.lineEnding,
    columnDelimiter: job.dialect.columnDelimiter,
    numberRecordsProcessed: job.numberRecordsProcessed,
    numberRecordsFailed: job.numberRecordsFailed,
    retries: job.retries,
    totalProcessingTime: job.totalProcessingTime,
    apiActiveProcessingTime: job.apiActiveProcessingTime,
    apexProcessingTime: 0,
  });
  if (job.errorMessage) info.errorMessage = job.errorMessage;
  return info;
}

/** The shorter entry of a job in GET /jobs/ingest. */
export function ingestJobListEntry(job: IngestJob): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    id: job.id,
    operation: job.operation,
    object: job.object,
    createdById: job.createdById,
    createdDate: formatJobDate(job.createdDate),
    systemModstamp: formatJobDate(job.systemModstamp),
    state: job.state,
  };
  if (job.externalIdFieldName) entry.externalIdFieldName = job.externalIdFieldName;
  Object.assign(entry, {
    concurrencyMode: 'Parallel',
    contentType: 'CSV',
    apiVersion: job.apiVersion,
    jobType: 'V2Ingest',
    lineEnding: job.dialect.lineEnding,
    columnDelimiter: job.dialect.columnDelimiter,
  });
  return entry;
}
