// `leadrank opportunities sync [--full]` (open opportunities into the opportunity store, by SystemModstamp) and
// `leadrank opportunities batch` (rescore every open opportunity of the region, write material changes back).
// Environment as for the lead commands: REGION, SF_* (the org), REDIS_URL (the shared store; the batch's lease
// and cycle state), LEADRANK_BATCH_PREFIX, LEADRANK_AUDIT_DIR, LEADRANK_ROOT, LEADRANK_CONFIG_DIR, and the deal
// model: the registry's opportunity champion (LEADRANK_REGISTRY_URL, targets/opportunity/), or
// LEADRANK_OPPORTUNITY_MODEL_DIR as an explicit override; deal rules without one. Output: one JSON line.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { loadScoringConfig, loadRegionsConfig, overridesFromEnv } from '../config/index.js';
import {
  createBatchRuntime,
  listOpportunityCycles,
  loadOpportunityBatchConfig,
  OPPORTUNITY_BATCH_FILE,
  opportunityCycleMeta,
  opportunityCycleReport,
  runOpportunityCycleOnce,
  type BatchConfigOverrides,
  type OpportunityCycleReport,
} from '../batch/index.js';
import { RESIDENCY_FILE, type Residency } from '../model/index.js';
import { opportunityTrainingSet, writeTrainingSet } from '../features/index.js';
import { OPPORTUNITY_SYNC_FIELDS } from '../inputs/index.js';
import { loadSyncConfig, OpportunitySync, redisWatermarkStore } from '../ingest/index.js';
import { SalesforceClient, connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import { loadDealConfig, opportunityModelSourceFromEnv, OpportunityScorer } from '../scoring/index.js';
import { createOpportunityStoreFromEnv, type Region } from '../store/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function regionOf(env: NodeJS.ProcessEnv): 'US' | 'EU' {
  const region = z.enum(['US', 'EU']).safeParse(env.REGION);
  if (!region.success) throw new Error('REGION must be US or EU');
  return region.data;
}

async function clientOf(env: NodeJS.ProcessEnv, log: Logger): Promise<SalesforceClient> {
  return new SalesforceClient(await connectToOrg(orgAuthFromEnv(env)), { log });
}

export async function runOpportunitySync(env: NodeJS.ProcessEnv, log: Logger, full: boolean) {
  const region = regionOf(env);
  const redisUrl = env.REDIS_URL?.trim();
  if (!redisUrl)
    throw new Error(
      'REDIS_URL is not set: the opportunity sync fills the shared store `leadrank serve` reads',
    );
  const configDir = env.LEADRANK_CONFIG_DIR ?? join(ROOT, 'config');
  const config = loadSyncConfig(join(configDir, 'sync.json'));
  const keyPrefix = env.LEADRANK_REDIS_PREFIX?.trim() || 'lr';
  const store = createOpportunityStoreFromEnv(env, region);
  // Its own watermark key beside the lead sync's: <prefix>:opportunities:{REGION}:sync:watermark.
  const watermarks = redisWatermarkStore(redisUrl, region, { keyPrefix: `${keyPrefix}:opportunities` });
  try {
    const sync = new OpportunitySync({
      client: await clientOf(env, log),
      region,
      store,
      watermarks,
      config,
      log,
    });
    const outcome = full ? await sync.full({ reconcile: true }) : await sync.runOnce();
    return { ...outcome, stored: await store.count() };
  } finally {
    await Promise.allSettled([store.close(), watermarks.close()]);
  }
}

/**
 * The region's deal scorer as every opportunity command and the worker's scheduler role build it: the deal rules
 * of config/, and the deal model: the registry's opportunity champion, or LEADRANK_OPPORTUNITY_MODEL_DIR as an
 * override (deal rules without one).
 */
export async function opportunityScorerFromEnv(
  env: NodeJS.ProcessEnv,
  region: Region,
  configDir: string,
  log: Logger = pino({ name: 'leadrank-opportunities', level: env.LOG_LEVEL ?? 'info' }),
): Promise<OpportunityScorer> {
  const scoring = loadScoringConfig(join(configDir, 'scoring.json'));
  return new OpportunityScorer({
    region,
    regions: loadRegionsConfig(join(configDir, 'regions.json')),
    bands: scoring.bands,
    topReasons: scoring.reasons.top,
    deal: await loadDealConfig(configDir),
    models: await opportunityModelSourceFromEnv(env, region, log),
  });
}

/**
 * One opportunity cycle, on the lead cycle's runtime (batch/opportunity-runner.ts): the region's opportunity
 * lease and cycle state in Redis when REDIS_URL is set (else in this process), every score in the audit log
 * (LEADRANK_AUDIT_DIR, else <root>/var/audit), the report under config/batch.json output.reportsDir.
 * `cycleId` resumes that cycle.
 */
export async function runOpportunityBatch(
  env: NodeJS.ProcessEnv,
  log: Logger,
  o: { cycleId?: string } = {},
): Promise<OpportunityCycleReport> {
  const region = regionOf(env);
  const { rt, configDir } = await opportunityRuntimeFromEnv(env, region, log);
  try {
    const opportunityBatch = loadOpportunityBatchConfig(join(configDir, OPPORTUNITY_BATCH_FILE));
    const scorer = await opportunityScorerFromEnv(env, region, configDir, log);
    try {
      return await runOpportunityCycleOnce(rt, scorer, {
        ...(o.cycleId ? { cycleId: o.cycleId } : {}),
        collectionsMaxRows: opportunityBatch.write.collectionsMaxRows,
      });
    } finally {
      await scorer.close();
    }
  } finally {
    await rt.close();
  }
}

/** The region's batch runtime as the opportunity commands use it (no online store, no shadow experiments). */
async function opportunityRuntimeFromEnv(env: NodeJS.ProcessEnv, region: Region, log: Logger) {
  const root = env.LEADRANK_ROOT ?? ROOT;
  const configDir = env.LEADRANK_CONFIG_DIR ?? join(root, 'config');
  const rt = await createBatchRuntime({
    region,
    rootDir: root,
    configDir,
    redisUrl: env.REDIS_URL?.trim() || null,
    keyPrefix: env.LEADRANK_BATCH_PREFIX?.trim() || 'lr',
    overrides: overridesFromEnv(env, 'LEADRANK_BATCH_OVERRIDES') as BatchConfigOverrides,
    connect: () => connectToOrg(orgAuthFromEnv(env)),
    featureStore: null,
    experimentsDb: null,
    auditDir: env.LEADRANK_AUDIT_DIR ?? join(root, 'var', 'audit'),
    logger: log,
  });
  return { rt, configDir };
}

/**
 * The region's recent opportunity cycles, newest first (from the cycle state: REDIS_URL), and the cycle holding
 * the lease now, if any.
 */
export async function opportunityCycleStatus(env: NodeJS.ProcessEnv, log: Logger, last = 5) {
  const region = regionOf(env);
  const { rt } = await opportunityRuntimeFromEnv(env, region, log);
  try {
    const ids = (await listOpportunityCycles(rt)).slice(-last).reverse();
    const cycles = [];
    for (const cycleId of ids) {
      const meta = await opportunityCycleMeta(rt, cycleId);
      const report = await opportunityCycleReport(rt, cycleId);
      cycles.push({
        cycleId,
        phase: meta?.phase ?? 'expired',
        attempts: meta?.attempts ?? null,
        asOf: meta?.asOf ?? null,
        report: report
          ? {
              extracted: report.extracted,
              changes: report.changes,
              written: report.written,
              historyWritten: report.historyWritten,
              failed: report.failed.length,
              modelVersion: report.modelVersion,
            }
          : null,
      });
    }
    return { region, running: await rt.opportunityCycleLock.holder(), cycles };
  } finally {
    await rt.close();
  }
}

/**
 * The opportunity-win training set from the org: every closed opportunity (of `region`, or all), one snapshot
 * at creation, label IsWon. Written like the lead training set, so `leadrank model train` reads it.
 */
export async function buildOpportunityTrainingSet(
  env: NodeJS.ProcessEnv,
  log: Logger,
  out: string,
  region?: 'US' | 'EU',
) {
  const client = await clientOf(env, log);
  const where = ['IsClosed = true', ...(region ? [`Data_Region__c = '${region}'`] : [])].join(' AND ');
  const rows = [];
  for await (const row of client.bulkQuery(
    `SELECT ${OPPORTUNITY_SYNC_FIELDS.join(', ')}, IsWon FROM Opportunity WHERE ${where}`,
  ))
    rows.push(row);
  const set = opportunityTrainingSet(rows);
  if (set.rows.length === 0)
    throw new Error(`no closed opportunities${region ? ` in ${region}` : ''} to learn from`);
  await writeTrainingSet(out, set.spec, set.rows);
  // Residency, as `leadrank training-set build` records it: `leadrank model train [--region]` reads it and
  // refuses a pooled set unless config/residency.json allows pooling.
  const residency: Residency = { region: region ?? null, pooled: !region, builtAt: new Date().toISOString() };
  await writeFile(join(out, RESIDENCY_FILE), `${JSON.stringify(residency, null, 2)}\n`);
  return {
    rows: set.rows.length,
    won: set.rows.filter((r) => r.label === 1).length,
    spec: set.spec.hash,
    features: set.spec.features.length,
    out,
  };
}

export function registerOpportunityCommands(program: Command): void {
  const log = pino({ name: 'leadrank-opportunities', level: process.env.LOG_LEVEL ?? 'info' });
  const group = program
    .command('opportunities')
    .description('Opportunity scoring: sync open deals into the store, rescore them (docs/batch.md)');
  group
    .command('sync')
    .description('one pull of open opportunities by SystemModstamp (a full load without a watermark)')
    .option('--full', 'reload every open opportunity and drop the ones the org no longer has open')
    .action(async (opts: { full?: boolean }) => {
      console.log(JSON.stringify(await runOpportunitySync(process.env, log, opts.full ?? false)));
    });
  group
    .command('training-set')
    .description(
      'closed opportunities → a training set of the won-among-closed target (then: leadrank model train)',
    )
    .requiredOption('--out <dir>', 'output directory (training-set.parquet, feature-spec.json)')
    .option('--region <region>', 'US or EU only (default: every region)')
    .action(async (opts: { out: string; region?: string }) => {
      const region = opts.region === undefined ? undefined : z.enum(['US', 'EU']).parse(opts.region);
      console.log(JSON.stringify(await buildOpportunityTrainingSet(process.env, log, opts.out, region)));
    });
  group
    .command('batch')
    .description(
      'rescore every open opportunity of REGION, audit every score and write material changes back ' +
        '(the worker scheduler role runs it on config/opportunity-batch.json schedule.everyMs)',
    )
    .option('--cycle-id <id>', 'resume (or name) this opportunity cycle')
    .action(async (opts: { cycleId?: string }) => {
      const report = await runOpportunityBatch(process.env, log, opts);
      console.log(JSON.stringify(report));
      if (report.failed.length) process.exitCode = 1;
    });
  group
    .command('status')
    .description(
      "recent opportunity cycles of REGION (phase, attempts, the report's counts) and the running one",
    )
    .option('--last <n>', 'how many cycles', '5')
    .action(async (opts: { last: string }) => {
      const last = Number(opts.last);
      if (!Number.isInteger(last) || last < 1) throw new Error('--last must be a whole number >= 1');
      console.log(JSON.stringify(await opportunityCycleStatus(process.env, log, last), null, 2));
    });
}
