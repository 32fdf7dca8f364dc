// Two ways to run a cycle. Embedded: every task runs inline in this process (no Redis needed). Distributed:
// BullMQ queues per region, `leadrank-batch-cycles-<region>` (one coordinator job per cycle, fired by a job
// scheduler) and `leadrank-batch-tasks-<region>` (score and write tasks) that any number of worker processes
// sharing the Redis take. A killed worker's task is recovered by BullMQ's stalled-job check and runs again;
// tasks are idempotent (see cycle.ts).
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Region } from '../store/index.js';
import {
  coordinateCycle,
  createCycle,
  cycleReport,
  listCycles,
  loadMeta,
  newCycleId,
  runTask,
  taskId,
  type BatchTask,
  type CycleModel,
  type CycleShadow,
  type TaskDispatcher,
} from './cycle.js';
import { CycleRunningError } from './cycle-lock.js';
import { newOpportunityCycleId, type OpportunityCycleReport } from './opportunity-cycle.js';
import { runOpportunityCycleOnce } from './opportunity-runner.js';
import type { OpportunityScorer } from '../scoring/index.js';
import type { CycleReport } from './report.js';
import type { BatchRuntime } from './runtime.js';

export interface CycleRequest {
  cycleId?: string;
  mode?: 'full' | 'incremental';
  /** Incremental start (SystemModstamp); default: the scoring instant of the last completed cycle. */
  since?: string | null;
  limit?: number | null;
  /** Overrides the champion lookup (tests); null forces rules. */
  model?: CycleModel | null;
  /** Overrides the live shadow experiment lookup (tests); null: no shadow scores. */
  shadow?: CycleShadow | null;
  asOf?: string;
}

/** The scoring instant of the newest completed cycle: incremental runs take leads modified after it. */
export async function sinceOfLastCycle(rt: BatchRuntime): Promise<string | null> {
  const ids = await listCycles(rt.state);
  for (const id of ids.reverse()) {
    const meta = await loadMeta(rt.state, id).catch(() => null);
    if (meta?.phase === 'done') return meta.asOf;
  }
  return null;
}

async function startCycle(rt: BatchRuntime, req: CycleRequest, defaultId: string): Promise<string> {
  const cycleId = req.cycleId ?? defaultId;
  const mode = req.mode ?? 'full';
  const since = mode === 'incremental' ? (req.since ?? (await sinceOfLastCycle(rt))) : null;
  const model = req.model !== undefined ? req.model : await rt.resolveModel();
  const shadow = req.shadow !== undefined ? req.shadow : await rt.resolveShadow();
  await createCycle(rt, {
    cycleId,
    mode,
    since,
    limit: req.limit ?? null,
    model,
    shadow,
    ruleSetVersion: rt.ruleSetVersion,
    ...(req.asOf ? { asOf: new Date(req.asOf) } : {}),
  });
  return cycleId;
}

/** Runs a whole cycle in this process; refused (CycleRunningError) while another cycle of the region runs. */
export async function runCycleInProcess(rt: BatchRuntime, req: CycleRequest = {}): Promise<CycleReport> {
  const lease = await rt.cycleLock.acquire(req.cycleId ?? newCycleId(rt.region));
  try {
    const cycleId = await startCycle(rt, req, newCycleId(rt.region));
    const inline: TaskDispatcher = {
      dispatch: async (tasks) => {
        for (const task of tasks) await runTask(rt, task);
      },
    };
    return await coordinateCycle(rt, cycleId, inline);
  } finally {
    await lease.release();
  }
}

export function batchQueueNames(region: Region): { cycles: string; tasks: string } {
  return { cycles: `leadrank-batch-cycles-${region}`, tasks: `leadrank-batch-tasks-${region}` };
}

function bullConnection(url: string): Redis {
  // BullMQ workers need maxRetriesPerRequest null: a blocking command must wait out a Redis restart.
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
  redis.on('error', () => {});
  return redis;
}

export interface BatchQueues {
  cycles: Queue<CycleRequest>;
  tasks: Queue<BatchTask>;
  close(): Promise<void>;
}

export function openBatchQueues(rt: BatchRuntime): BatchQueues {
  if (!rt.redisUrl) throw new Error('the distributed runner needs REDIS_URL');
  const connection = bullConnection(rt.redisUrl);
  const names = batchQueueNames(rt.region);
  const cycles = new Queue<CycleRequest>(names.cycles, { connection, prefix: rt.keyPrefix });
  const tasks = new Queue<BatchTask>(names.tasks, { connection, prefix: rt.keyPrefix });
  return {
    cycles,
    tasks,
    close: async () => {
      await Promise.allSettled([cycles.close(), tasks.close()]);
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

/** Adds a cycle job; its id is the cycle id, so adding the same cycle twice runs it once. */
export async function enqueueCycle(
  queues: BatchQueues,
  region: Region,
  req: CycleRequest = {},
): Promise<string> {
  const cycleId = req.cycleId ?? newCycleId(region);
  await queues.cycles.add(
    'cycle',
    { ...req, cycleId },
    { jobId: cycleId, attempts: 1000, backoff: { type: 'fixed', delay: 5000 }, removeOnComplete: 500 },
  );
  return cycleId;
}

/** The repeatable cycle (config schedule.everyMs); re-running replaces the schedule, never duplicates it. */
export async function scheduleCycles(
  queues: BatchQueues,
  everyMs: number,
  req: Omit<CycleRequest, 'cycleId'> = {},
): Promise<void> {
  await queues.cycles.upsertJobScheduler(
    'leadrank-batch-cycle',
    { every: everyMs },
    { name: 'cycle', data: req, opts: { attempts: 1000, backoff: { type: 'fixed', delay: 5000 } } },
  );
}

function queueDispatcher(rt: BatchRuntime, tasks: Queue<BatchTask>): TaskDispatcher {
  const q = rt.config.queue;
  const add = (list: BatchTask[]) =>
    tasks.addBulk(
      list.map((data) => ({
        name: data.type,
        data,
        opts: {
          jobId: taskId(data),
          attempts: q.attempts,
          backoff: { type: 'exponential', delay: q.backoffMs },
          removeOnComplete: { age: 86_400 },
          removeOnFail: { age: 7 * 86_400 },
        },
      })),
    );
  return {
    dispatch: async (list) => {
      if (list.length) await add(list);
    },
    revive: async (list) => {
      for (const task of list) {
        const job = await tasks.getJob(taskId(task));
        if (!job) await add([task]);
        else if ((await job.getState()) === 'failed') {
          rt.log.warn({ task: taskId(task), reason: job.failedReason }, 'task failed for good: queued again');
          await job.retry('failed');
        }
      }
    },
  };
}

export interface BatchWorkerHandle {
  close(): Promise<void>;
}

/**
 * Starts this process's workers: task workers (score and write) and, with `coordinator`, the cycle worker that
 * drives cycles (one cycle at a time per process; BullMQ hands each cycle job to one process).
 */
export function startBatchWorkers(
  rt: BatchRuntime,
  opts: { tasks?: boolean; coordinator?: boolean } = {},
): BatchWorkerHandle {
  if (!rt.redisUrl) throw new Error('the distributed runner needs REDIS_URL');
  const q = rt.config.queue;
  const names = batchQueueNames(rt.region);
  const closers: (() => Promise<unknown>)[] = [];
  const connections: Redis[] = [];
  const common = {
    prefix: rt.keyPrefix,
    lockDuration: q.lockDurationMs,
    stalledInterval: q.stalledIntervalMs,
    maxStalledCount: 10,
  };
  if (opts.tasks ?? true) {
    const connection = bullConnection(rt.redisUrl);
    connections.push(connection);
    const worker = new Worker<BatchTask>(names.tasks, async (job: Job<BatchTask>) => runTask(rt, job.data), {
      ...common,
      connection,
      concurrency: q.concurrency,
    });
    worker.on('failed', (job, error) =>
      rt.log.warn({ task: job?.id, attempt: job?.attemptsMade, err: error.message }, 'batch task failed'),
    );
    worker.on('error', (error) => rt.log.warn({ err: error.message }, 'batch task worker error'));
    closers.push(() => worker.close());
  }
  if (opts.coordinator) {
    const connection = bullConnection(rt.redisUrl);
    const producer = bullConnection(rt.redisUrl);
    connections.push(connection, producer);
    const tasks = new Queue<BatchTask>(names.tasks, { connection: producer, prefix: rt.keyPrefix });
    const dispatcher = queueDispatcher(rt, tasks);
    const worker = new Worker<CycleRequest, CycleReport | { skipped: string }>(
      names.cycles,
      async (job: Job<CycleRequest>) => {
        // A scheduled job carries no cycle id: it is derived from the job's own time, stable across retries.
        const defaultId = newCycleId(rt.region, new Date(job.timestamp));
        let lease;
        try {
          lease = await rt.cycleLock.acquire(job.data.cycleId ?? defaultId);
        } catch (error) {
          // A scheduled fire while another cycle runs is skipped (the next fire comes); a queued cycle waits.
          if (error instanceof CycleRunningError && job.repeatJobKey) {
            rt.log.warn({ job: job.id, err: error.message }, 'scheduled cycle skipped');
            return { skipped: error.message };
          }
          throw error;
        }
        try {
          const cycleId = await startCycle(rt, job.data, defaultId);
          return await coordinateCycle(rt, cycleId, dispatcher);
        } finally {
          await lease.release();
        }
      },
      { ...common, connection, concurrency: 1 },
    );
    worker.on('failed', (job, error) =>
      rt.log.error({ cycle: job?.id, err: error.message }, 'cycle attempt failed; it resumes on retry'),
    );
    worker.on('error', (error) => rt.log.warn({ err: error.message }, 'cycle worker error'));
    closers.push(
      () => worker.close(),
      () => tasks.close(),
    );
  }
  return {
    close: async () => {
      await Promise.allSettled(closers.map((close) => close()));
      for (const c of connections) await c.quit().catch(() => c.disconnect());
    },
  };
}

/** Waits for a queued cycle to finish and returns its report. */
export async function waitForCycle(
  rt: BatchRuntime,
  cycleId: string,
  pollMs = 500,
  timeoutMs = 6 * 3_600_000,
): Promise<CycleReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const meta = await loadMeta(rt.state, cycleId).catch(() => null);
    if (meta?.phase === 'done') {
      const report = await cycleReport(rt.state, cycleId).catch(() => null);
      if (report) return report;
    }
    if (Date.now() > deadline) throw new Error(`cycle ${cycleId} not done after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The opportunity cycle's queue: one job per fire of config/opportunity-batch.json's schedule. */
export const opportunityQueueName = (region: Region) => `leadrank-opportunity-cycles-${region}`;
export const OPPORTUNITY_SCHEDULER_ID = 'leadrank-opportunity-cycle';

/** Creates or replaces the repeatable opportunity cycle; several scheduler processes still make one schedule. */
export async function scheduleOpportunityCycles(rt: BatchRuntime, everyMs: number): Promise<void> {
  if (!rt.redisUrl) throw new Error('the opportunity schedule needs REDIS_URL');
  const connection = bullConnection(rt.redisUrl);
  const queue = new Queue<OpportunityCycleRequestData>(opportunityQueueName(rt.region), {
    connection,
    prefix: rt.keyPrefix,
  });
  try {
    await queue.upsertJobScheduler(
      OPPORTUNITY_SCHEDULER_ID,
      { every: everyMs },
      {
        name: 'opportunity-cycle',
        data: {},
        opts: {
          attempts: rt.config.queue.attempts,
          backoff: { type: 'exponential', delay: Math.max(1000, rt.config.queue.backoffMs) },
          removeOnComplete: 100,
          removeOnFail: 100,
        },
      },
    );
  } finally {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** A queued opportunity cycle: a scheduled fire carries nothing; its id comes from the job's time. */
export interface OpportunityCycleRequestData {
  cycleId?: string;
}

/**
 * Runs fired opportunity cycles, one at a time per process; BullMQ hands each fire to one process and the
 * opportunity lease refuses a second cycle of the region (a fire while one runs is skipped: the next comes).
 * A failed attempt is retried with the same cycle id, so it resumes where it stopped.
 */
export function startOpportunityCycleWorker(
  rt: BatchRuntime,
  scorer: OpportunityScorer,
  o: { collectionsMaxRows?: number } = {},
): BatchWorkerHandle {
  if (!rt.redisUrl) throw new Error('the opportunity schedule needs REDIS_URL');
  const connection = bullConnection(rt.redisUrl);
  const worker = new Worker<OpportunityCycleRequestData, OpportunityCycleReport | { skipped: string }>(
    opportunityQueueName(rt.region),
    async (job) => {
      const cycleId = job.data.cycleId ?? newOpportunityCycleId(rt.region, new Date(job.timestamp));
      try {
        return await runOpportunityCycleOnce(rt, scorer, { cycleId, ...o });
      } catch (error) {
        // Another cycle holds the lease: this fire is skipped (the next comes). The lease of this very cycle, left
        // by an attempt whose process died, expires by itself: the attempt fails and BullMQ retries it later.
        if (error instanceof CycleRunningError && job.repeatJobKey && error.holder.cycleId !== cycleId) {
          rt.metrics.opportunityCycleSkipped(rt.region);
          rt.log.warn({ job: job.id, err: error.message }, 'scheduled opportunity cycle skipped');
          return { skipped: error.message };
        }
        throw error;
      }
    },
    {
      connection,
      prefix: rt.keyPrefix,
      concurrency: 1,
      lockDuration: rt.config.queue.lockDurationMs,
      stalledInterval: rt.config.queue.stalledIntervalMs,
    },
  );
  worker.on('failed', (job, error) =>
    rt.log.error(
      { job: job?.id, attempt: job?.attemptsMade, err: error.message },
      'opportunity cycle attempt failed; it resumes on retry',
    ),
  );
  worker.on('error', (error) => rt.log.warn({ err: error.message }, 'opportunity cycle worker error'));
  return {
    close: async () => {
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
