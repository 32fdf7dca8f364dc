// Maps the public X Education lead-scoring CSV onto Salesforce Lead records (a second, real data source).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse, CsvError } from 'csv-parse';
import { LEAD_STATUS } from './catalog.js';
import { sfDateTime } from './format.js';
import { GzipLineWriter } from './gzip-writer.js';
import { makeIdFactory } from './ids.js';
import { Rng, Stream } from './rng.js';
import { FakerPool } from './world.js';
import type { SfRecord } from './leads.js';

export const X_EDUCATION_VERSION = '1.0.0';

/** EU-27 members: these rows get Data_Region__c = 'EU' (the United Kingdom is not one since 2020). */
export const EU_COUNTRIES: ReadonlySet<string> = new Set([
  'Austria',
  'Belgium',
  'Bulgaria',
  'Croatia',
  'Cyprus',
  'Czech Republic',
  'Czechia',
  'Denmark',
  'Estonia',
  'Finland',
  'France',
  'Germany',
  'Greece',
  'Hungary',
  'Ireland',
  'Italy',
  'Latvia',
  'Lithuania',
  'Luxembourg',
  'Malta',
  'Netherlands',
  'Poland',
  'Portugal',
  'Romania',
  'Slovakia',
  'Slovenia',
  'Spain',
  'Sweden',
]);

export const REQUIRED_COLUMNS = [
  'Prospect ID',
  'Lead Origin',
  'Lead Source',
  'Do Not Email',
  'Do Not Call',
  'Converted',
  'TotalVisits',
  'Total Time Spent on Website',
  'Page Views Per Visit',
  'Country',
  'Specialization',
  'What is your current occupation',
  'City',
] as const;

export interface XEducationOptions {
  csvPath: string;
  outDir: string;
  seed: number;
  /** CreatedDate of every record: the moment of the (simulated) import. */
  importedAt: string;
}

export interface XEducationManifest {
  generator: { name: string; version: string };
  source: { file: string; sha256: string; rows: number };
  seed: number;
  importedAt: string;
  counts: Record<string, number>;
  converted: number;
  baseRate: number;
  leadsByRegion: Record<string, number>;
  idInstance: string;
}

/** Blank, 'Select' (the form's unselected level) and 'unknown' mean missing. */
function text(value: string | undefined): string | null {
  const v = (value ?? '').trim();
  return v === '' || v === 'Select' || v.toLowerCase() === 'unknown' ? null : v;
}

function yesNo(value: string | undefined, column: string, line: number): boolean {
  if (value === 'Yes') return true;
  if (value === 'No') return false;
  throw new Error(`x-education CSV line ${line}: column '${column}' must be Yes/No, got '${value ?? ''}'`);
}

function num(value: string | undefined, column: string, line: number, decimals: number): number | null {
  const v = (value ?? '').trim();
  if (v === '' || v === 'NA') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`x-education CSV line ${line}: column '${column}' is not a number: '${v}'`);
  const f = 10 ** decimals;
  return Math.round(n * f) / f;
}

export function mapXEducationRow(
  row: Record<string, string>,
  line: number,
  index: number,
  ctx: { ids: (o: 'Lead', n: number) => string; fakers: FakerPool; seed: number; createdDate: string },
): SfRecord {
  const prospectId = text(row['Prospect ID']);
  if (prospectId === null) throw new Error(`x-education CSV line ${line}: empty 'Prospect ID'`);
  const convertedRaw = row['Converted'];
  if (convertedRaw !== '0' && convertedRaw !== '1') {
    throw new Error(`x-education CSV line ${line}: 'Converted' must be 0 or 1, got '${convertedRaw ?? ''}'`);
  }
  const converted = convertedRaw === '1';
  const country = text(row['Country']);
  const rng = new Rng(ctx.seed, Stream.xEducation, index);
  const [firstName, lastName] = ctx.fakers.use('en_IN', rng, (f) => [
    f.person.firstName(),
    f.person.lastName(),
  ]);
  return {
    Id: ctx.ids('Lead', index + 1),
    FirstName: firstName,
    LastName: lastName,
    Company: 'Individual',
    Title: text(row['What is your current occupation']),
    Industry: text(row['Specialization']),
    LeadSource: text(row['Lead Source']),
    Lead_Origin__c: text(row['Lead Origin']),
    Status: converted ? LEAD_STATUS.converted : LEAD_STATUS.closed,
    IsConverted: converted,
    HasOptedOutOfEmail: yesNo(row['Do Not Email'], 'Do Not Email', line),
    DoNotCall: yesNo(row['Do Not Call'], 'Do Not Call', line),
    Web_Visits__c: num(row['TotalVisits'], 'TotalVisits', line, 0),
    Web_Time_On_Site__c: num(row['Total Time Spent on Website'], 'Total Time Spent on Website', line, 0),
    Web_Pages_Per_Visit__c: num(row['Page Views Per Visit'], 'Page Views Per Visit', line, 2),
    Country: country,
    City: text(row['City']),
    Data_Region__c: country !== null && EU_COUNTRIES.has(country) ? 'EU' : 'US',
    Source_Record_Id__c: prospectId,
    CreatedDate: ctx.createdDate,
  };
}

export async function convertXEducation(opts: XEducationOptions): Promise<XEducationManifest> {
  const importedMs = Date.parse(opts.importedAt);
  if (Number.isNaN(importedMs)) throw new Error(`--imported-at is not a date: ${opts.importedAt}`);
  const sha256 = createHash('sha256')
    .update(await readFile(opts.csvPath))
    .digest('hex');
  await mkdir(opts.outDir, { recursive: true });
  await rm(join(opts.outDir, 'leads.ndjson.gz'), { force: true });
  const writer = new GzipLineWriter(join(opts.outDir, 'leads.ndjson.gz'));
  const ctx = {
    ids: makeIdFactory('Xe', 0),
    fakers: new FakerPool(),
    seed: opts.seed,
    createdDate: sfDateTime(importedMs),
  };
  const parser = createReadStream(opts.csvPath).pipe(
    parse({ columns: true, bom: true, info: true, skip_empty_lines: true, trim: false }),
  );
  let rows = 0;
  let converted = 0;
  const byRegion: Record<string, number> = { US: 0, EU: 0 };
  const seen = new Set<string>();
  try {
    for await (const item of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      const { record, info } = item;
      if (rows === 0) {
        const missing = REQUIRED_COLUMNS.filter((c) => !(c in record));
        if (missing.length > 0) throw new Error(`x-education CSV: missing columns ${missing.join(', ')}`);
      }
      const lead = mapXEducationRow(record, info.lines, rows, ctx);
      const pid = lead.Source_Record_Id__c as string;
      if (seen.has(pid)) throw new Error(`x-education CSV line ${info.lines}: duplicate Prospect ID ${pid}`);
      seen.add(pid);
      writer.writeJson(lead);
      rows++;
      if (lead.IsConverted) converted++;
      byRegion[lead.Data_Region__c as string] = (byRegion[lead.Data_Region__c as string] ?? 0) + 1;
      if (writer.needsDrain) await writer.drain();
    }
  } catch (err) {
    await writer.close();
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw new Error(
        `x-education CSV ${opts.csvPath}: malformed row at line ${line ?? '?'}: ${err.message}`,
      );
    }
    throw err;
  }
  await writer.close();
  const manifest: XEducationManifest = {
    generator: { name: '@leadrank/crm-generator x-education', version: X_EDUCATION_VERSION },
    source: { file: resolve(opts.csvPath).split('/').slice(-1)[0] ?? opts.csvPath, sha256, rows },
    seed: opts.seed,
    importedAt: ctx.createdDate,
    counts: { 'leads.ndjson.gz': rows },
    converted,
    baseRate: Math.round((converted / Math.max(1, rows)) * 1e6) / 1e6,
    leadsByRegion: byRegion,
    idInstance: 'Xe',
  };
  await writeFile(join(opts.outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
