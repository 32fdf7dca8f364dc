// Stands in for Bulk API 2.0 query results: CSV pages with Sforce-Locator and maxRecords.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { stringify } from 'csv-stringify/sync';
import type { Response } from 'express';
import type { FieldDescribe } from '../schema/index.js';
import { stringifyOptions } from './csv-dialect.js';
import { valueToCsvCell } from './csv-values.js';
import { BulkApiError } from './errors.js';
import { touch } from './job-info.js';
import { canServerTransition } from './job-state.js';
import type { QueryJob } from './query-job.js';
import type { BulkRuntime } from './runtime.js';
import { Spool } from './spool.js';

/** Rows fetched from the store per call while building a page. */
const STORE_CHUNK = 5_000;

export function startQueryProcessing(runtime: BulkRuntime, job: QueryJob): void {
  const work = (async () => {
    await yieldToEventLoop();
    if (!canServerTransition(job.state, 'InProgress') || !runtime.queryJobs.has(job.id)) return;
    touch(job, 'InProgress');
    const started = performance.now();
    try {
      // Salesforce reports the row count once the job completes; the rows themselves are paged on demand.
      job.numberRecordsProcessed = runtime.ctx.store.count(job.query);
      if (job.state === 'InProgress') touch(job, 'JobComplete');
    } catch (err) {
      if (job.state === 'InProgress') {
        job.errorMessage = err instanceof Error ? err.message : String(err);
        touch(job, 'Failed');
      }
    } finally {
      job.totalProcessingTime = Math.round(performance.now() - started);
    }
  })();
  job.processing = work;
  runtime.track(work);
}

/** Locators are the store's opaque cursors, base64url-encoded: stable, so a page can be fetched again. */
export function encodeLocator(cursor: string | null): string {
  return cursor === null ? 'null' : Buffer.from(cursor, 'utf8').toString('base64url');
}

export function decodeLocator(locator: string | undefined): string | null {
  if (locator === undefined || locator === '') return null;
  const cursor = Buffer.from(locator, 'base64url').toString('utf8');
  if (locator === 'null' || encodeLocator(cursor) !== locator) {
    throw new BulkApiError(400, 'INVALIDLOCATOR', `Invalid locator: ${locator}`);
  }
  return cursor;
}

export function parseMaxRecords(raw: unknown, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new BulkApiError(400, 'INVALIDMAXRECORDS', `Invalid maxRecords: ${String(raw)}`);
  }
  return n;
}

/**
 * Answers GET .../results: one CSV page (header row on every page) of at most `maxRecords` rows starting at
 * `locator`, with Sforce-Locator (`null` on the last page) and Sforce-NumberOfRecords.
 */
export async function sendResultsPage(
  runtime: BulkRuntime,
  job: QueryJob,
  locator: string | undefined,
  maxRecords: number,
  res: Response,
): Promise<void> {
  const { store, schema } = runtime.ctx;
  let cursor = decodeLocator(locator);
  const fields = job.query.fields;
  const describes: (FieldDescribe | undefined)[] = fields.map((f) => schema.field(job.object, f));
  const options = stringifyOptions(job.dialect);
  const dir = runtime.jobDir(job.id);
  await mkdir(dir, { recursive: true });
  const spool = new Spool(path.join(dir, `page-${process.hrtime.bigint()}.csv`));
  let rows = 0;
  try {
    await spool.write(stringify([fields], options));
    let more = true;
    while (more && rows < maxRecords) {
      const page = store.pageRows(job.query, cursor, Math.min(STORE_CHUNK, maxRecords - rows));
      for (const values of page.rows) {
        for (let i = 0; i < values.length; i++) values[i] = valueToCsvCell(describes[i], values[i]);
      }
      if (page.rows.length > 0) await spool.write(stringify(page.rows, options));
      rows += page.rows.length;
      cursor = page.nextCursor;
      more = cursor !== null && page.rows.length > 0;
      if (more) await yieldToEventLoop();
    }
    if (!more) cursor = null;
  } catch (err) {
    await spool.discard();
    throw err;
  }
  res.status(200);
  res.setHeader('Content-Type', 'text/csv');
  res.setHeader('Sforce-Locator', encodeLocator(cursor));
  res.setHeader('Sforce-NumberOfRecords', String(rows));
  res.setHeader('Content-Length', String(spool.size));
  await spool.pipeTo(res);
}
