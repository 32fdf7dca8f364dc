// Retraining on the same BullMQ scheduler as the cycle: `leadrank-retrain-<region>` fires on
// config/retraining.json's cron (timezone included); its worker runs the existing retrain command
// (`python -m leadrank_training.retrain`, docs/model.md) and records its exit code. Several scheduler processes
// upsert the same scheduler id, so it exists once.
import { readFileSync } from 'node:fs';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { runPythonModule } from '../model/index.js';
import type { Region } from '../store/index.js';

/** The part of config/retraining.json the scheduler reads (the Python side validates the whole file). */
const retrainScheduleSchema = z.object({
  schedule: z.strictObject({ cron: z.string().min(9), timezone: z.string().min(1) }),
});

export function loadRetrainSchedule(file: string): { cron: string; timezone: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: cannot read JSON (${(error as Error).message})`);
  }
  const parsed = retrainScheduleSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data.schedule;
}

export const retrainQueueName = (region: Region) => `leadrank-retrain-${region}`;
export const RETRAIN_SCHEDULER_ID = 'leadrank-retrain';

function connectionOf(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  return redis;
}

/** Creates or replaces the retraining schedule; returns the queue's next fire time. */
export async function scheduleRetraining(o: {
  redisUrl: string;
  region: Region;
  prefix: string;
  schedule: { cron: string; timezone: string };
}): Promise<void> {
  const connection = connectionOf(o.redisUrl);
  const queue = new Queue(retrainQueueName(o.region), { connection, prefix: o.prefix });
  try {
    await queue.upsertJobScheduler(
      RETRAIN_SCHEDULER_ID,
      { pattern: o.schedule.cron, tz: o.schedule.timezone },
      { name: 'retrain', data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  } finally {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}

/**
 * Args of the retrain command from the environment: LEADRANK_RETRAIN_DATA (training-set dir) and
 * LEADRANK_SERVABLE_FEATURES (file), plus LEADRANK_RETRAIN_ARGS (extra, space-separated) for the rest.
 */
export function retrainArgsFromEnv(env: NodeJS.ProcessEnv): string[] {
  const data = env.LEADRANK_RETRAIN_DATA?.trim();
  const servable = env.LEADRANK_SERVABLE_FEATURES?.trim();
  if (!data || !servable)
    throw new Error(
      'retraining needs LEADRANK_RETRAIN_DATA and LEADRANK_SERVABLE_FEATURES (docs/operations.md)',
    );
  return [
    '--data',
    data,
    '--servable-features',
    servable,
    ...(env.LEADRANK_RETRAIN_ARGS?.trim().split(/\s+/) ?? []),
  ];
}

/** Runs fired retrain jobs, one at a time: exit 0 promoted, 1 kept the champion; 2 and 3 fail the job. */
export function startRetrainWorker(o: {
  redisUrl: string;
  region: Region;
  prefix: string;
  log: Logger;
  run?: () => Promise<number>;
}): { close(): Promise<void> } {
  const connection = connectionOf(o.redisUrl);
  // The region's registry (regions/<region>/): a region's retraining registers and promotes only its models.
  const run =
    o.run ??
    (() =>
      runPythonModule('leadrank_training.retrain', [
        ...retrainArgsFromEnv(process.env),
        '--region',
        o.region,
      ]));
  const worker = new Worker(
    retrainQueueName(o.region),
    async (job: Job) => {
      const code = await run();
      o.log.info({ job: job.id, exitCode: code, promoted: code === 0 }, 'retraining finished');
      if (code >= 2) throw new Error(`retraining exited ${code} (2: bad config or input, 3: too few rows)`);
      return { exitCode: code };
    },
    { connection, prefix: o.prefix, concurrency: 1, lockDuration: 120_000 },
  );
  worker.on('error', (error) => o.log.warn({ err: error.message }, 'retrain worker error'));
  return {
    close: async () => {
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
