// The cycle's Salesforce calls: every REST/Bulk API 2.0 request retried on 5xx, timeouts and dropped
// connections (exponential backoff, full jitter), counted, and held back while the org's daily API
// allocation is near the configured share. Bulk ingest jobs are resumable: a job's id is saved as soon as it
// exists, so a worker that replaces a dead one polls that job instead of submitting the rows again.
import { setTimeout as sleep } from 'node:timers/promises';
import type jsforce from 'jsforce';
import type { Logger } from 'pino';
import type { BatchConfig } from './config.js';

const RETRYABLE_CODES = new Set([
  'SERVER_UNAVAILABLE',
  'UNKNOWN_EXCEPTION',
  'REQUEST_RUNNING_TOO_LONG',
  'TIMEOUT',
]);
const RETRYABLE_MESSAGE =
  /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up|fetch failed|network|timed out|\b50[0234]\b/i;

export class CallTimeout extends Error {
  readonly errorCode = 'TIMEOUT';
}

export function isRetryable(error: unknown): boolean {
  const e = error as { errorCode?: string; name?: string; message?: string } | null;
  if (!e) return false;
  if (e.errorCode && RETRYABLE_CODES.has(e.errorCode)) return true;
  if (e.errorCode === 'REQUEST_LIMIT_EXCEEDED' || e.errorCode === 'INVALID_SESSION_ID') return false;
  return RETRYABLE_MESSAGE.test(e.message ?? '');
}

/** Full jitter (AWS architecture blog): a random delay in [0, min(max, base·2^attempt)]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

export interface ClientStats {
  apiCalls: number;
  retriedCalls: number;
  bulkJobs: number;
  resubmittedJobs: number;
  allocationPauses: number;
  pausedMs: number;
}

export const emptyClientStats = (): ClientStats => ({
  apiCalls: 0,
  retriedCalls: 0,
  bulkJobs: 0,
  resubmittedJobs: 0,
  allocationPauses: 0,
  pausedMs: 0,
});

export type IngestKey = 'Id' | 'External_Key__c';

export interface IngestSpec {
  object: 'Lead' | 'Score_History__c';
  operation: 'update' | 'upsert';
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
  /** Set when the job ended Failed twice: every row counts as failed with this message. */
  jobFailure: string | null;
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

export class SalesforceBulkClient {
  readonly stats: ClientStats = emptyClientStats();

  constructor(
    readonly conn: jsforce.Connection,
    private readonly config: Pick<BatchConfig, 'http' | 'bulkPoll' | 'apiAllocation'>,
    private readonly log: Logger,
    private readonly onPause?: (
      paused: boolean,
      usage: { used: number; limit: number },
    ) => Promise<void> | void,
  ) {}

  private get base(): string {
    return `/services/data/v${this.conn.version}`;
  }

  /** One REST call with retries; the attempt count and the API usage header are recorded. */
  async request<T>(req: {
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    path: string;
    body?: string;
    contentType?: string;
    accept?: string;
  }): Promise<T> {
    const { maxAttempts, baseDelayMs, maxDelayMs, timeoutMs } = this.config.http;
    for (let attempt = 0; ; attempt++) {
      this.stats.apiCalls++;
      try {
        const call = this.conn.request<T>({
          method: req.method,
          url: `${this.base}${req.path}`,
          ...(req.body !== undefined ? { body: req.body } : {}),
          headers: {
            ...(req.contentType ? { 'Content-Type': req.contentType } : {}),
            ...(req.accept ? { Accept: req.accept } : {}),
          },
        });
        return await withTimeout(Promise.resolve(call), timeoutMs);
      } catch (error) {
        if (!isRetryable(error) || attempt + 1 >= maxAttempts) throw error;
        this.stats.retriedCalls++;
        const delay = backoffDelay(attempt, baseDelayMs, maxDelayMs);
        this.log.warn(
          {
            path: req.path.replace(/\/[0-9A-Za-z]{15,18}(?=\/|$)/g, '/:id'),
            attempt,
            delay,
            err: (error as Error).message,
          },
          'salesforce call failed, retrying',
        );
        await sleep(delay);
      }
    }
  }

  async limits(): Promise<{ used: number; limit: number }> {
    const limits = await this.request<{ DailyApiRequests: { Max: number; Remaining: number } }>({
      method: 'GET',
      path: '/limits',
    });
    return {
      used: limits.DailyApiRequests.Max - limits.DailyApiRequests.Remaining,
      limit: limits.DailyApiRequests.Max,
    };
  }

  /**
   * Waits until `calls` more API calls keep the org under the configured share of its daily allocation.
   * Reads the usage header of the last response (free); calls /limits only while paused.
   */
  async reserve(calls: number): Promise<void> {
    const share = this.config.apiAllocation.maxShare;
    let usage: { used: number; limit: number } = this.conn.limitInfo?.apiUsage ?? (await this.limits());
    if (usage.used + calls <= share * usage.limit) return;
    const started = Date.now();
    this.stats.allocationPauses++;
    this.log.warn(
      { used: usage.used, limit: usage.limit, share },
      'API allocation near its share: cycle paused',
    );
    await this.onPause?.(true, usage);
    while (usage.used + calls > share * usage.limit) {
      await sleep(this.config.apiAllocation.pauseCheckMs);
      try {
        usage = await this.limits();
      } catch (error) {
        // Another caller used up the whole allocation: keep waiting for the rolling window to free some.
        if ((error as { errorCode?: string }).errorCode !== 'REQUEST_LIMIT_EXCEEDED') throw error;
      }
    }
    this.stats.pausedMs += Date.now() - started;
    this.log.info(
      { used: usage.used, limit: usage.limit, pausedMs: Date.now() - started },
      'API allocation available: cycle resumed',
    );
    await this.onPause?.(false, usage);
  }

  /**
   * Runs one Bulk API 2.0 ingest job to its end and reads its failed and unprocessed rows. A job that ends
   * Failed (or Aborted) is submitted once more; a second failure is reported, not retried.
   */
  async runIngestJob(spec: IngestSpec, checkpoint: JobCheckpoint): Promise<IngestOutcome> {
    const jobIds: string[] = [];
    let info: IngestJobInfo | null = null;
    const existing = await checkpoint.load();
    if (existing) {
      info = await this.jobInfo(existing);
      if (info?.state === 'Open') {
        // Abandoned mid-upload: its rows may be partial, so it is aborted and the rows submitted again.
        await this.request({
          method: 'PATCH',
          path: `/jobs/ingest/${existing}`,
          body: '{"state":"Aborted"}',
          contentType: 'application/json',
        });
        info = null;
      } else if (info) {
        jobIds.push(existing);
        if (info.state === 'UploadComplete' || info.state === 'InProgress') info = await this.poll(existing);
      }
    }
    let submissions = info && (info.state === 'Failed' || info.state === 'Aborted') ? 1 : 0;
    while (!info || info.state === 'Failed' || info.state === 'Aborted') {
      if (submissions >= 2) break;
      if (submissions === 1) this.stats.resubmittedJobs++;
      submissions++;
      const id = await this.submit(spec, checkpoint);
      jobIds.push(id);
      info = await this.poll(id);
    }
    const id = jobIds[jobIds.length - 1];
    if (!info || !id) throw new Error('ingest job was never submitted');
    if (info.state !== 'JobComplete') {
      const unprocessed = await this.resultRows(id, 'unprocessedrecords');
      return {
        jobIds,
        processed: info.numberRecordsProcessed ?? 0,
        failed: [],
        unprocessed: unprocessed.map((r) => r[spec.keyColumn] ?? ''),
        jobFailure: `job ${id} ended ${info.state}: ${info.errorMessage ?? 'no message'}`,
      };
    }
    const failedRows = info.numberRecordsFailed ? await this.resultRows(id, 'failedResults') : [];
    const processed = info.numberRecordsProcessed ?? 0;
    const unprocessed = processed < spec.rows ? await this.resultRows(id, 'unprocessedrecords') : [];
    return {
      jobIds,
      processed,
      failed: failedRows.map((r) => {
        const error = r.sf__Error ?? '';
        const colon = error.indexOf(':');
        return {
          key: r[spec.keyColumn] ?? r.sf__Id ?? '',
          code: colon > 0 ? error.slice(0, colon) : error || 'UNKNOWN',
          message: error.slice(colon + 1).replace(/\s*--\s*$/, ''),
        };
      }),
      unprocessed: unprocessed.map((r) => r[spec.keyColumn] ?? ''),
      jobFailure: null,
    };
  }

  private async submit(spec: IngestSpec, checkpoint: JobCheckpoint): Promise<string> {
    // create, upload, close, a few polls, results: reserved up front so a job is never cut off half way.
    await this.reserve(6);
    const job = await this.request<IngestJobInfo>({
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
    this.stats.bulkJobs++;
    await checkpoint.save(job.id);
    await this.request({
      method: 'PUT',
      path: `/jobs/ingest/${job.id}/batches`,
      body: spec.csv,
      contentType: 'text/csv',
    });
    await this.request({
      method: 'PATCH',
      path: `/jobs/ingest/${job.id}`,
      body: '{"state":"UploadComplete"}',
      contentType: 'application/json',
    });
    return job.id;
  }

  private async jobInfo(id: string): Promise<IngestJobInfo | null> {
    try {
      return await this.request<IngestJobInfo>({ method: 'GET', path: `/jobs/ingest/${id}` });
    } catch (error) {
      if ((error as { errorCode?: string }).errorCode === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** Polls with a growing interval (250 ms up to bulkPoll.intervalMs): small jobs finish in well under a second. */
  private async poll(id: string): Promise<IngestJobInfo> {
    const deadline = Date.now() + this.config.bulkPoll.timeoutMs;
    let interval = Math.min(250, this.config.bulkPoll.intervalMs);
    for (;;) {
      const info = await this.request<IngestJobInfo>({ method: 'GET', path: `/jobs/ingest/${id}` });
      if (info.state === 'JobComplete' || info.state === 'Failed' || info.state === 'Aborted') return info;
      if (Date.now() > deadline) throw new Error(`ingest job ${id} still ${info.state} at the poll timeout`);
      await sleep(interval);
      interval = Math.min(this.config.bulkPoll.intervalMs, Math.round(interval * 1.5));
    }
  }

  private async resultRows(id: string, kind: 'failedResults' | 'unprocessedrecords'): Promise<CsvRecord[]> {
    const rows = await this.request<CsvRecord[] | string>({
      method: 'GET',
      path: `/jobs/ingest/${id}/${kind}`,
      accept: 'text/csv',
    });
    return Array.isArray(rows) ? rows : [];
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallTimeout(`Salesforce call timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
