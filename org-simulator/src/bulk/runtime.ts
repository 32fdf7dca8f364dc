// Stands in for the org's Bulk API service state: jobs, their files, rolling allocations.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SimulatorContext } from '../context.js';
import { makeId } from '../ids.js';
import type { IngestJob } from './ingest-job.js';
import type { QueryJob } from './query-job.js';
import { BulkUsage, type BulkLimits } from './usage.js';

export interface BulkOptions {
  /** Where job data and result files live; default: a fresh temp dir removed at process exit. */
  jobsDir?: string;
  limits?: Partial<BulkLimits>;
  /** Upload cap on the base64-encoded size, as documented (150 MB). */
  maxUploadBytes?: number;
  /** Rows per internal ingest batch (Salesforce: 10,000). */
  ingestBatchSize?: number;
  /** maxRecords of a query results page when the client gives none. */
  defaultQueryPageSize?: number;
}

export interface BulkConfig {
  maxUploadBytes: number;
  ingestBatchSize: number;
  defaultQueryPageSize: number;
}

export const DEFAULT_BULK_CONFIG: BulkConfig = {
  maxUploadBytes: 150 * 1024 * 1024,
  ingestBatchSize: 10_000,
  defaultQueryPageSize: 50_000,
};

/** Per-simulator Bulk API state: jobs, their files on disk, the rolling allocations. */
export class BulkRuntime {
  readonly usage: BulkUsage;
  readonly jobsDir: string;
  readonly config: BulkConfig;
  readonly ingestJobs = new Map<string, IngestJob>();
  readonly queryJobs = new Map<string, QueryJob>();
  private readonly running = new Set<Promise<void>>();
  private jobSequence: number;
  private readonly ownsJobsDir: boolean;

  constructor(
    readonly ctx: SimulatorContext,
    opts: BulkOptions = {},
  ) {
    this.usage = new BulkUsage(opts.limits);
    this.config = { ...DEFAULT_BULK_CONFIG, ...pickDefined(opts) };
    this.ownsJobsDir = opts.jobsDir === undefined;
    // Created lazily by the first job, so simulators that never use Bulk API leave nothing behind.
    this.jobsDir = opts.jobsDir ?? tempJobsDir();
    // Seconds since 2020 keep Ids of separate simulator runs apart.
    this.jobSequence = Math.floor((Date.now() - Date.UTC(2020, 0, 1)) / 1000) * 1000;
  }

  configure(opts: BulkOptions): void {
    Object.assign(this.config, pickDefined(opts));
    if (opts.limits) this.usage.setLimits(opts.limits);
  }

  nextJobId(): string {
    this.jobSequence += 1;
    return makeId('750', this.jobSequence);
  }

  jobDir(jobId: string): string {
    return path.join(this.jobsDir, jobId);
  }

  /** Tracks background processing so callers (tests, shutdown) can wait for it. */
  track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  async whenIdle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Waits for background work, then removes the jobs dir if this runtime created it (call on shutdown). */
  async dispose(): Promise<void> {
    await this.whenIdle();
    if (this.ownsJobsDir) {
      rmSync(this.jobsDir, { recursive: true, force: true });
      tempDirs.delete(this.jobsDir);
    }
  }
}

function pickDefined(opts: BulkOptions): Partial<BulkConfig> {
  const out: Partial<BulkConfig> = {};
  if (opts.maxUploadBytes !== undefined) out.maxUploadBytes = opts.maxUploadBytes;
  if (opts.ingestBatchSize !== undefined) out.ingestBatchSize = opts.ingestBatchSize;
  if (opts.defaultQueryPageSize !== undefined) out.defaultQueryPageSize = opts.defaultQueryPageSize;
  return out;
}

const tempDirs = new Set<string>();
let exitHookInstalled = false;

function tempJobsDir(): string {
  const dir = path.join(tmpdir(), `org-sim-bulk-${process.pid}-${randomUUID().slice(0, 8)}`);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  tempDirs.add(dir);
  return dir;
}

const runtimes = new WeakMap<SimulatorContext, BulkRuntime>();

/** The Bulk API runtime of a simulator (created on first use); `opts` reconfigure it. */
export function bulkRuntime(ctx: SimulatorContext, opts?: BulkOptions): BulkRuntime {
  let runtime = runtimes.get(ctx);
  if (!runtime) {
    runtime = new BulkRuntime(ctx, opts);
    runtimes.set(ctx, runtime);
  } else if (opts) {
    runtime.configure(opts);
  }
  return runtime;
}
