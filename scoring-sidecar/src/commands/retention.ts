// `leadrank retention run [--dry-run] [--region]`: applies config/retention.json to the region's stores now (the
// scheduler's daily job does the same, see worker.ts) and prints what each store removed, then a JSON line.
// `retentionTargetsFromEnv` opens the stores from the environment, as the other processes do.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { anchorAuditLog, localEd25519Signer, openAnchorStore } from '../audit/index.js';
import { loadBatchConfig } from '../batch/index.js';
import { REPO_ROOT, regionStateDir } from '../config/index.js';
import { ExperimentStore } from '../experiments/index.js';
import { MonitoringHistory } from '../monitoring/index.js';
import {
  loadRetentionConfig,
  runRetention,
  underGovernanceLease,
  type RetentionConfig,
  type RetentionReport,
  type RetentionTargets,
} from '../retention/index.js';
import { databaseUrlOf } from '../shared-state/index.js';
import type { Region } from '../store/index.js';
import { createRedisDeadLetters } from '../writeback/index.js';
import { sharedKeyPrefix } from './writeback-runtime.js';

const rootOf = (env: NodeJS.ProcessEnv) => env.LEADRANK_ROOT ?? REPO_ROOT;
export const configDirOf = (env: NodeJS.ProcessEnv) => env.LEADRANK_CONFIG_DIR ?? join(rootOf(env), 'config');

export function retentionConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RetentionConfig {
  return loadRetentionConfig(join(configDirOf(env), 'retention.json'));
}

/** The audit root, its anchor store and the signing key (null without an anchor store). */
export function auditTargetFromEnv(env: NodeJS.ProcessEnv): NonNullable<RetentionTargets['audit']> | null {
  const auditDir = env.LEADRANK_AUDIT_DIR ?? join(rootOf(env), 'var', 'audit');
  if (!env.LEADRANK_AUDIT_ANCHOR_DIR && !env.REDIS_URL) return null;
  return {
    dir: auditDir,
    store: openAnchorStore({
      auditDir,
      name: env.LEADRANK_AUDIT_LOG_NAME ?? 'default',
      anchorDir: env.LEADRANK_AUDIT_ANCHOR_DIR,
      redisUrl: env.REDIS_URL,
      redisPrefix: env.LEADRANK_REDIS_PREFIX?.trim() || undefined,
    }),
    signer: env.LEADRANK_AUDIT_SIGNING_KEY?.trim()
      ? localEd25519Signer(env.LEADRANK_AUDIT_SIGNING_KEY)
      : null,
  };
}

/** The region's stores, opened from the environment; `close` releases what was opened. */
export async function retentionTargetsFromEnv(
  region: Region,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ targets: RetentionTargets; close(): Promise<void> }> {
  const root = rootOf(env);
  const closers: (() => Promise<unknown>)[] = [];
  const audit = auditTargetFromEnv(env);
  if (audit) closers.push(() => audit.store.close());
  const batch = loadBatchConfig(join(configDirOf(env), 'batch.json'));
  const stateDir = regionStateDir({ ...env, REGION: region }, root);
  const databaseUrl = databaseUrlOf(env);
  const experimentsFile = join(stateDir, 'experiments.db');
  const experiments =
    databaseUrl || existsSync(experimentsFile)
      ? await ExperimentStore.open({ databaseUrl, sqliteFile: experimentsFile })
      : null;
  if (experiments) closers.push(() => experiments.close());
  const monitoringFile = env.LEADRANK_MONITORING_DB ?? join(stateDir, 'monitoring.db');
  const monitoring =
    databaseUrl || existsSync(monitoringFile)
      ? await MonitoringHistory.open({ databaseUrl, sqliteFile: monitoringFile })
      : null;
  if (monitoring) closers.push(() => monitoring.close());
  const deadLetters = env.REDIS_URL
    ? createRedisDeadLetters(env.REDIS_URL, region, sharedKeyPrefix(env))
    : null;
  if (deadLetters) closers.push(() => deadLetters.close());
  return {
    targets: {
      region,
      audit,
      exportsDir: join(root, batch.output.exportsDir),
      reportsDir: join(root, batch.output.reportsDir),
      trainingSetsDir: env.LEADRANK_TRAINING_DIR ?? join(root, 'var', 'training'),
      experiments,
      monitoring,
      deadLetters,
    },
    close: async () => {
      for (const close of closers) await close().catch(() => {});
    },
  };
}

/**
 * One run against the environment's stores, under the governance lease when Redis is there (`lease: false`:
 * the caller holds it, as the scheduler's job does).
 */
export async function runRetentionFromEnv(
  region: Region,
  o: { dryRun?: boolean; now?: Date; env?: NodeJS.ProcessEnv; lease?: boolean } = {},
): Promise<RetentionReport> {
  const env = o.env ?? process.env;
  const config = retentionConfigFromEnv(env);
  const { targets, close } = await retentionTargetsFromEnv(region, env);
  const run = () =>
    runRetention(config, targets, { dryRun: o.dryRun ?? false, ...(o.now ? { now: o.now } : {}) });
  try {
    return env.REDIS_URL && !o.dryRun && o.lease !== false
      ? await underGovernanceLease(
          { redisUrl: env.REDIS_URL, prefix: sharedKeyPrefix(env), region, job: 'retention' },
          run,
        )
      : await run();
  } finally {
    await close();
  }
}

export function formatRetention(report: RetentionReport): string {
  const rows = report.stores.map((s) => {
    const removed = Object.entries(s.removed)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    return [s.store, `${s.days} d`, s.cutoff.slice(0, 10), s.skipped ?? (removed || 'nothing')];
  });
  const header = ['STORE', 'KEEPS', 'CUTOFF', report.dryRun ? 'WOULD REMOVE' : 'REMOVED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function registerRetentionCommands(program: Command): void {
  const retention = program
    .command('retention')
    .description('retention of every store (config/retention.json)');
  retention
    .command('run')
    .description(
      "remove the region's data older than each store's period: audit segments (whole, only once anchored), exports, training sets, experiment rows, dead letters, monitoring history",
    )
    .option('--region <region>', 'US or EU (env REGION)')
    .option('--dry-run', 'count what would be removed, remove nothing')
    .action(async (opts: { region?: string; dryRun?: boolean }) => {
      const region = z.enum(['US', 'EU']).safeParse(opts.region ?? process.env.REGION);
      if (!region.success) throw new Error('set --region US|EU (or REGION)');
      const report = await runRetentionFromEnv(region.data, { dryRun: opts.dryRun ?? false });
      console.log(formatRetention(report));
      console.log(JSON.stringify(report));
    });
}

/** `audit anchor` as the scheduler runs it: the environment's audit root, anchor store and signing key. */
export async function anchorFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ checkpoint: number; chains: number }> {
  const audit = auditTargetFromEnv(env);
  try {
    if (!audit?.signer) throw new Error('anchoring needs LEADRANK_AUDIT_SIGNING_KEY and an anchor store');
    const { checkpoint } = await anchorAuditLog({ dir: audit.dir, store: audit.store, signer: audit.signer });
    return { checkpoint: checkpoint.number, chains: Object.keys(checkpoint.chains).length };
  } finally {
    await audit?.store.close();
  }
}
