// `leadrank training-set build --out <dir> [--spec <file>] [--events <file>] [--data-end <iso>] [--extracts <dir>]
// [--lead-filter <soql>] [--ground-truth <dir>]`: a point-in-time training set read from the org (env SF_*, see
// salesforce/org-connection.ts). The spec (default the active one, $LEADRANK_FEATURE_SPEC or
// config/features/lead.json) says what is computed; a spec with a `training` target (one snapshot per record,
// label from an outcome field: an imported history such as X Education) needs neither events nor a data end.
// The spec's content is recorded in feature-spec.json. Prints one JSON line.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { activeSpecFile, activeSpecFrom } from '../features/index.js';
import { SalesforceClient, connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import { buildFromOrg } from './build-training-set.js';
import { trainingSetFromOrg } from './features.js';

interface BuildOptions {
  out: string;
  spec?: string;
  events?: string;
  dataEnd?: string;
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
    .description(
      "snapshots of the org's records with the spec's features as of each instant, and their label",
    )
    .requiredOption('--out <dir>', 'output directory (training-set.parquet, feature-spec.json)')
    .option('--spec <file>', 'feature spec (default $LEADRANK_FEATURE_SPEC or config/features/lead.json)')
    .option('--events <file>', 'engagement events, NDJSON (gzip when it ends in .gz); none = no events')
    .option('--data-end <iso>', 'end of the data: no snapshot whose label horizon passes it')
    .option('--extracts <dir>', 'daily extracts folder (erp/ and marketing/ inside)')
    .option('--lead-filter <soql>', 'a SOQL condition on Lead, e.g. "Source_Record_Id__c = null"')
    .option('--ground-truth <dir>', 'a crm-generator folder: adds the Bayes-optimal ceiling (simulated data)')
    .action(async (opts: BuildOptions) => {
      for (const [flag, path] of [
        ['--spec', opts.spec],
        ['--events', opts.events],
        ['--extracts', opts.extracts],
        ['--ground-truth', opts.groundTruth],
      ] as const) {
        if (path !== undefined && !existsSync(path)) throw new Error(`${flag}: ${path} does not exist`);
      }
      const specFile = opts.spec ? resolve(opts.spec) : activeSpecFile();
      const spec = activeSpecFrom(specFile); // a bad spec fails here, naming file, line and field
      const started = Date.now();
      const conn = await connectToOrg(orgAuthFromEnv());
      if (spec.source.config.training) {
        const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
        const result = await trainingSetFromOrg(new SalesforceClient(conn, { log }), specFile, opts.out);
        const seconds = (Date.now() - started) / 1000;
        console.log(JSON.stringify({ ...result, spec: spec.source.hash, out: opts.out, seconds }));
        return;
      }
      if (!opts.dataEnd) throw new Error(`--data-end is required for ${specFile} (no "training" target)`);
      const dataEnd = new Date(opts.dataEnd);
      if (Number.isNaN(dataEnd.getTime())) throw new Error(`--data-end is not an ISO date: ${opts.dataEnd}`);
      if (!opts.events && spec.definitions.some((d) => d.source.kind === 'events'))
        throw new Error(`--events is required: ${specFile} has event features`);
      const result = await buildFromOrg(conn, {
        out: opts.out,
        spec,
        dataEnd,
        ...(opts.events ? { events: opts.events } : {}),
        ...(opts.extracts ? { extracts: opts.extracts } : {}),
        ...(opts.leadFilter ? { leadFilter: opts.leadFilter } : {}),
        ...(opts.groundTruth ? { groundTruth: opts.groundTruth } : {}),
      });
      const seconds = (Date.now() - started) / 1000;
      console.log(JSON.stringify({ ...result, spec: result.spec.hash, out: opts.out, seconds }));
    });
  return trainingSet;
}
