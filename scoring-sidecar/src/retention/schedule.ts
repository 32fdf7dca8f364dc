// The scheduler role's governance jobs: the daily retention run and the periodic `audit anchor`, as BullMQ job
// schedulers on `leadrank-governance-<region>` (fixed ids: N scheduler processes make one schedule). A fired job
// runs under a lease in Redis (`<prefix>:{<region>}:governance:<job>:running`, SET NX PX, renewed while it
// runs, released by its holder only), so a job re-run by BullMQ's stalled check while the first still runs, or
// a manual `leadrank retention run` at the same time, does not run twice; the second reports the holder.
// Hand-written like the cycle and sync leases (a few lines of SET NX PX), with its own key.
import { hostname } from 'node:os';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Region } from '../store/index.js';
import type { RetentionConfig } from './config.js';

export type GovernanceJob = 'retention' | 'anchor';

export const governanceQueueName = (region: Region) => `leadrank-governance-${region}`;
export const RETENTION_SCHEDULER_ID = 'leadrank-retention';
export const ANCHOR_SCHEDULER_ID = 'leadrank-audit-anchor';

export const governanceLeaseKey = (prefix: string, region: Region, job: GovernanceJob) =>
  `${prefix}:{${region}}:governance:${job}:running`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

export class GovernanceJobRunning extends Error {
  override name = 'GovernanceJobRunning';
}

function connectionOf(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  return redis;
}

/** Runs `work` under the job's lease, or throws GovernanceJobRunning naming the holder. */
export async function underGovernanceLease<T>(
  o: { redisUrl: string; prefix: string; region: Region; job: GovernanceJob; leaseMs?: number },
  work: () => Promise<T>,
): Promise<T> {
  const redis = connectionOf(o.redisUrl);
  const key = governanceLeaseKey(o.prefix, o.region, o.job);
  const leaseMs = o.leaseMs ?? 60_000;
  const value = JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString() });
  try {
    if ((await redis.set(key, value, 'PX', leaseMs, 'NX')) !== 'OK')
      throw new GovernanceJobRunning(
        `${o.job} of region ${o.region} is already running: ${(await redis.get(key)) ?? 'lease just released'}`,
      );
    const renew = setInterval(
      () => void redis.eval(RENEW, 1, key, value, String(leaseMs)).catch(() => {}),
      Math.max(500, Math.floor(leaseMs / 3)),
    );
    renew.unref();
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await redis.eval(RELEASE, 1, key, value).catch(() => {});
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** Upserts the retention schedule and, when anchoring is possible here, the anchoring one (else removes it). */
export async function scheduleGovernance(o: {
  redisUrl: string;
  region: Region;
  prefix: string;
  schedule: RetentionConfig['schedule'];
  anchor: boolean;
}): Promise<void> {
  const connection = connectionOf(o.redisUrl);
  const queue = new Queue(governanceQueueName(o.region), { connection, prefix: o.prefix });
  const opts = { removeOnComplete: 100, removeOnFail: 100 };
  try {
    await queue.upsertJobScheduler(
      RETENTION_SCHEDULER_ID,
      { pattern: o.schedule.retention.cron, tz: o.schedule.retention.timezone },
      { name: 'retention', data: {}, opts },
    );
    if (o.anchor)
      await queue.upsertJobScheduler(
        ANCHOR_SCHEDULER_ID,
        { every: o.schedule.auditAnchor.everySeconds * 1000 },
        { name: 'anchor', data: {}, opts },
      );
  } finally {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** Runs the fired governance jobs one at a time, each under its lease. */
export function startGovernanceWorker(o: {
  redisUrl: string;
  region: Region;
  prefix: string;
  log: Logger;
  jobs: Partial<Record<GovernanceJob, () => Promise<unknown>>>;
  leaseMs?: number;
}): { close(): Promise<void> } {
  const connection = connectionOf(o.redisUrl);
  const worker = new Worker(
    governanceQueueName(o.region),
    async (job: Job) => {
      const name = job.name as GovernanceJob;
      const run = o.jobs[name];
      if (!run) throw new Error(`governance job ${job.name}: not run by this scheduler`);
      try {
        const result = await underGovernanceLease(
          {
            redisUrl: o.redisUrl,
            prefix: o.prefix,
            region: o.region,
            job: name,
            ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}),
          },
          run,
        );
        o.log.info({ job: job.id, name, result }, `${name} finished`);
        return result;
      } catch (error) {
        // Someone else runs it now: this fire is done (the next one comes on schedule).
        if (error instanceof GovernanceJobRunning) {
          o.log.info({ job: job.id, name, holder: error.message }, `${name} skipped: already running`);
          return { skipped: error.message };
        }
        o.log.warn({ job: job.id, name, err: (error as Error).message }, `${name} failed`);
        throw error;
      }
    },
    { connection, prefix: o.prefix, concurrency: 1, lockDuration: 120_000 },
  );
  worker.on('error', (error) => o.log.warn({ err: error.message }, 'governance worker error'));
  return {
    close: async () => {
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
