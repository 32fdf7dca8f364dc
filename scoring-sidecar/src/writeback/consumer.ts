// The write-back consumer: takes queued score changes, keeps the newest per lead, skips any older than what was
// already written, writes the rest (writer.ts) with retries for transient errors and moves permanent failures
// to the dead-letter list. startBullConsumer drains the BullMQ queue; startInProcessDrainer the in-process one.
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Region } from '../store/index.js';
import type { WritebackConfig } from './config.js';
import type { DeadLetterStore, WritebackDeadLetter } from './dead-letters.js';
import { coalesceByLead, writebackQueueName, type WritebackJob } from './job.js';
import type { LastWrittenScores } from './last-written.js';
import type { WritebackMetrics } from './metrics.js';
import type { InProcessWritebackQueue } from './queue.js';
import { writeToOrg, type RowOutcome, type WritebackOrgClient } from './writer.js';

export type JobOutcome = 'written' | 'superseded' | 'dead';

export interface WritebackConsumerDeps {
  region: Region;
  config: WritebackConfig;
  /** The Salesforce client (one per process), built on first use. */
  client: () => Promise<WritebackOrgClient>;
  lastWritten: LastWrittenScores;
  deadLetters: DeadLetterStore;
  log: Logger;
  metrics?: WritebackMetrics;
  /** Injected for tests of the backoff; default: jittered exponential. */
  delayOf?: (attempt: number) => number;
}

const tsOf = (job: WritebackJob) => Date.parse(job.scoredAt);

export class WritebackConsumer {
  constructor(private readonly deps: WritebackConsumerDeps) {}

  private delay(attempt: number): number {
    if (this.deps.delayOf) return this.deps.delayOf(attempt);
    const { baseDelayMs, maxDelayMs } = this.deps.config.retry;
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    return Math.round(cap / 2 + (Math.random() * cap) / 2);
  }

  /** Writes a set of jobs; an outcome per input job, in order. Throws only when its own state is unreachable. */
  async writeBatch(jobs: readonly WritebackJob[]): Promise<JobOutcome[]> {
    const { region, config, metrics, log } = this.deps;
    const newest = new Set(coalesceByLead(jobs));
    const outcomes: JobOutcome[] = jobs.map((j) => (newest.has(j) ? 'written' : 'superseded'));
    const candidates = [...newest];
    const superseded = await this.deps.lastWritten.supersededOf(
      candidates.map((j) => ({ leadId: j.leadId, scoredAtMs: tsOf(j) })),
    );
    const skip = new Set(candidates.filter((_, i) => superseded[i]));
    jobs.forEach((j, i) => {
      if (skip.has(j)) outcomes[i] = 'superseded';
    });
    metrics?.superseded.inc({ region }, outcomes.filter((o) => o === 'superseded').length);
    let pending = candidates.filter((j) => !skip.has(j));
    const dead = new Map<WritebackJob, WritebackDeadLetter>();
    const client = pending.length ? await this.deps.client() : null;
    for (let attempt = 1; pending.length > 0 && client; attempt++) {
      const { outcomes: rows, path } = await writeToOrg(client, pending, {
        bulkThreshold: config.bulkThreshold,
        history: config.history,
      });
      const ok = pending.filter((_, i) => rows[i]!.status === 'ok');
      if (ok.length) await this.written(ok, path);
      const retry: WritebackJob[] = [];
      pending.forEach((job, i) => {
        const r = rows[i]! as Exclude<RowOutcome, { status: 'ok' }> | { status: 'ok' };
        if (r.status === 'ok') return;
        if (r.status === 'retry' && attempt < config.retry.maxAttempts) {
          metrics?.retried.inc({ region, code: r.code });
          retry.push(job);
        } else {
          dead.set(job, {
            job,
            code: r.code,
            message: r.message,
            attempts: attempt,
            at: new Date().toISOString(),
          });
        }
      });
      pending = retry;
      if (pending.length) {
        const delay = this.delay(attempt);
        log.warn({ rows: pending.length, attempt, delay }, 'write-back rows failed transiently, retrying');
        await sleep(delay);
      }
    }
    if (dead.size) {
      await this.deps.deadLetters.add([...dead.values()]);
      for (const d of dead.values()) metrics?.deadLettered.inc({ region, code: d.code });
      log.error(
        { count: dead.size, codes: [...new Set([...dead.values()].map((d) => d.code))] },
        'write-back rows dead-lettered',
      );
    }
    return jobs.map((j, i) => (dead.has(j) ? 'dead' : outcomes[i]!));
  }

  private async written(jobs: WritebackJob[], path: 'collections' | 'bulk'): Promise<void> {
    const { region, metrics } = this.deps;
    await this.deps.lastWritten.record(jobs.map((j) => ({ leadId: j.leadId, scoredAtMs: tsOf(j) })));
    metrics?.written.inc({ region, path }, jobs.length);
    const now = Date.now();
    for (const j of jobs) metrics?.lag.observe({ region }, Math.max(0, (now - (j.enqueuedAt ?? now)) / 1000));
  }
}

/**
 * Gathers jobs for `flushMs` (or until `maxBatch`) and writes them as one batch; each caller's promise settles
 * with its job's outcome. Writes run one at a time, so two writes of one process never race for a lead.
 */
export class FlushBatcher {
  private pending: { job: WritebackJob; resolve: (o: JobOutcome) => void; reject: (e: Error) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly consumer: WritebackConsumer,
    private readonly flushMs: number,
    private readonly maxBatch: number,
  ) {}

  submit(job: WritebackJob): Promise<JobOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.chain = this.chain.then(async () => {
      try {
        const outcomes = await this.consumer.writeBatch(batch.map((b) => b.job));
        batch.forEach((b, i) => b.resolve(outcomes[i]!));
      } catch (error) {
        for (const b of batch) b.reject(error as Error);
      }
    });
  }
}

export interface ConsumerHandle {
  close(): Promise<void>;
}

/** Drains `leadrank-writeback-<region>` with BullMQ; any number of worker processes may share it. */
export function startBullConsumer(
  consumer: WritebackConsumer,
  o: {
    redisUrl: string;
    region: Region;
    prefix?: string;
    config: WritebackConfig;
    deadLetters: DeadLetterStore;
    log: Logger;
    /** Sampled every `pendingSampleMs` (5 s): age of the oldest job waiting on the queue, 0 when none. */
    onPendingAge?: (seconds: number) => void;
    pendingSampleMs?: number;
  },
): ConsumerHandle {
  // Workers need maxRetriesPerRequest null: a blocking command must wait out a Redis restart.
  const connection = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => {});
  const batcher = new FlushBatcher(consumer, o.config.flushMs, o.config.maxBatch);
  const worker = new Worker<WritebackJob, JobOutcome>(
    writebackQueueName(o.region),
    (job: Job<WritebackJob>) => batcher.submit(job.data),
    {
      connection,
      concurrency: o.config.maxBatch,
      ...(o.prefix ? { prefix: o.prefix } : {}),
    },
  );
  worker.on('error', (error) => o.log.warn({ err: error.message }, 'write-back worker error'));
  const inspect = new Queue<WritebackJob>(writebackQueueName(o.region), {
    connection,
    ...(o.prefix ? { prefix: o.prefix } : {}),
  });
  const sampler = o.onPendingAge
    ? setInterval(() => {
        inspect.getJobs(['waiting'], 0, 0, true).then(
          ([oldest]) => {
            const since = oldest ? (oldest.data.enqueuedAt ?? oldest.timestamp) : Date.now();
            o.onPendingAge!(Math.max(0, (Date.now() - since) / 1000));
          },
          () => {}, // Redis restarting: the next sample reports
        );
      }, o.pendingSampleMs ?? 5000)
    : null;
  sampler?.unref();
  worker.on('failed', (job, error) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    o.log.warn({ job: job.id, attempt: job.attemptsMade, err: error.message }, 'write-back job failed');
    // Its own state unreachable every time (the org errors are settled in writeBatch): keep it for a replay.
    if (job.attemptsMade >= attempts)
      void o.deadLetters
        .add([
          {
            job: job.data,
            code: 'WRITEBACK_FAILED',
            message: error.message.slice(0, 300),
            attempts: job.attemptsMade,
            at: new Date().toISOString(),
          },
        ])
        .catch(() => {});
  });
  return {
    close: async () => {
      if (sampler) clearInterval(sampler);
      await worker.close();
      await inspect.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

/** Drains the in-process queue of a process without Redis, every `flushMs`. */
export function startInProcessDrainer(
  consumer: WritebackConsumer,
  queue: InProcessWritebackQueue,
  o: { config: WritebackConfig; log: Logger; onPendingAge?: (seconds: number) => void },
): ConsumerHandle {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      o.onPendingAge?.(queue.oldestPendingSeconds());
      const jobs = queue.take(o.config.maxBatch);
      if (jobs.length === 0) {
        await sleep(o.config.flushMs);
        continue;
      }
      try {
        await consumer.writeBatch(jobs);
      } catch (error) {
        o.log.warn({ err: (error as Error).message, jobs: jobs.length }, 'write-back failed, re-queued');
        await queue.add(jobs);
        await sleep(o.config.flushMs);
      }
    }
  })();
  return {
    close: async () => {
      stopped = true;
      await loop;
    },
  };
}
