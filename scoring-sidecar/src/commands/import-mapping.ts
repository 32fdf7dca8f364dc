// The importer's mapping file (config/imports/<client>.json): which CSV export goes to which object, column by
// column, with types, missing-value tokens, the outcome rule and the created time. Validated with positions
// (file, line, column of the mapping), then against the CSV headers and the org's describe.
import { z } from 'zod';
import { parseJsonWithPositions, type DescribeField, type JsonPath } from '../features/index.js';

export class ImportError extends Error {
  override name = 'ImportError';
}

const valueType = z.enum(['string', 'number', 'integer', 'boolean', 'date', 'datetime']);
export type ValueType = z.infer<typeof valueType>;

const columnMapping = z.strictObject({
  column: z.string().min(1),
  field: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a field API name'),
  type: valueType,
  /** Tokens read as true / false for boolean columns (default: true/false, yes/no, 1/0, case-folded). */
  trueValues: z.array(z.string()).optional(),
  falseValues: z.array(z.string()).optional(),
});

const objectMapping = z.strictObject({
  /** The CSV file, relative to --data. */
  file: z.string().min(1),
  object: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
  /** The source key: makes the import an idempotent upsert (a re-run resumes; nothing is duplicated). */
  externalId: z.strictObject({ column: z.string(), field: z.string() }),
  /** Cell values that mean "no value" (besides the empty cell). */
  missing: z.array(z.string()).default([]),
  fields: z.array(columnMapping).min(1),
  /** Values every record gets (required fields the export lacks, e.g. LastName for anonymised leads). */
  constants: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  /** The outcome: a column whose `positive` values mean the outcome happened, written to `field`. */
  outcome: z
    .strictObject({
      column: z.string(),
      positive: z.array(z.string()).min(1),
      negative: z.array(z.string()).min(1),
      field: z.string(),
      positiveValue: z.union([z.string(), z.boolean()]),
      negativeValue: z.union([z.string(), z.boolean()]),
    })
    .optional(),
  /**
   * When each record was created: a datetime `column`, or, for an export without timestamps, pseudo-time by a
   * numeric `orderBy` column (record k in that order gets start + k × stepMinutes). Written to `field`.
   */
  created: z
    .union([
      z.strictObject({ field: z.string(), column: z.string() }),
      z.strictObject({
        field: z.string(),
        orderBy: z.string(),
        start: z.iso.datetime(),
        stepMinutes: z.number().positive(),
      }),
    ])
    .optional(),
});
export type ObjectMapping = z.infer<typeof objectMapping>;

export const importMappingSchema = z.strictObject({
  mappingVersion: z.literal(1),
  name: z.string().min(1),
  objects: z.array(objectMapping).min(1),
});
export type ImportMapping = z.infer<typeof importMappingSchema>;

function ruleProblems(m: ImportMapping): [JsonPath, string][] {
  const problems: [JsonPath, string][] = [];
  m.objects.forEach((o, i) => {
    const seen = new Set<string>();
    o.fields.forEach((f, j) => {
      if (seen.has(f.field))
        problems.push([['objects', i, 'fields', j, 'field'], `${o.object}.${f.field} is mapped twice`]);
      seen.add(f.field);
    });
  });
  return problems;
}

export function parseImportMapping(text: string, file: string): ImportMapping {
  return parseJsonWithPositions(text, file, importMappingSchema, ruleProblems, ImportError);
}

/** Describe types each mapping type may write. */
const WRITES: Record<ValueType, readonly string[]> = {
  string: ['string', 'picklist', 'textarea', 'email', 'phone', 'url', 'combobox', 'multipicklist'],
  number: ['double', 'currency', 'percent', 'int', 'long'],
  integer: ['int', 'double', 'long', 'currency'],
  boolean: ['boolean'],
  date: ['date'],
  datetime: ['datetime'],
};

/** Problems of one object mapping against its CSV header and the org's describe of the object. */
export function checkObjectMapping(
  o: ObjectMapping,
  mappingFile: string,
  header: readonly string[],
  describe: readonly DescribeField[] | null,
): string[] {
  const problems: string[] = [];
  const columns = new Set(header);
  const needColumn = (column: string, what: string) => {
    if (!columns.has(column))
      problems.push(
        `${o.file}:1: column "${column}" (${what} in ${mappingFile}) is not in the file's header`,
      );
  };
  needColumn(o.externalId.column, 'externalId');
  for (const f of o.fields) needColumn(f.column, `${o.object}.${f.field}`);
  if (o.outcome) needColumn(o.outcome.column, 'outcome');
  if (o.created && 'column' in o.created) needColumn(o.created.column, 'created');
  if (o.created && 'orderBy' in o.created) needColumn(o.created.orderBy, 'created.orderBy');
  if (!describe) {
    problems.push(`${mappingFile}: object ${o.object} does not exist in the org`);
    return problems;
  }
  const byName = new Map(describe.map((d) => [d.name, d]));
  const target = (field: string, type: ValueType | null) => {
    const d = byName.get(field);
    if (!d) return problems.push(`${mappingFile}: ${o.object}.${field} does not exist in the org`);
    if (!d.createable)
      return problems.push(`${mappingFile}: ${o.object}.${field} is not createable in the org`);
    if (type && !WRITES[type].includes(d.type))
      problems.push(
        `${mappingFile}: ${o.object}.${field} is of type ${d.type} in the org; the mapping writes ${type}`,
      );
    return undefined;
  };
  target(o.externalId.field, 'string');
  const ext = byName.get(o.externalId.field);
  if (ext && !ext.externalId && o.externalId.field !== 'Id')
    problems.push(`${mappingFile}: ${o.object}.${o.externalId.field} is not an external id field`);
  for (const f of o.fields) target(f.field, f.type);
  for (const field of Object.keys(o.constants)) target(field, null);
  if (o.outcome) target(o.outcome.field, null);
  if (o.created) target(o.created.field, 'datetime');
  return problems;
}

/** A cell as the Bulk API CSV wants it ('' = not set), or an error message. */
export function convertCell(
  raw: string,
  f: { type: ValueType; trueValues?: string[]; falseValues?: string[] },
  missing: ReadonlySet<string>,
): { value: string } | { error: string } {
  const v = raw.trim();
  if (v === '' || missing.has(v)) return { value: '' };
  switch (f.type) {
    case 'string':
      return { value: v };
    case 'number':
      return Number.isFinite(Number(v)) ? { value: String(Number(v)) } : { error: `"${v}" is not a number` };
    case 'integer':
      return /^-?\d+$/.test(v) ? { value: v } : { error: `"${v}" is not an integer` };
    case 'boolean': {
      const t = (f.trueValues ?? ['true', 'yes', '1']).map((x) => x.toLowerCase());
      const fa = (f.falseValues ?? ['false', 'no', '0']).map((x) => x.toLowerCase());
      if (t.includes(v.toLowerCase())) return { value: 'true' };
      if (fa.includes(v.toLowerCase())) return { value: 'false' };
      return { error: `"${v}" is not one of ${[...t, ...fa].join('/')}` };
    }
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(v) && Number.isFinite(Date.parse(v))
        ? { value: v }
        : { error: `"${v}" is not a date (YYYY-MM-DD)` };
    case 'datetime': {
      const ms = Date.parse(v);
      return Number.isFinite(ms)
        ? { value: new Date(ms).toISOString() }
        : { error: `"${v}" is not a datetime` };
    }
  }
}
