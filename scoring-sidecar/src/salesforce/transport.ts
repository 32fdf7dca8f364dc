// Every Leadrank call to Salesforce goes through here: one retry policy (p-retry: exponential backoff with
// jitter, the rule in errors.ts), one per-call timeout (AbortSignal.timeout), one poll loop for Bulk API 2.0
// jobs, the API allocation guard, and the counters the batch report prints. fetch, not jsforce's request:
// jsforce 3 retries 5xx on its own (a second, hidden policy) and takes no AbortSignal.
import { setTimeout as sleep } from 'node:timers/promises';
import type jsforce from 'jsforce';
import pRetry from 'p-retry';
import { UNPACKAGED, type SalesforceNames } from '../config/index.js';
import { pino, type Logger } from 'pino';
import { errorFromBody, isRetryable, SalesforceError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per attempt, headers and body. */
  timeoutMs: number;
}

export interface PollPolicy {
  /** The longest wait between two polls (polls start at 250 ms and grow by half each time). */
  intervalMs: number;
  timeoutMs: number;
}

export interface ApiAllocationPolicy {
  /** Share of the org's DailyApiRequests Leadrank may use before it pauses. */
  maxShare: number;
  pauseCheckMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  timeoutMs: 120_000,
};
export const DEFAULT_POLL_POLICY: PollPolicy = { intervalMs: 1_000, timeoutMs: 60 * 60_000 };

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

export interface SalesforceClientOptions {
  retry?: Partial<RetryPolicy>;
  poll?: Partial<PollPolicy>;
  /** Absent: no allocation guard (`reserve` returns at once). */
  apiAllocation?: ApiAllocationPolicy;
  log?: Logger;
  /**
   * The package namespace's names layer (config/salesforce.json): SOQL, objects, fields and CSV headers go out
   * qualified, rows come back under local names. Default: unpackaged (names as force-app spells them).
   */
  names?: SalesforceNames;
  onPause?: (paused: boolean, usage: { used: number; limit: number }) => Promise<void> | void;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface CallSpec {
  method: HttpMethod;
  /** Under /services/data/vXX.X (e.g. `/limits`), or a full path from the org (`/services/data/…`). */
  path: string;
  body?: string;
  contentType?: string;
  accept?: string;
  /** Writes may also retry UNABLE_TO_LOCK_ROW. */
  write?: boolean;
}

const JOB_DONE = new Set(['JobComplete', 'Failed', 'Aborted']);

export class SalesforceTransport {
  readonly stats: ClientStats = emptyClientStats();
  readonly retry: RetryPolicy;
  readonly poll: PollPolicy;
  protected readonly log: Logger;
  /** The names layer every call of this client goes through. */
  readonly names: SalesforceNames;

  constructor(
    readonly conn: jsforce.Connection,
    protected readonly opts: SalesforceClientOptions = {},
  ) {
    this.retry = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.poll = { ...DEFAULT_POLL_POLICY, ...opts.poll };
    this.names = opts.names ?? UNPACKAGED;
    this.log = opts.log ?? pino({ name: 'salesforce', level: process.env.LOG_LEVEL ?? 'info' });
  }

  get base(): string {
    return `/services/data/v${this.conn.version}`;
  }

  private url(path: string): string {
    return `${this.conn.instanceUrl}${path.startsWith('/services/') ? path : `${this.base}${path}`}`;
  }

  /** One HTTP exchange, no retry; a 401 renews the session once. Non-2xx answers throw SalesforceError. */
  private async once(spec: CallSpec): Promise<Response> {
    for (let renewed = false; ; renewed = true) {
      this.stats.apiCalls++;
      const res = await fetch(this.url(spec.path), {
        method: spec.method,
        headers: {
          Authorization: `Bearer ${this.conn.accessToken}`,
          Accept: spec.accept ?? 'application/json',
          ...(spec.contentType ? { 'Content-Type': spec.contentType } : {}),
        },
        ...(spec.body !== undefined ? { body: spec.body } : {}),
        signal: AbortSignal.timeout(this.retry.timeoutMs),
      });
      this.recordUsage(res);
      if (res.ok) return res;
      const text = await res.text();
      if (res.status === 401 && !renewed) {
        // An expired session: a jsforce call renews it through the connection's refreshFn (the
        // server-to-server grants have no refresh token), then this exchange runs once more.
        await this.conn.request(`${this.base}/limits`);
        continue;
      }
      throw errorFromBody(res.status, text);
    }
  }

  private recordUsage(res: Response): void {
    const m = /api-usage=(\d+)\/(\d+)/.exec(res.headers.get('sforce-limit-info') ?? '');
    if (m) this.lastUsage = { used: Number(m[1]), limit: Number(m[2]) };
  }

  private lastUsage: { used: number; limit: number } | null = null;

  /** `spec` under the retry policy; the Response is returned unread (callers stream it). */
  async send(spec: CallSpec): Promise<Response> {
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.retry;
    return pRetry(() => this.once(spec), {
      retries: Math.max(0, maxAttempts - 1),
      minTimeout: baseDelayMs,
      maxTimeout: maxDelayMs,
      factor: 2,
      randomize: true,
      shouldRetry: ({ error }) => isRetryable(error, { write: spec.write ?? false }),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        if (retriesLeft <= 0 || !isRetryable(error, { write: spec.write ?? false })) return;
        this.stats.retriedCalls++;
        this.log.warn(
          {
            method: spec.method,
            // Ids and SOQL stay out of the logs (customer data).
            path: spec.path.replace(/\?.*$/, '').replace(/\/[0-9A-Za-z]{15,18}(?=\/|$)/g, '/:id'),
            attempt: attemptNumber,
            code: (error as SalesforceError).errorCode ?? (error as { code?: string }).code ?? error.name,
            err: error.message,
          },
          'salesforce call failed, retrying',
        );
      },
    });
  }

  /** A call whose answer is JSON (or nothing: 204). */
  async request<T>(spec: CallSpec): Promise<T> {
    const res = await this.send(spec);
    const text = await res.text();
    if (!text) return undefined as T;
    if ((res.headers.get('content-type') ?? '').includes('json')) return JSON.parse(text) as T;
    return text as T;
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
    const policy = this.opts.apiAllocation;
    if (!policy) return;
    let usage = this.lastUsage ?? (await this.limits());
    // Reserved calls count as used until the org's next Sforce-Limit-Info says otherwise: callers that then
    // call through jsforce directly (collections in the write-back) pass no header back through this transport.
    const spend = (u: { used: number; limit: number }) => {
      this.lastUsage = { used: u.used + calls, limit: u.limit };
    };
    if (usage.used + calls <= policy.maxShare * usage.limit) return spend(usage);
    const started = Date.now();
    this.stats.allocationPauses++;
    this.log.warn(
      { used: usage.used, limit: usage.limit, share: policy.maxShare },
      'API allocation near its share: paused',
    );
    await this.opts.onPause?.(true, usage);
    while (usage.used + calls > policy.maxShare * usage.limit) {
      await sleep(policy.pauseCheckMs);
      try {
        usage = await this.limits();
      } catch (error) {
        // Another caller used up the whole allocation: keep waiting for the rolling window to free some.
        if ((error as { errorCode?: string }).errorCode !== 'REQUEST_LIMIT_EXCEEDED') throw error;
      }
    }
    spend(usage);
    this.stats.pausedMs += Date.now() - started;
    this.log.info(
      { used: usage.used, limit: usage.limit, pausedMs: Date.now() - started },
      'API allocation available: resumed',
    );
    await this.opts.onPause?.(false, usage);
  }

  /**
   * The one poll loop for Bulk API 2.0 jobs (query and ingest): until the job is JobComplete, Failed or
   * Aborted; 250 ms first, growing by half up to `poll.intervalMs`; gives up after `poll.timeoutMs`.
   */
  async pollJob<T extends { state: string }>(path: string, policy: PollPolicy = this.poll): Promise<T> {
    const deadline = AbortSignal.timeout(policy.timeoutMs);
    let interval = Math.min(250, policy.intervalMs);
    for (;;) {
      const info = await this.request<T>({ method: 'GET', path });
      if (JOB_DONE.has(info.state)) return info;
      try {
        await sleep(interval, undefined, { signal: deadline });
      } catch {
        throw new SalesforceError(
          0,
          'POLL_TIMEOUT',
          `${path} still ${info.state} after ${policy.timeoutMs} ms`,
        );
      }
      interval = Math.min(policy.intervalMs, Math.round(interval * 1.5));
    }
  }
}
