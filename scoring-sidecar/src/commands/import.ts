// `leadrank import --mapping <file> --data <dir>`: a client's CSV exports (Data Loader style) into the org
// through the product's Salesforce client (Bulk API 2.0 upsert on the mapping's external id). Everything is
// checked before anything is written: the mapping (file, line, column), the CSV headers, the org's describe,
// then every cell (file, line, column), then every reference cell (a lookup by another object's external id,
// written as the Bulk relationship column `Account.Source_Record_Id__c`) against the keys of the objects listed
// before it and the org. Any problem: nothing is imported. Rows the org refuses are reported by line; the upsert
// makes a re-run resume without duplicating what was written.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { pino } from 'pino';
import type { DescribeField } from '../features/index.js';
import { SalesforceClient, connectToOrg, orgAuthFromEnv, type SalesforceError } from '../salesforce/index.js';
import {
  ImportError,
  checkObjectMapping,
  convertCell,
  parseImportMapping,
  mappingLocator,
  type ColumnMapping,
  type ImportMapping,
  type ObjectMapping,
} from './import-mapping.js';

export interface ObjectReport {
  object: string;
  file: string;
  rows: number;
  written: number;
  failed: { line: number; key: string; message: string }[];
}

interface PreparedObject {
  mapping: ObjectMapping;
  header: string[];
  rows: { line: number; record: Record<string, string> }[];
  /** The Bulk CSV column of each reference field (`Account.Source_Record_Id__c`). */
  references: { field: ColumnMapping; column: string }[];
}

const soqlString = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Reference cells that match no record: each value is looked for among the keys of the objects listed before
 * in the same import (they are written first), then in the org (`SELECT <externalId> … IN (…)`, 100 a query).
 * Errors name the CSV file, line and column.
 */
async function unknownReferences(client: SalesforceClient, prepared: PreparedObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const [i, p] of prepared.entries()) {
    for (const { field, column } of p.references) {
      const ref = field.reference!;
      const known = new Set<string>();
      for (const earlier of prepared.slice(0, i))
        if (
          earlier.mapping.object.toLowerCase() === ref.object.toLowerCase() &&
          earlier.mapping.externalId.field === ref.externalId
        )
          for (const r of earlier.rows) known.add(r.record[ref.externalId]!);
      const wanted = [
        ...new Set(p.rows.map((r) => r.record[column]!).filter((v) => v !== '' && !known.has(v))),
      ];
      for (let k = 0; k < wanted.length; k += 100) {
        const values = wanted.slice(k, k + 100);
        const soql = `SELECT ${ref.externalId} FROM ${ref.object} WHERE ${ref.externalId} IN (${values.map(soqlString).join(',')})`;
        for await (const r of client.query(soql))
          known.add(String((r as Record<string, unknown>)[ref.externalId]));
      }
      const c = p.header.indexOf(field.column) + 1;
      for (const r of p.rows) {
        const v = r.record[column]!;
        if (v !== '' && !known.has(v))
          errors.push(
            `${p.mapping.file}:${r.line}:${c}: "${field.column}": no ${ref.object} with ${ref.externalId} "${v}" in this import or the org`,
          );
      }
    }
  }
  return errors;
}

const MAX_LISTED = 50;

async function describeObject(client: SalesforceClient, object: string): Promise<DescribeField[] | null> {
  try {
    const d = await client.request<{ fields: DescribeField[] }>({
      method: 'GET',
      path: `/sobjects/${object}/describe`,
    });
    return d.fields;
  } catch (error) {
    if ((error as SalesforceError).errorCode === 'NOT_FOUND') return null;
    throw error;
  }
}

function readCsv(
  path: string,
  display: string,
): { header: string[]; rows: { line: number; cells: string[] }[] } {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(readFileSync(path), {
      info: true,
      relax_column_count: false,
      bom: true,
    }) as unknown as typeof records;
  } catch (error) {
    const e = error as { lines?: number; message: string };
    throw new ImportError(`${display}${e.lines ? `:${e.lines}` : ''}: cannot read CSV (${e.message})`);
  }
  const [head, ...body] = records;
  if (!head) throw new ImportError(`${display}: empty file`);
  return { header: head.record, rows: body.map((r) => ({ line: r.info.lines, cells: r.record })) };
}

/**
 * Every row of one object as the Bulk CSV record, or the cell errors (file:line:column). `columnOf` names the
 * Bulk CSV column of a mapped field (a reference: its relationship column, `Account.Source_Record_Id__c`).
 */
function convertRows(
  o: ObjectMapping,
  header: string[],
  rows: { line: number; cells: string[] }[],
  columnOf: (f: ColumnMapping) => string,
) {
  const col = (name: string) => header.indexOf(name);
  const missing = new Set(o.missing);
  const errors: string[] = [];
  const out: PreparedObject['rows'] = [];
  const created = o.created;
  let pseudoTime: Map<number, string> | null = null;
  if (created && 'orderBy' in created) {
    // Pseudo-time for exports without timestamps: the k-th row in the order column's order (ties: file order).
    const idx = col(created.orderBy);
    const order = rows
      .map((r, i) => ({ i, key: Number(r.cells[idx]) }))
      .sort((a, b) => a.key - b.key || a.i - b.i);
    const start = Date.parse(created.start);
    pseudoTime = new Map(
      order.map((o2, k) => [o2.i, new Date(start + k * created.stepMinutes * 60_000).toISOString()]),
    );
    for (const r of rows)
      if (!Number.isFinite(Number(r.cells[idx])))
        errors.push(
          `${o.file}:${r.line}:${idx + 1}: "${created.orderBy}": "${r.cells[idx]}" is not a number`,
        );
  }
  rows.forEach((r, i) => {
    const record: Record<string, string> = {};
    const key = r.cells[col(o.externalId.column)]?.trim() ?? '';
    if (!key)
      errors.push(
        `${o.file}:${r.line}:${col(o.externalId.column) + 1}: "${o.externalId.column}": the key is empty`,
      );
    record[o.externalId.field] = key;
    for (const f of o.fields) {
      const c = col(f.column);
      const result = convertCell(r.cells[c] ?? '', f, missing);
      if ('error' in result) errors.push(`${o.file}:${r.line}:${c + 1}: "${f.column}": ${result.error}`);
      else record[columnOf(f)] = result.value;
    }
    for (const [field, value] of Object.entries(o.constants)) record[field] = String(value);
    if (o.outcome) {
      const c = col(o.outcome.column);
      const v = (r.cells[c] ?? '').trim();
      if (o.outcome.positive.includes(v)) record[o.outcome.field] = String(o.outcome.positiveValue);
      else if (o.outcome.negative.includes(v)) record[o.outcome.field] = String(o.outcome.negativeValue);
      else
        errors.push(
          `${o.file}:${r.line}:${c + 1}: "${o.outcome.column}": "${v}" is neither an outcome nor its absence`,
        );
    }
    if (created && 'column' in created) {
      const c = col(created.column);
      const ms = Date.parse(r.cells[c] ?? '');
      if (Number.isFinite(ms)) record[created.field] = new Date(ms).toISOString();
      else
        errors.push(`${o.file}:${r.line}:${c + 1}: "${created.column}": "${r.cells[c]}" is not a datetime`);
    } else if (created && pseudoTime) record[created.field] = pseudoTime.get(i)!;
    out.push({ line: r.line, record });
  });
  const keys = new Map<string, number>();
  for (const r of out) {
    const k = r.record[o.externalId.field]!;
    const first = keys.get(k);
    if (k && first !== undefined) errors.push(`${o.file}:${r.line}: key "${k}" repeats line ${first}`);
    else keys.set(k, r.line);
  }
  return { rows: out, errors };
}

/** Reads and checks a mapping file; ImportError naming the file, line and field. */
export function loadImportMapping(file: string): ImportMapping {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ImportError(`${file}: cannot read (${(error as Error).message})`);
  }
  return parseImportMapping(text, file);
}

export interface ImportOptions {
  mappingFile: string;
  dataDir: string;
  client: SalesforceClient;
  dryRun?: boolean;
  /** Rows a Bulk job (default 10,000). */
  chunkRows?: number;
  progress?: boolean;
}

/** Checks everything, then (unless dry run) upserts object by object. Throws ImportError before any write. */
export async function runImport(opts: ImportOptions): Promise<ObjectReport[]> {
  const mapping = loadImportMapping(opts.mappingFile);
  const at = mappingLocator(readFileSync(opts.mappingFile, 'utf8'), opts.mappingFile);
  const prepared: PreparedObject[] = [];
  const problems: string[] = [];
  const describes = new Map<string, DescribeField[] | null>();
  const describeOf = async (object: string) => {
    if (!describes.has(object)) describes.set(object, await describeObject(opts.client, object));
    return describes.get(object)!;
  };
  for (const [index, o] of mapping.objects.entries()) {
    const csv = readCsv(join(opts.dataDir, o.file), o.file);
    const describe = await describeOf(o.object);
    for (const f of o.fields) if (f.reference) await describeOf(f.reference.object);
    const mappingProblems = checkObjectMapping(o, opts.mappingFile, csv.header, describe, {
      index,
      at,
      parent: (object) => describes.get(object) ?? null,
    });
    if (mappingProblems.length) {
      problems.push(...mappingProblems);
      continue;
    }
    // RelationshipName.IndexedFieldName; a polymorphic lookup (OwnerId) names the type: User:Owner.Username.
    const byField = new Map(describe!.map((d) => [d.name, d]));
    const columnOf = (f: ColumnMapping) => {
      if (!f.reference) return f.field;
      const d = byField.get(f.field)!;
      const column = `${d.relationshipName}.${f.reference.externalId}`;
      return (d.referenceTo?.length ?? 0) > 1 ? `${f.reference.object}:${column}` : column;
    };
    const { rows, errors } = convertRows(o, csv.header, csv.rows, columnOf);
    problems.push(...errors);
    const references = o.fields
      .filter((f) => f.reference)
      .map((field) => ({ field, column: columnOf(field) }));
    prepared.push({ mapping: o, header: csv.header, rows, references });
  }
  // References are checked once every object's mapping is sound (the earlier objects' keys are known).
  if (prepared.length === mapping.objects.length)
    problems.push(...(await unknownReferences(opts.client, prepared)));
  if (problems.length) {
    const more = problems.length > MAX_LISTED ? `\n… and ${problems.length - MAX_LISTED} more` : '';
    throw new ImportError(
      `nothing imported: ${problems.length} problem(s)\n${problems.slice(0, MAX_LISTED).join('\n')}${more}`,
    );
  }
  const reports: ObjectReport[] = [];
  for (const p of prepared) {
    const o = p.mapping;
    const report: ObjectReport = {
      object: o.object,
      file: o.file,
      rows: p.rows.length,
      written: 0,
      failed: [],
    };
    reports.push(report);
    if (opts.dryRun) continue;
    const lineOf = new Map(p.rows.map((r) => [r.record[o.externalId.field]!, r.line]));
    const bar = opts.progress
      ? new SingleBar({ format: `${o.object} [{bar}] {value}/{total} rows` }, Presets.shades_classic)
      : null;
    bar?.start(p.rows.length, 0);
    const chunk = opts.chunkRows ?? 10_000;
    for (let i = 0; i < p.rows.length; i += chunk) {
      const part = p.rows.slice(i, i + chunk).map((r) => r.record);
      const columns = Object.keys(part[0]!);
      let jobId: string | null = null;
      const outcome = await opts.client.runIngestJob(
        {
          object: o.object,
          operation: 'upsert',
          externalIdFieldName: o.externalId.field,
          keyColumn: o.externalId.field,
          csv: stringify(part, { header: true, columns, record_delimiter: '\n' }),
          rows: part.length,
        },
        { load: async () => jobId, save: async (id) => void (jobId = id) },
      );
      const failedKeys = new Set<string>();
      for (const f of outcome.failed) {
        failedKeys.add(f.key);
        report.failed.push({ line: lineOf.get(f.key) ?? 0, key: f.key, message: `${f.code}: ${f.message}` });
      }
      for (const k of outcome.unprocessed) {
        failedKeys.add(k);
        report.failed.push({
          line: lineOf.get(k) ?? 0,
          key: k,
          message: outcome.jobFailure ?? 'not processed',
        });
      }
      report.written += part.length - failedKeys.size;
      bar?.update(Math.min(i + chunk, p.rows.length));
    }
    bar?.stop();
  }
  return reports;
}

export function registerImportCommands(program: Command): void {
  program
    .command('import')
    .description("load a client's CSV exports into the org through a mapping file (Bulk API 2.0 upsert)")
    .requiredOption('--mapping <file>', 'mapping file, e.g. config/imports/x-education.json')
    .requiredOption('--data <dir>', 'directory holding the CSV files the mapping names')
    .option('--dry-run', 'check the mapping, headers, describe and every cell; write nothing')
    .option('--chunk <rows>', 'rows per Bulk job', '10000')
    .action(async (opts: { mapping: string; data: string; dryRun?: boolean; chunk: string }) => {
      try {
        loadImportMapping(resolve(opts.mapping)); // a malformed mapping is reported before any connection
        // The org: SF_LOGIN_URL and the client's credentials (see docs/onboarding.md), as every command.
        const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
        const client = new SalesforceClient(await connectToOrg(orgAuthFromEnv()), { log });
        const reports = await runImport({
          mappingFile: resolve(opts.mapping),
          dataDir: resolve(opts.data),
          client,
          dryRun: opts.dryRun === true,
          chunkRows: Number(opts.chunk),
          progress: process.stderr.isTTY,
        });
        for (const r of reports) {
          console.log(
            `${r.object} (${r.file}): ${r.rows} rows${opts.dryRun ? ' checked, nothing written (dry run)' : `, ${r.written} written, ${r.failed.length} refused`}`,
          );
          for (const f of r.failed.slice(0, MAX_LISTED))
            console.log(`  ${r.file}:${f.line}: ${f.key}: ${f.message}`);
        }
        if (reports.some((r) => r.failed.length)) process.exitCode = 1;
      } catch (error) {
        if (!(error instanceof ImportError)) throw error;
        console.error(error.message);
        process.exitCode = 2;
      }
    });
}
