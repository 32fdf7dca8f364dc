// `leadrank writeback …`: the operator's view of the event write-back: pending jobs and dead letters (list,
// replay onto the queue, where the worker's write-back role writes them). Needs REDIS_URL: without it the queue
// and its dead letters live inside the serving process.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { z } from 'zod';
import type { Region } from '../store/index.js';
import { createWritebackQueue, replayDeadLetters, writebackQueueName } from '../writeback/index.js';
import { writebackRuntimeFromEnv } from './writeback-runtime.js';

const ROOT = process.env.LEADRANK_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

function regionOf(flag: string | undefined): Region {
  const parsed = z.enum(['US', 'EU']).safeParse(flag ?? process.env.REGION);
  if (!parsed.success) throw new Error('set --region US|EU (or REGION)');
  return parsed.data;
}

function runtime(region: Region) {
  if (!process.env.REDIS_URL?.trim())
    throw new Error(
      'leadrank writeback needs REDIS_URL (the dead letters of a process without Redis stay in it)',
    );
  return writebackRuntimeFromEnv({
    env: process.env,
    region,
    configDir: process.env.LEADRANK_CONFIG_DIR ?? join(ROOT, 'config'),
    log: pino({ name: 'leadrank-writeback', level: process.env.LOG_LEVEL ?? 'warn' }),
  });
}

export function registerWritebackCommands(program: Command): void {
  const writeback = program
    .command('writeback')
    .description('the event write-back queue (leadrank-writeback-<region>): status and dead letters');

  writeback
    .command('status')
    .description('jobs waiting, active, delayed and failed on the queue, and the dead-letter count')
    .option('--region <region>', 'US or EU (env REGION)')
    .action(async (opts: { region?: string }) => {
      const region = regionOf(opts.region);
      const rt = runtime(region);
      const connection = new Redis(rt.redisUrl!, { maxRetriesPerRequest: null });
      const queue = new Queue(writebackQueueName(region), {
        connection,
        ...(rt.bullPrefix ? { prefix: rt.bullPrefix } : {}),
      });
      try {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        print({ queue: queue.name, ...counts, deadLetters: await rt.deadLetters.count() });
      } finally {
        await queue.close();
        await connection.quit();
        await rt.close();
      }
    });

  const dead = writeback.command('dead-letters').description('score changes that could not be written');
  dead
    .command('list')
    .description(
      'lead Id, Salesforce error code, message, attempts, time, and the score that was to be written',
    )
    .option('--region <region>', 'US or EU (env REGION)')
    .option('--limit <n>', 'at most n letters', '100')
    .action(async (opts: { region?: string; limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new Error('--limit must be a positive integer');
      const rt = runtime(regionOf(opts.region));
      try {
        const letters = await rt.deadLetters.list(limit);
        print({
          count: await rt.deadLetters.count(),
          deadLetters: letters.map((l) => ({
            leadId: l.job.leadId,
            code: l.code,
            message: l.message,
            attempts: l.attempts,
            at: l.at,
            score: l.job.score,
            scoredAt: l.job.scoredAt,
          })),
        });
      } finally {
        await rt.close();
      }
    });
  dead
    .command('replay')
    .description('put every dead letter back on the queue (an older score than the one written is skipped)')
    .option('--region <region>', 'US or EU (env REGION)')
    .action(async (opts: { region?: string }) => {
      const region = regionOf(opts.region);
      const rt = runtime(region);
      const queue = createWritebackQueue(process.env, region);
      try {
        print({ replayed: await replayDeadLetters(rt.deadLetters, queue), queue: queue.name });
      } finally {
        await queue.close();
        await rt.close();
      }
    });
}
