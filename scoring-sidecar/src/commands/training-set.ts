// `leadrank training-set build --region <US|EU> [--out <dir>] [--spec <file>] [--events <file>] [--data-end <iso>]
// [--extracts <dir>] [--lead-filter <soql>] [--ground-truth <dir>]`: a point-in-time training set of one region's
// records, read from the org (env SF_*, see salesforce/org-connection.ts). The spec (default the active one,
// $LEADRANK_FEATURE_SPEC or config/features/lead.json) says what is computed and its `training` block the target
// (features/target.ts): a record target (one snapshot per record, label from an outcome field: an imported history
// such as X Education) needs neither events nor a data end; the snapshot builder (converted, or a custom outcome
// with its date; time axis, schedule, horizon) needs --data-end, and --events only for event features. The spec's
// content and the resolved target are recorded in feature-spec.json. Without --region the set pools both
// regions, allowed only by config/residency.json `pooledTraining`. Prints one JSON line.
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { pino } from 'pino';
import { REPO_ROOT } from '../config/index.js';
import { activeSpecFile, activeSpecFrom, trainingTarget } from '../features/index.js';
import { loadResidencyConfig, RESIDENCY_FILE, type Residency } from '../model/index.js';
import { SalesforceClient, connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import { buildFromOrg } from './build-training-set.js';
import { trainingSetFromOrg } from './features.js';

interface BuildOptions {
  out?: string;
  region?: string;
  spec?: string;
  events?: string;
  dataEnd?: string;
  extracts?: string;
  leadFilter?: string;
  groundTruth?: string;
}

const configDir = () => process.env.LEADRANK_CONFIG_DIR ?? join(REPO_ROOT, 'config');

/** `YYYYMMDDTHHMMSSZ`: the folder name retention reads the build instant from. */
const compactInstant = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/** Every row's `seg_region` is the set's region (a second check after the query's filter). */
async function rowsOutsideRegion(dir: string, region: string): Promise<number> {
  const rows = await parquetReadObjects({
    file: await asyncBufferFromFile(join(dir, 'training-set.parquet')),
    columns: ['seg_region'],
  });
  return rows.filter((r) => r.seg_region !== region).length;
}

export function registerTrainingSetCommands(program: Command): Command {
  const trainingSet = program
    .command('training-set')
    .description('point-in-time training sets, read from the org');
  trainingSet
    .command('build')
    .description(
      "snapshots of one region's records with the spec's features as of each instant, and their label",
    )
    .option(
      '--region <region>',
      'US or EU: only records with that Data_Region__c (required unless config/residency.json pooledTraining)',
    )
    .option(
      '--out <dir>',
      'output directory (training-set.parquet, feature-spec.json, residency.json); default var/training/<region>/<build instant>',
    )
    .option('--spec <file>', 'feature spec (default $LEADRANK_FEATURE_SPEC or config/features/lead.json)')
    .option('--events <file>', 'engagement events, NDJSON (gzip when it ends in .gz); none = no events')
    .option('--data-end <iso>', 'end of the data: no snapshot whose label horizon passes it')
    .option('--extracts <dir>', 'extracts folder (erp/ and marketing/ daily, context/ dated rows, inside)')
    .option('--lead-filter <soql>', 'a SOQL condition on Lead, e.g. "Source_Record_Id__c = null"')
    .option('--ground-truth <dir>', 'a crm-generator folder: adds the Bayes-optimal ceiling (simulated data)')
    .action(async (opts: BuildOptions) => {
      if (opts.region !== undefined && opts.region !== 'US' && opts.region !== 'EU')
        throw new Error(`--region must be US or EU, not ${opts.region}`);
      const region = opts.region ?? null;
      if (region === null && !loadResidencyConfig(join(configDir(), 'residency.json')).pooledTraining)
        throw new Error(
          '--region is required: training sets are per region (config/residency.json pooledTraining is false)',
        );
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
      const builtAt = new Date();
      const out =
        opts.out ??
        join(
          process.env.LEADRANK_TRAINING_DIR ?? join(REPO_ROOT, 'var', 'training'),
          region ?? 'pooled',
          compactInstant(builtAt),
        );
      // The region is a condition of the org query itself: the other region's rows are never read.
      const regionFilter = region ? `Data_Region__c = '${region}'` : null;
      const started = Date.now();
      const conn = await connectToOrg(orgAuthFromEnv());
      const residency: Residency = { region, pooled: region === null, builtAt: builtAt.toISOString() };
      const target = trainingTarget(spec.source.config);
      if (target.builder === 'record') {
        const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
        const where = [regionFilter, opts.leadFilter ? `(${opts.leadFilter})` : null]
          .filter(Boolean)
          .join(' AND ');
        const result = await trainingSetFromOrg(
          new SalesforceClient(conn, { log }),
          specFile,
          out,
          where,
          opts.extracts,
        );
        await writeFile(join(out, RESIDENCY_FILE), `${JSON.stringify(residency, null, 2)}\n`);
        const seconds = (Date.now() - started) / 1000;
        console.log(
          JSON.stringify({
            ...result,
            spec: spec.source.hash,
            out,
            region,
            pooled: region === null,
            seconds,
          }),
        );
        return;
      }
      if (!opts.dataEnd)
        throw new Error(
          `--data-end is required for ${specFile} (snapshots while a lead is open, not a record target)`,
        );
      const dataEnd = new Date(opts.dataEnd);
      if (Number.isNaN(dataEnd.getTime())) throw new Error(`--data-end is not an ISO date: ${opts.dataEnd}`);
      if (!opts.events && spec.definitions.some((d) => d.source.kind === 'events'))
        throw new Error(`--events is required: ${specFile} has event features`);
      const leadFilter =
        [regionFilter, opts.leadFilter ? `(${opts.leadFilter})` : null].filter(Boolean).join(' AND ') ||
        undefined;
      const result = await buildFromOrg(conn, {
        out,
        spec,
        dataEnd,
        ...(opts.events ? { events: opts.events } : {}),
        ...(opts.extracts ? { extracts: opts.extracts } : {}),
        ...(leadFilter ? { leadFilter } : {}),
        ...(opts.groundTruth ? { groundTruth: opts.groundTruth } : {}),
      });
      if (region) {
        const outside = await rowsOutsideRegion(out, region);
        if (outside > 0) {
          await rm(out, { recursive: true, force: true });
          throw new Error(`training set for ${region} had ${outside} rows of another region: removed ${out}`);
        }
      }
      await writeFile(join(out, RESIDENCY_FILE), `${JSON.stringify(residency, null, 2)}\n`);
      const seconds = (Date.now() - started) / 1000;
      console.log(
        JSON.stringify({ ...result, spec: result.spec.hash, out, region, pooled: region === null, seconds }),
      );
    });
  return trainingSet;
}
