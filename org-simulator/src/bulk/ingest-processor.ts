// Stands in for Salesforce's background processing of an uploaded ingest job (internal batches of DML).
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parse } from 'csv-parse';
import type { FieldDescribe } from '../schema/index.js';
import type { RecordError, SaveResult, SObjectRecord } from '../store/org-store.js';
import { parseOptions } from './csv-dialect.js';
import { csvCellToValue, OMIT } from './csv-values.js';
import type { IngestJob } from './ingest-job.js';
import { touch } from './job-info.js';
import { ingestJobFailureBefore } from './job-failures.js';
import { canServerTransition } from './job-state.js';
import { formatRecordError, lockError } from './record-error.js';
import { ResultFile } from './result-file.js';
import type { BulkRuntime } from './runtime.js';

export const INGEST_FILES = {
  upload: 'upload.csv',
  successful: 'successfulResults.csv',
  failed: 'failedResults.csv',
} as const;

interface Column {
  header: string;
  /** The field written: for a relationship column (`Account.Source_Record_Id__c`), the lookup (AccountId). */
  field: FieldDescribe;
  /** A relationship column: the parent is found by this indexed field of this object. */
  parent?: { object: string; field: FieldDescribe };
}

class JobFailure extends Error {}

/** Starts processing a job that just reached UploadComplete; runs in the background. */
export function startIngestProcessing(runtime: BulkRuntime, job: IngestJob): void {
  const work = processIngestJob(runtime, job).catch((err: unknown) => {
    runtime.ctx.logger.error({ jobId: job.id, err: errorMessage(err) }, 'bulk ingest job crashed');
    if (job.state === 'InProgress') finish(job, 'Failed', `InternalError : ${errorMessage(err)}`);
  });
  job.processing = work;
  runtime.track(work);
}

async function processIngestJob(runtime: BulkRuntime, job: IngestJob): Promise<void> {
  await yieldToEventLoop(); // answer the UploadComplete PATCH first, like Salesforce's queue
  if (!canServerTransition(job.state, 'InProgress') || !runtime.ingestJobs.has(job.id)) return;
  touch(job, 'InProgress');
  const started = performance.now();
  const dir = runtime.jobDir(job.id);
  const uploadFile = path.join(dir, INGEST_FILES.upload);
  const logger = runtime.ctx.logger.child({ jobId: job.id, object: job.object, operation: job.operation });
  logger.info('bulk ingest job started');

  let successful: ResultFile | undefined;
  let failed: ResultFile | undefined;
  try {
    if (job.uploads === 0 || !existsSync(uploadFile))
      throw new JobFailure('InvalidBatch : No data found for job');
    const parser = createReadStream(uploadFile).pipe(parse(parseOptions(job.dialect)));
    let columns: Column[] | undefined;
    let batch: string[][] = [];
    for await (const row of parser as AsyncIterable<string[]>) {
      if (!columns) {
        columns = resolveColumns(runtime, job, row);
        successful = new ResultFile(path.join(dir, INGEST_FILES.successful), job.dialect, [
          'sf__Id',
          'sf__Created',
          ...row,
        ]);
        failed = new ResultFile(path.join(dir, INGEST_FILES.failed), job.dialect, [
          'sf__Id',
          'sf__Error',
          ...row,
        ]);
        continue;
      }
      batch.push(row);
      if (batch.length >= runtime.config.ingestBatchSize) {
        if (!(await applyBatch(runtime, job, columns, batch, successful!, failed!))) break;
        batch = [];
      }
    }
    if (!columns) throw new JobFailure('InvalidBatch : Failed to parse CSV header: the upload is empty');
    if (batch.length > 0 && job.state === 'InProgress') {
      await applyBatch(runtime, job, columns, batch, successful!, failed!);
    }
    if (job.state === 'InProgress') finish(job, 'JobComplete');
  } catch (err) {
    if (job.state !== 'InProgress') return; // aborted or deleted meanwhile
    const message =
      err instanceof JobFailure
        ? err.message
        : `${errorCodeOf(err) ?? 'InvalidBatch'} : ${errorMessage(err)}`;
    finish(job, 'Failed', message);
  } finally {
    await successful?.close();
    await failed?.close();
    job.totalProcessingTime = Math.round(performance.now() - started);
    logger.info(
      {
        state: job.state,
        processed: job.numberRecordsProcessed,
        failed: job.numberRecordsFailed,
        ms: job.totalProcessingTime,
      },
      'bulk ingest job finished',
    );
  }
}

/**
 * Maps header names to fields; an unknown name fails the whole job, as in Salesforce. A relationship column,
 * `RelationshipName.IndexedFieldName` (polymorphic: `ObjectType:RelationshipName.IndexedFieldName`), sets the
 * lookup to the parent whose indexed field (an external id, or idLookup) has the cell's value: Bulk API 2.0,
 * "Relationship Fields in a Header Row (2.0)". Only one level (child to parent) is allowed there.
 */
function resolveColumns(runtime: BulkRuntime, job: IngestJob, header: string[]): Column[] {
  const { schema } = runtime.ctx;
  const notFound = (name: string) => new JobFailure(`InvalidBatch : Field name not found : ${name}`);
  const columns = header.map((name): Column => {
    const dot = name.indexOf('.');
    if (dot < 0) {
      const field = schema.field(job.object, name);
      if (!field) throw notFound(name);
      return { header: name, field };
    }
    const prefix = name.slice(0, dot).split(':');
    const [type, relationship = ''] = prefix.length > 1 ? prefix : [undefined, prefix[0]];
    const lookup = schema.relationship(job.object, relationship);
    if (!lookup || lookup.type !== 'reference' || (type !== undefined && lookup.referenceTo.length < 2))
      throw notFound(name);
    const parentObject = type
      ? lookup.referenceTo.find((o) => o.toLowerCase() === type.toLowerCase())
      : lookup.referenceTo.length === 1
        ? lookup.referenceTo[0]
        : undefined;
    const parentField = parentObject ? schema.field(parentObject, name.slice(dot + 1)) : undefined;
    if (!parentObject || !parentField || !(parentField.externalId || parentField.idLookup))
      throw notFound(name);
    return { header: name, field: lookup, parent: { object: parentObject, field: parentField } };
  });
  const isDelete = job.operation === 'delete' || job.operation === 'hardDelete';
  if ((isDelete || job.operation === 'update') && !columns.some((c) => c.field.name === 'Id')) {
    throw new JobFailure('InvalidBatch : Field name not found : Id');
  }
  return columns;
}

/** Applies one internal batch as one store call; false when the job must stop (aborted, quota). */
async function applyBatch(
  runtime: BulkRuntime,
  job: IngestJob,
  columns: Column[],
  rows: string[][],
  successful: ResultFile,
  failed: ResultFile,
): Promise<boolean> {
  if (job.state !== 'InProgress' || !runtime.ingestJobs.has(job.id)) return false;
  const injected = ingestJobFailureBefore(runtime.ctx, job);
  if (injected) throw new JobFailure(injected);
  const { usage } = runtime;
  if (usage.remainingBatches() < 1) {
    throw new JobFailure(
      `ExceededQuota : Exceeded the limit of ${usage.currentLimits().dailyBatches} Bulk API batches in a rolling 24-hour period`,
    );
  }
  if (usage.remainingRecords() < rows.length) {
    throw new JobFailure(
      `ExceededQuota : Exceeded the limit of ${usage.currentLimits().dailyRecords} records ingested through Bulk API 2.0 in a rolling 24-hour period`,
    );
  }
  usage.record('batches');
  usage.record('records', rows.length);

  const idIndex = columns.findIndex((c) => c.field.name === 'Id');
  const lockRate = runtime.ctx.faults.config().lockErrorRate;
  const results: (SaveResult | undefined)[] = new Array(rows.length);
  const applied: number[] = [];
  const records = new Map<number, SObjectRecord>();
  const isDelete = job.operation === 'delete' || job.operation === 'hardDelete';
  for (let i = 0; i < rows.length; i++) {
    const id = idIndex >= 0 ? (rows[i]![idIndex] ?? '') : '';
    if (lockRate > 0 && runtime.ctx.faults.random() < lockRate) {
      results[i] = { id: id || null, success: false, errors: [lockError(id)] };
      continue;
    }
    if (!isDelete) {
      const record = toRecord(runtime, columns, rows[i]!);
      if ('error' in record) {
        results[i] = { id: id || null, success: false, errors: [record.error] };
        continue;
      }
      records.set(i, record.record);
    }
    applied.push(i);
  }

  const started = performance.now();
  const saved = applyToStore(
    runtime,
    job,
    idIndex,
    applied.map((i) => rows[i]!),
    applied.map((i) => records.get(i)!),
  );
  job.apiActiveProcessingTime += Math.round(performance.now() - started);
  applied.forEach((rowIndex, k) => {
    results[rowIndex] = saved[k];
  });

  const okRows: string[][] = [];
  const failedRows: string[][] = [];
  rows.forEach((row, i) => {
    const result = results[i];
    if (result?.success) {
      const created = job.operation === 'insert' || result.created === true;
      okRows.push([result.id ?? '', created ? 'true' : 'false', ...row]);
    } else {
      const id = result?.id ?? (idIndex >= 0 ? (row[idIndex] ?? '') : '');
      failedRows.push([id, formatRecordError(result?.errors ?? []), ...row]);
    }
  });
  job.numberRecordsProcessed += rows.length;
  job.numberRecordsFailed += failedRows.length;
  job.rowsConsumed += rows.length;
  touch(job);
  await successful.writeRows(okRows);
  await failed.writeRows(failedRows);
  await yieldToEventLoop(); // keep the API responsive during multi-million-row jobs
  return job.state === 'InProgress';
}

/** `records`: the rows as records (insert, update, upsert); deletes read the Id column of `rows`. */
function applyToStore(
  runtime: BulkRuntime,
  job: IngestJob,
  idIndex: number,
  rows: string[][],
  records: SObjectRecord[],
): SaveResult[] {
  if (rows.length === 0) return [];
  const { store } = runtime.ctx;
  switch (job.operation) {
    case 'delete':
    case 'hardDelete':
      return store.delete(
        job.object,
        rows.map((r) => r[idIndex] ?? ''),
        { hard: job.operation === 'hardDelete' },
      );
    case 'insert':
      return store.insert(job.object, records);
    case 'update':
      return store.update(job.object, records);
    case 'upsert':
      return store.upsert(job.object, job.externalIdFieldName!, records);
  }
}

/**
 * One row as a record; a relationship cell becomes the parent's Id. A value no parent has fails the row as
 * Salesforce does: `INVALID_FIELD:Foreign key external ID: <value> not found for field <field> in entity
 * <object>`.
 */
function toRecord(
  runtime: BulkRuntime,
  columns: Column[],
  row: string[],
): { record: SObjectRecord } | { error: RecordError } {
  const record: SObjectRecord = {};
  for (const [i, column] of columns.entries()) {
    const raw = row[i] ?? '';
    if (column.parent && raw !== '' && raw !== '#N/A') {
      const { object, field } = column.parent;
      const ids = runtime.ctx.store.findIds(object, field.name, raw, 2);
      if (ids.length !== 1)
        return {
          error: {
            statusCode: ids.length === 0 ? 'INVALID_FIELD' : 'DUPLICATE_EXTERNAL_ID',
            message:
              ids.length === 0
                ? `Foreign key external ID: ${raw} not found for field ${field.name} in entity ${object}`
                : `Foreign key external ID: ${raw} matches more than one record for field ${field.name} in entity ${object}`,
            fields: [],
          },
        };
      record[column.field.name] = ids[0];
      continue;
    }
    const value = csvCellToValue(column.field, raw);
    if (value !== OMIT) record[column.field.name] = value;
  }
  return { record };
}

function finish(job: IngestJob, state: 'JobComplete' | 'Failed', message?: string): void {
  if (message) job.errorMessage = message;
  touch(job, state);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'string' ? code : undefined;
}
