// Stands in for Salesforce's background processing of an uploaded ingest job (internal batches of DML).
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parse } from 'csv-parse';
import type { FieldDescribe } from '../schema/index.js';
import type { SaveResult, SObjectRecord } from '../store/org-store.js';
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
  field: FieldDescribe;
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

/** Maps header names to fields; an unknown name fails the whole job, as in Salesforce. */
function resolveColumns(runtime: BulkRuntime, job: IngestJob, header: string[]): Column[] {
  const columns = header.map((name) => {
    const field = runtime.ctx.schema.field(job.object, name);
    if (!field) throw new JobFailure(`InvalidBatch : Field name not found : ${name}`);
    return { header: name, field };
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
  for (let i = 0; i < rows.length; i++) {
    if (lockRate > 0 && runtime.ctx.faults.random() < lockRate) {
      const id = idIndex >= 0 ? (rows[i]![idIndex] ?? '') : '';
      results[i] = { id: id || null, success: false, errors: [lockError(id)] };
    } else {
      applied.push(i);
    }
  }

  const started = performance.now();
  const saved = applyToStore(
    runtime,
    job,
    columns,
    idIndex,
    applied.map((i) => rows[i]!),
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

function applyToStore(
  runtime: BulkRuntime,
  job: IngestJob,
  columns: Column[],
  idIndex: number,
  rows: string[][],
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
      return store.insert(
        job.object,
        rows.map((r) => toRecord(columns, r)),
      );
    case 'update':
      return store.update(
        job.object,
        rows.map((r) => toRecord(columns, r)),
      );
    case 'upsert':
      return store.upsert(
        job.object,
        job.externalIdFieldName!,
        rows.map((r) => toRecord(columns, r)),
      );
  }
}

function toRecord(columns: Column[], row: string[]): SObjectRecord {
  const record: SObjectRecord = {};
  columns.forEach((column, i) => {
    const value = csvCellToValue(column.field, row[i] ?? '');
    if (value !== OMIT) record[column.field.name] = value;
  });
  return record;
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
