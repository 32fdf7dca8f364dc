#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { computeBayesAuc } from './bayes-auc.js';
import { generateDataset } from './generate.js';
import { DAY_MS } from './format.js';
import { DEFAULT_GROUND_TRUTH_PARAMS } from './ground-truth.js';
import { createLogger } from './logger.js';

function intArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function floatArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

const program = new Command();
program.name('crm-generator').description('Leadrank synthetic CRM data with a known ground truth');

program
  .command('generate')
  .description('generate a synthetic Salesforce data set with engagement events, extracts and ground truth')
  .requiredOption('--out <dir>', 'output directory')
  .option('--seed <n>', 'random seed', intArg, 42)
  .option('--active <n>', 'target number of open leads at --end', intArg, 10_000)
  .option('--historical <n>', 'target number of closed/converted leads', intArg, 40_000)
  .option('--end <iso>', 'dataEnd (00:00:00Z)', '2026-11-24T00:00:00Z')
  .option('--eu-share <x>', 'share of EU leads and accounts', floatArg, 0.35)
  .option('--history-days <n>', 'history window length in days', intArg, 540)
  .option('--accounts <n>', 'number of pre-existing accounts (default: leads / 25)', intArg)
  .option('--reps <n>', 'approximate number of reps (default: sqrt(leads) / 2)', intArg)
  .option(
    '--drift-conversion <x>',
    'base-rate drift: the conversion hazard changes by exp(x) per year from the start of the history window',
    floatArg,
    0,
  )
  .option(
    '--custom-fields',
    'add custom Lead fields: Budget_Band__c and Demo_Requested__c (informative, in the ground truth), ' +
      'Favourite_Colour__c and Lucky_Number__c (noise), Personal_Mobile__c (PII); their metadata for the org ' +
      'simulator is crm-generator/metadata/custom-fields',
  )
  .action(async (o: Record<string, unknown>) => {
    const logger = createLogger('crm-generator');
    const drift = o.driftConversion as number;
    const windowStart = new Date(
      Date.parse(o.end as string) - (o.historyDays as number) * DAY_MS,
    ).toISOString();
    const params =
      drift === 0
        ? undefined
        : { ...DEFAULT_GROUND_TRUTH_PARAMS, drift: { conversionLogPerYear: drift, fromIso: windowStart } };
    const manifest = await generateDataset({
      outDir: o.out as string,
      seed: o.seed as number,
      active: o.active as number,
      historical: o.historical as number,
      dataEnd: o.end as string,
      euShare: o.euShare as number,
      historyDays: o.historyDays as number,
      accounts: o.accounts as number | undefined,
      reps: o.reps as number | undefined,
      ...(params ? { params } : {}),
      ...(o.customFields ? { customFields: true } : {}),
      logger,
    });
    const { params: _params, ...truth } = manifest.groundTruth;
    const summary = {
      out: o.out,
      seed: manifest.seed,
      dataEnd: manifest.dataEnd,
      counts: manifest.counts,
      leadsByRegion: manifest.leadsByRegion,
      leadsByStatus: manifest.leadsByStatus,
      baseRates: manifest.baseRates,
      bayesOptimal: truth,
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  });

program
  .command('bayes-auc')
  .description('recompute the Bayes-optimal ROC-AUC of a generated directory')
  .requiredOption('--data <dir>', 'generated data directory')
  .option('--horizon-days <n>', 'label horizon H in days', intArg)
  .action(async (o: Record<string, unknown>) => {
    const result = await computeBayesAuc(o.data as string, o.horizonDays as number | undefined);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  });

await program.parseAsync(process.argv);
