// Retraining on the same BullMQ scheduler as the cycle: `leadrank-retrain-<region>` fires on
// config/retraining.json's crons (timezone included), one scheduler per configured target: `leadrank-retrain`
// for lead models (the top-level `schedule`), `leadrank-retrain-opportunity` for deal models
// (`targets.opportunity.schedule`; none when the file has no such entry). Its worker runs the retrain command
// (`python -m leadrank_training.retrain [--target opportunity]`, docs/model.md) and records its exit code. A deal
// run first builds the deal training set from the org through the product path (`leadrank opportunities
// training-set`, passed in by the worker command). Several scheduler processes upsert the same scheduler ids,
// so each exists once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { OPPORTUNITY_ACTIVE_SPEC } from '../features/index.js';
import { runPythonModule, type ModelTarget } from '../model/index.js';
import type { Region } from '../store/index.js';

const validTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};
const scheduleSchema = z.strictObject({
  cron: z.string().regex(/^\S+(\s+\S+){4}$/, 'a 5-field cron expression'),
  timezone: z.string().refine(validTimeZone, 'an IANA time zone (e.g. UTC, Europe/Paris)'),
});

/** The part of config/retraining.json the scheduler reads (the Python side validates the whole file). */
const retrainScheduleSchema = z.object({
  schedule: scheduleSchema,
  targets: z.strictObject({ opportunity: z.object({ schedule: scheduleSchema }).optional() }).optional(),
});

export interface RetrainSchedule {
  target: ModelTarget;
  cron: string;
  timezone: string;
}

/** Every configured target's schedule (lead first); refuses a bad file naming it and the field. */
export function loadRetrainSchedules(file: string): RetrainSchedule[] {
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
  const deal = parsed.data.targets?.opportunity?.schedule;
  return [
    { target: 'lead', ...parsed.data.schedule },
    ...(deal ? [{ target: 'opportunity' as const, ...deal }] : []),
  ];
}

export const retrainQueueName = (region: Region) => `leadrank-retrain-${region}`;
/** The lead scheduler keeps the id it always had; other targets get their own. */
export const RETRAIN_SCHEDULER_ID = 'leadrank-retrain';
export const retrainSchedulerId = (target: ModelTarget) =>
  target === 'lead' ? RETRAIN_SCHEDULER_ID : `${RETRAIN_SCHEDULER_ID}-${target}`;
const ALL_TARGETS: readonly ModelTarget[] = ['lead', 'opportunity'];

function connectionOf(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  return redis;
}

/**
 * Creates or replaces each target's retraining schedule, and removes the scheduler of a target the file no
 * longer configures (so deleting `targets.opportunity` stops deal retraining).
 */
export async function scheduleRetraining(o: {
  redisUrl: string;
  region: Region;
  prefix: string;
  schedules: readonly RetrainSchedule[];
}): Promise<void> {
  const connection = connectionOf(o.redisUrl);
  const queue = new Queue(retrainQueueName(o.region), { connection, prefix: o.prefix });
  try {
    for (const s of o.schedules)
      await queue.upsertJobScheduler(
        retrainSchedulerId(s.target),
        { pattern: s.cron, tz: s.timezone },
        {
          name: 'retrain',
          data: { target: s.target },
          opts: { removeOnComplete: 100, removeOnFail: 100 },
        },
      );
    for (const target of ALL_TARGETS)
      if (!o.schedules.some((s) => s.target === target))
        await queue.removeJobScheduler(retrainSchedulerId(target));
  } finally {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}

/**
 * Args of the lead retrain command from the environment: LEADRANK_RETRAIN_DATA (training-set dir) and
 * LEADRANK_SERVABLE_FEATURES (file), plus LEADRANK_RETRAIN_ARGS (extra, space-separated) for the rest.
 */
export function retrainArgsFromEnv(env: NodeJS.ProcessEnv): string[] {
  const data = env.LEADRANK_RETRAIN_DATA?.trim();
  const servable = env.LEADRANK_SERVABLE_FEATURES?.trim();
  if (!data || !servable)
    throw new Error(
      'retraining needs LEADRANK_RETRAIN_DATA and LEADRANK_SERVABLE_FEATURES (docs/operations.md)',
    );
  return ['--data', data, '--servable-features', servable, ...extraRetrainArgs(env)];
}

const extraRetrainArgs = (env: NodeJS.ProcessEnv) =>
  env.LEADRANK_RETRAIN_ARGS?.trim() ? env.LEADRANK_RETRAIN_ARGS.trim().split(/\s+/) : [];

/** Builds the region's deal training set into a directory (`leadrank opportunities training-set --region`). */
export type BuildDealTrainingSet = (out: string) => Promise<unknown>;

/**
 * One deal retraining: the deal training set built fresh from the org, the serving code's deal features (the
 * active config/features/opportunity.json), then `retrain --target opportunity` in the region's registry.
 * The set is removed afterwards (the run's own record is retrain.json in its work directory).
 */
export async function runDealRetrain(o: {
  region: Region;
  build: BuildDealTrainingSet;
  env?: NodeJS.ProcessEnv;
  run?: (args: string[]) => Promise<number>;
}): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'leadrank-retrain-deals-'));
  try {
    const data = join(work, 'training-set');
    await o.build(data);
    const servable = join(work, 'servable-features.json');
    const features = OPPORTUNITY_ACTIVE_SPEC.definitions.map((f) => ({ name: f.name, kind: f.kind }));
    await writeFile(servable, JSON.stringify(features));
    const args = [
      '--target',
      'opportunity',
      '--data',
      data,
      '--servable-features',
      servable,
      ...extraRetrainArgs(o.env ?? process.env),
      '--region',
      o.region,
    ];
    return await (o.run ?? ((a) => runPythonModule('leadrank_training.retrain', a)))(args);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Runs fired retrain jobs, one at a time: exit 0 promoted, 1 kept the champion; 2 and 3 fail the job. A job's
 * `data.target` says which models (jobs of schedulers created before targets existed are lead jobs). A deal
 * job without `buildDealSet` fails naming what is missing.
 */
export function startRetrainWorker(o: {
  redisUrl: string;
  region: Region;
  prefix: string;
  log: Logger;
  buildDealSet?: BuildDealTrainingSet;
  /** Where LEADRANK_RETRAIN_* come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  run?: (target: ModelTarget) => Promise<number>;
}): { close(): Promise<void> } {
  const env = o.env ?? process.env;
  const connection = connectionOf(o.redisUrl);
  // The region's registry (regions/<region>/): a region's retraining registers and promotes only its models.
  const run =
    o.run ??
    ((target: ModelTarget) => {
      if (target === 'lead')
        return runPythonModule('leadrank_training.retrain', [
          ...retrainArgsFromEnv(env),
          '--region',
          o.region,
        ]);
      if (!o.buildDealSet)
        throw new Error('deal retraining needs the org to build its training set (leadrank worker)');
      return runDealRetrain({ region: o.region, build: o.buildDealSet, env });
    });
  const worker = new Worker(
    retrainQueueName(o.region),
    async (job: Job<{ target?: ModelTarget }>) => {
      const target = job.data?.target ?? 'lead';
      if (!ALL_TARGETS.includes(target)) throw new Error(`retrain job ${job.id}: unknown target ${target}`);
      const code = await run(target);
      o.log.info({ job: job.id, target, exitCode: code, promoted: code === 0 }, 'retraining finished');
      if (code >= 2)
        throw new Error(`${target} retraining exited ${code} (2: bad config or input, 3: too few rows)`);
      return { target, exitCode: code };
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
