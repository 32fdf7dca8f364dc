// `leadrank features propose|check`: a feature spec from the org's own metadata, and a spec checked against it.
import { writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../config/index.js';
import type { Command } from 'commander';
import { pino } from 'pino';
import {
  FeatureSpecError,
  loadFeatureConfig,
  proposeSpec,
  fieldsToSample,
  type DescribeField,
  type Proposal,
  customFieldsRead,
  fieldsRead,
  recordTrainingSet,
  trainingTarget,
  writeTrainingSet,
  contextDeclarations,
  readContextFolder,
} from '../features/index.js';
import { SalesforceClient, connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import type { Region } from '../store/index.js';

interface FieldDefinitionRow {
  QualifiedApiName: string;
  SecurityClassification: string | null;
  ComplianceGroup: string | null;
}

/** The object's describe with each field's data classification (Tooling FieldDefinition) merged in. */
export async function describeWithClassification(
  client: SalesforceClient,
  object: string,
): Promise<DescribeField[]> {
  const describe = await client.request<{ fields: DescribeField[] }>({
    method: 'GET',
    path: `/sobjects/${object}/describe`,
  });
  const soql = `SELECT QualifiedApiName, SecurityClassification, ComplianceGroup FROM FieldDefinition WHERE EntityDefinition.QualifiedApiName = '${object}'`;
  const defs = await client.request<{ records: FieldDefinitionRow[] }>({
    method: 'GET',
    path: `/tooling/query?q=${encodeURIComponent(soql)}`,
  });
  const byName = new Map(defs.records.map((r) => [r.QualifiedApiName, r]));
  return describe.fields.map((f) => ({
    ...f,
    securityClassification: byName.get(f.name)?.SecurityClassification ?? null,
    complianceGroup: byName.get(f.name)?.ComplianceGroup ?? null,
  }));
}

/** Describe, then a sample of the fields metadata does not exclude (PII is never read), then the proposal. */
export async function proposeFromOrg(
  client: SalesforceClient,
  target: 'lead',
  sampleSize: number,
  /** Residency: only this deployment's records are sampled (their values can end up in the spec). */
  region?: Region,
): Promise<Proposal> {
  const describe = await describeWithClassification(client, 'Lead');
  const fields = fieldsToSample(describe);
  const sample: Record<string, unknown>[] = [];
  const where = region ? ` WHERE ${regionCondition(region)}` : '';
  for await (const row of client.query(
    `SELECT ${fields.join(', ')} FROM Lead${where} ORDER BY CreatedDate DESC LIMIT ${sampleSize}`,
  ))
    sample.push(row as Record<string, unknown>);
  return proposeSpec(target, describe, sample);
}

/** A training set from the org's records for a spec with a `training` target (one snapshot per record). */
export async function trainingSetFromOrg(
  client: SalesforceClient,
  specFile: string,
  outDir: string,
  /** A SOQL condition on the records (the region's filter, a lead filter), or none. */
  where = '',
  /** The extracts folder: its context/ rows are joined as of each record's time when the spec declares contexts. */
  extractsDir?: string,
): Promise<{ rows: number; positives: number }> {
  const config = loadFeatureConfig(specFile, { describe: await describeWithClassification(client, 'Lead') });
  if (!config.training || trainingTarget(config).builder !== 'record')
    throw new FeatureSpecError(
      `${specFile}: no record target ("training" with an outcome field and no "snapshots": one snapshot per record)`,
    );
  const records: Record<string, string>[] = [];
  for await (const row of client.bulkQuery(
    `SELECT ${fieldsRead(config).join(', ')} FROM ${config.object}${where ? ` WHERE ${where}` : ''}`,
  ))
    records.push(row as Record<string, string>);
  const declared = contextDeclarations(config);
  const contextRows =
    extractsDir && Object.keys(declared).length > 0
      ? await readContextFolder(join(extractsDir, 'context'), declared)
      : [];
  const { spec, rows } = recordTrainingSet(
    config,
    records,
    relative(REPO_ROOT, resolve(specFile)),
    contextRows,
  );
  await writeTrainingSet(outDir, spec, rows);
  return { rows: rows.length, positives: rows.filter((r) => r.label === 1).length };
}

/** The SOQL condition on a deployment's records (the package's region field, as the sync reads it). */
function regionCondition(region: Region): string {
  return `Data_Region__c = '${region}'`;
}

/** --region, else REGION: the deployment whose records a command may read. */
function regionOf(flag: string | undefined): Region {
  const value = flag ?? process.env.REGION;
  if (value !== 'US' && value !== 'EU')
    throw new Error("set --region US|EU (or REGION): only that deployment's records are read");
  return value;
}

export function registerFeaturesCommands(program: Command): void {
  const features = program.command('features').description('feature specs (config/features/<target>.json)');
  features
    .command('propose')
    .description("write a spec from the org's describe and a sample of values, with a reason per field")
    .requiredOption('--target <target>', 'lead')
    .requiredOption('--out <file>', 'where to write the spec (e.g. config/features/lead-proposed.json)')
    .option('--sample <n>', 'records sampled', '2000')
    .option('--region <region>', 'the deployment whose records are sampled (env REGION)')
    .action(async (opts: { target: string; out: string; sample: string; region?: string }) => {
      if (opts.target !== 'lead') throw new Error(`--target ${opts.target}: only "lead" is supported so far`);
      const region = regionOf(opts.region);
      const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
      const client = new SalesforceClient(await connectToOrg(orgAuthFromEnv()), { log });
      const proposal = await proposeFromOrg(client, 'lead', Number(opts.sample), region);
      writeFileSync(opts.out, `${JSON.stringify(proposal.config, null, 2)}\n`);
      for (const d of proposal.decisions) {
        const why = d.reason.startsWith(`${d.field}:`) ? d.reason : `${d.field}: ${d.reason}`;
        console.log(`${d.chosen ? 'use ' : 'skip'}  ${why}`);
      }
      console.log(`wrote ${opts.out}: ${proposal.config.features.length} features`);
    });
  features
    .command('training-set')
    .description("a training set from the org's records for a spec with a training target")
    .requiredOption('--spec <file>', 'e.g. config/features/x-education.json')
    .requiredOption('--out <dir>', 'training set directory')
    .option('--region <region>', 'the deployment whose records are read (env REGION)')
    .action(async (opts: { spec: string; out: string; region?: string }) => {
      const region = regionOf(opts.region);
      const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
      const client = new SalesforceClient(await connectToOrg(orgAuthFromEnv()), { log });
      const { rows, positives } = await trainingSetFromOrg(
        client,
        opts.spec,
        opts.out,
        regionCondition(region),
      );
      console.log(`wrote ${opts.out}: ${rows} rows, ${positives} positive`);
    });
  features
    .command('check <file>')
    .description("check a spec against the org's describe: fields exist, types match, nothing sensitive")
    .action(async (file: string) => {
      const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
      const client = new SalesforceClient(await connectToOrg(orgAuthFromEnv()), { log });
      const config = loadFeatureConfig(file);
      try {
        loadFeatureConfig(file, { describe: await describeWithClassification(client, config.object) });
      } catch (error) {
        if (!(error instanceof FeatureSpecError)) throw error;
        console.error(error.message);
        process.exitCode = 2;
        return;
      }
      console.log(`${file}: ${config.features.length} features, all readable in the org`);
      // What Apex must send with a lead's payload besides the standard inputs (docs/salesforce.md).
      const custom = customFieldsRead(config);
      if (config.object === 'Lead' && custom.length)
        console.log(`Scoring_Setting__mdt Default, Model_Custom_Fields__c: ${custom.join(', ')}`);
    });
}
