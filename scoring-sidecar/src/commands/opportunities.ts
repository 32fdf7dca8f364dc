// `leadrank opportunities sync [--full]` (open opportunities into the opportunity store, by SystemModstamp) and
// `leadrank opportunities batch` (rescore every open opportunity of the region, write material changes back).
// Environment as for the lead commands: REGION, SF_* (the org), REDIS_URL (the shared store), and the deal
// model: the registry's opportunity champion (LEADRANK_REGISTRY_URL, targets/opportunity/), or
// LEADRANK_OPPORTUNITY_MODEL_DIR as an explicit override; deal rules without one. Output: one JSON line.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { loadScoringConfig, loadRegionsConfig } from '../config/index.js';
import { loadBatchConfig, runOpportunityCycle } from '../batch/index.js';
import { RESIDENCY_FILE, type Residency } from '../model/index.js';
import { opportunityTrainingSet, writeTrainingSet } from '../features/index.js';
import { OPPORTUNITY_SYNC_FIELDS } from '../inputs/index.js';
import { loadSyncConfig, OpportunitySync, redisWatermarkStore } from '../ingest/index.js';
import { SalesforceClient, connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import { loadDealConfig, opportunityModelSourceFromEnv, OpportunityScorer } from '../scoring/index.js';
import { createOpportunityStoreFromEnv } from '../store/index.js';

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

export async function runOpportunityBatch(env: NodeJS.ProcessEnv, log: Logger) {
  const region = regionOf(env);
  const configDir = env.LEADRANK_CONFIG_DIR ?? join(ROOT, 'config');
  const scoring = loadScoringConfig(join(configDir, 'scoring.json'));
  const batch = loadBatchConfig(join(configDir, 'batch.json'));
  const scorer = new OpportunityScorer({
    region,
    regions: loadRegionsConfig(join(configDir, 'regions.json')),
    bands: scoring.bands,
    topReasons: scoring.reasons.top,
    deal: await loadDealConfig(configDir),
    models: await opportunityModelSourceFromEnv(env, region, log),
  });
  try {
    return await runOpportunityCycle({
      client: await clientOf(env, log),
      region,
      scorer,
      materialChange: batch.materialChange,
      log,
    });
  } finally {
    await scorer.close();
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
    .description('rescore every open opportunity of REGION and write material changes back')
    .action(async () => {
      const report = await runOpportunityBatch(process.env, log);
      console.log(JSON.stringify(report));
      if (report.failed.length) process.exitCode = 1;
    });
}
