// The write-back queue, producer side: `leadrank-writeback-<region>`, a BullMQ queue when REDIS_URL is set (the
// worker's write-back role consumes it, consumer.ts), else a bounded in-process queue that the serving process
// drains itself (startInProcessDrainer). Either way the consumer writes the changes to Salesforce.
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Region } from '../store/index.js';
import { writebackJobId, writebackQueueName, type WritebackJob } from './job.js';

export interface WritebackQueue {
  readonly name: string;
  /** `replayOf`: a dead-letter replay, queued under a new job id (the failed one may still be kept). */
  add(jobs: WritebackJob[], opts?: { replayOf?: string }): Promise<void>;
  close(): Promise<void>;
}

/** The default bound of the in-process queue (config/writeback.json inProcess.maxPending overrides it). */
export const IN_PROCESS_MAX_PENDING = 100_000;

/**
 * Jobs kept in this process until its drainer takes them (lost on restart, like the embedded store). One entry
 * per lead (a newer score replaces an older one: only the newest is worth writing) and at most `maxPending`
 * leads: past that the oldest entry is dropped and counted, and the next batch cycle writes that lead.
 */
export class InProcessWritebackQueue implements WritebackQueue {
  private readonly jobs = new Map<string, WritebackJob>();
  readonly name: string;
  dropped = 0;

  constructor(
    region: Region,
    private readonly maxPending = IN_PROCESS_MAX_PENDING,
  ) {
    this.name = writebackQueueName(region);
  }

  async add(jobs: WritebackJob[]): Promise<void> {
    const now = Date.now();
    for (const job of jobs) {
      const seen = this.jobs.get(job.leadId);
      if (seen && Date.parse(seen.scoredAt) > Date.parse(job.scoredAt)) continue;
      this.jobs.delete(job.leadId);
      this.jobs.set(job.leadId, { ...job, enqueuedAt: seen?.enqueuedAt ?? job.enqueuedAt ?? now });
      if (this.jobs.size > this.maxPending) {
        const oldest = this.jobs.keys().next().value as string;
        this.jobs.delete(oldest);
        this.dropped++;
      }
    }
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Age of the longest-waiting entry (seconds; 0 when empty): the write-back lag gauge. */
  oldestPendingSeconds(now = Date.now()): number {
    let oldest = now;
    for (const job of this.jobs.values()) oldest = Math.min(oldest, job.enqueuedAt ?? now);
    return (now - oldest) / 1000;
  }

  /** Removes and returns up to `max` jobs, oldest first. */
  take(max = Infinity): WritebackJob[] {
    const out: WritebackJob[] = [];
    for (const [leadId, job] of this.jobs) {
      if (out.length >= max) break;
      out.push(job);
      this.jobs.delete(leadId);
    }
    return out;
  }

  async close(): Promise<void> {}
}

/**
 * Job options of every queued change. The attempts cover the consumer's own state being unreachable (Redis
 * restarting); org errors are retried inside the consumer and end as dead letters, not as failed jobs.
 */
export const WRITEBACK_JOB_OPTS = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: 10_000,
  removeOnFail: 50_000,
} as const;

class BullWritebackQueue implements WritebackQueue {
  readonly name: string;
  private readonly queue: Queue;
  private readonly connection: Redis;

  constructor(redisUrl: string, region: Region, prefix: string | undefined, redisOptions: RedisOptions) {
    this.name = writebackQueueName(region);
    // BullMQ wants its own connection; a queue (producer) may keep retries, only workers need null.
    this.connection = new Redis(redisUrl, { ...redisOptions, maxRetriesPerRequest: null });
    this.queue = new Queue(this.name, { connection: this.connection, ...(prefix ? { prefix } : {}) });
  }

  async add(jobs: WritebackJob[], opts: { replayOf?: string } = {}): Promise<void> {
    if (jobs.length === 0) return;
    const now = Date.now();
    await this.queue.addBulk(
      jobs.map((job) => ({
        name: 'score-change',
        data: { ...job, enqueuedAt: opts.replayOf ? now : (job.enqueuedAt ?? now) },
        opts: {
          jobId: `${writebackJobId(job)}${opts.replayOf ? `-replay-${opts.replayOf}` : ''}`,
          ...WRITEBACK_JOB_OPTS,
        },
      })),
    );
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.connection.quit().catch(() => {});
  }
}

export function createWritebackQueue(
  env: Record<string, string | undefined>,
  region: Region,
  redisOptions: RedisOptions = {},
  maxPending = IN_PROCESS_MAX_PENDING,
): WritebackQueue {
  const url = env.REDIS_URL?.trim();
  if (!url) return new InProcessWritebackQueue(region, maxPending);
  return new BullWritebackQueue(url, region, env.LEADRANK_BULLMQ_PREFIX?.trim() || undefined, redisOptions);
}
