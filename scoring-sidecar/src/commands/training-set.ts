// `leadrank training-set build --out <dir> --events <file> --data-end <iso> [--extracts <dir>]
// [--lead-filter <soql>] [--ground-truth <dir>]`: a point-in-time training set read from the org (env SF_*, see
// salesforce/org-connection.ts), an engagement-events file and the daily extracts. Prints one JSON line.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import { buildFromOrg } from './build-training-set.js';

interface BuildOptions {
  out: string;
  events: string;
  dataEnd: string;
  extracts?: string;
  leadFilter?: string;
  groundTruth?: string;
}

export function registerTrainingSetCommands(program: Command): Command {
  const trainingSet = program
    .command('training-set')
    .description('point-in-time training sets, read from the org');
  trainingSet
    .command('build')
    .description('snapshots of every lead with features as of each instant and the 30-day conversion label')
    .requiredOption('--out <dir>', 'output directory (training-set.parquet, feature-spec.json)')
    .requiredOption('--events <file>', 'engagement events, NDJSON (gzip when it ends in .gz)')
    .requiredOption('--data-end <iso>', 'end of the data: no snapshot whose label horizon passes it')
    .option('--extracts <dir>', 'daily extracts folder (erp/ and marketing/ inside)')
    .option('--lead-filter <soql>', 'a SOQL condition on Lead, e.g. "Source_Record_Id__c = null"')
    .option('--ground-truth <dir>', 'a crm-generator folder: adds the Bayes-optimal ceiling (simulated data)')
    .action(async (opts: BuildOptions) => {
      const dataEnd = new Date(opts.dataEnd);
      if (Number.isNaN(dataEnd.getTime())) throw new Error(`--data-end is not an ISO date: ${opts.dataEnd}`);
      for (const [flag, path] of [
        ['--events', opts.events],
        ['--extracts', opts.extracts],
        ['--ground-truth', opts.groundTruth],
      ] as const) {
        if (path !== undefined && !existsSync(path)) throw new Error(`${flag}: ${path} does not exist`);
      }
      const conn = await connectToOrg(orgAuthFromEnv());
      const started = Date.now();
      const result = await buildFromOrg(conn, {
        out: opts.out,
        events: opts.events,
        dataEnd,
        ...(opts.extracts ? { extracts: opts.extracts } : {}),
        ...(opts.leadFilter ? { leadFilter: opts.leadFilter } : {}),
        ...(opts.groundTruth ? { groundTruth: opts.groundTruth } : {}),
      });
      const seconds = (Date.now() - started) / 1000;
      console.log(JSON.stringify({ ...result, spec: result.spec.hash, out: opts.out, seconds }));
    });
  return trainingSet;
}
