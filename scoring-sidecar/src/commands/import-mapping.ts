// The importer's mapping file (config/imports/<client>.json): which CSV export goes to which object, column by
// column, with types, missing-value tokens, the outcome rule and the created time. Validated with positions
// (file, line, column of the mapping), then against the CSV headers and the org's describe.
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { z } from 'zod';
import { parseJsonWithPositions, type DescribeField, type JsonPath } from '../features/index.js';

export class ImportError extends Error {
  override name = 'ImportError';
}

const valueType = z.enum(['string', 'number', 'integer', 'boolean', 'date', 'datetime']);
export type ValueType = z.infer<typeof valueType>;

const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'an API name');

const columnMapping = z.strictObject({
  column: z.string().min(1),
  field: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a field API name'),
  /** How the cell is read; required unless the column is a `reference` (its cells are keys). */
  type: valueType.optional(),
  /**
   * The column holds another object's external id: the lookup `field` is set to that record, by the Bulk API 2.0
   * relationship column `<relationshipName>.<externalId>` (e.g. `Account.Source_Record_Id__c` for AccountId).
   */
  reference: z.strictObject({ object: apiName, externalId: apiName }).optional(),
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
export type ColumnMapping = z.infer<typeof columnMapping>;

export const importMappingSchema = z.strictObject({
  mappingVersion: z.literal(1),
  name: z.string().min(1),
  objects: z.array(objectMapping).min(1),
});
export type ImportMapping = z.infer<typeof importMappingSchema>;

function ruleProblems(m: ImportMapping): [JsonPath, string][] {
  const problems: [JsonPath, string][] = [];
  m.objects.forEach((o, i) => {
    // Field history (LeadHistory, OpportunityFieldHistory, Custom__History) is written by the org itself: its API
    // has no create. Outcome timing comes in as a date field on the record instead (docs/onboarding.md).
    if (/History$/.test(o.object))
      problems.push([
        ['objects', i, 'object'],
        `${o.object} is written by the org, not imported: map the outcome's date column to a date field of the record`,
      ]);
    const seen = new Set<string>();
    o.fields.forEach((f, j) => {
      if (seen.has(f.field))
        problems.push([['objects', i, 'fields', j, 'field'], `${o.object}.${f.field} is mapped twice`]);
      seen.add(f.field);
      if (!f.type && !f.reference)
        problems.push([['objects', i, 'fields', j], 'a "type" is required (or a "reference")']);
      if (f.type && f.reference && f.type !== 'string')
        problems.push([
          ['objects', i, 'fields', j, 'type'],
          'a reference column holds keys: type "string" or none',
        ]);
      const ref = f.reference;
      if (!ref) return;
      // The referenced object loads before this one (or is not imported: its records are already in the org).
      const later = m.objects.findIndex(
        (p, k) => k >= i && p.object.toLowerCase() === ref.object.toLowerCase(),
      );
      if (later >= 0)
        problems.push([
          ['objects', i, 'fields', j, 'reference', 'object'],
          later === i
            ? `${ref.object} refers to itself: load the keys first, then the references in a second object entry`
            : `${ref.object} is imported after ${o.object} (objects[${later}]): list it first`,
        ]);
    });
  });
  return problems;
}

export function parseImportMapping(text: string, file: string): ImportMapping {
  return parseJsonWithPositions(text, file, importMappingSchema, ruleProblems, ImportError);
}

/** "<file>:<line>:<column>: <json.path>" of a path in the mapping's text, for problems found against the org. */
export function mappingLocator(text: string, file: string): (path: JsonPath) => string {
  const tree = parseTree(text);
  return (path) => {
    let node = tree && findNodeAtLocation(tree, path);
    if (node?.parent?.type === 'property') node = node.parent;
    const before = text.slice(0, node?.offset ?? 0).split('\n');
    const pathText = path.map((p, k) => (typeof p === 'number' ? `[${p}]` : k === 0 ? p : `.${p}`)).join('');
    return `${file}:${before.length}:${before.at(-1)!.length + 1}: ${pathText}`;
  };
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
  refs: {
    /** This object's index in the mapping's `objects`. */
    index: number;
    /** "<file>:<line>:<column>: <path>" of a mapping path. */
    at: (path: JsonPath) => string;
    /** The org's describe of a referenced object (null: no such object). */
    parent: (object: string) => readonly DescribeField[] | null;
  } = { index: 0, at: () => mappingFile, parent: () => null },
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
  o.fields.forEach((f, j) => {
    if (!f.reference) return void target(f.field, f.type ?? 'string');
    const at = (...path: JsonPath) => refs.at(['objects', refs.index, 'fields', j, ...path]);
    const d = byName.get(f.field);
    const ref = f.reference;
    if (!d) return void problems.push(`${at('field')}: ${o.object}.${f.field} does not exist in the org`);
    if (!d.createable)
      return void problems.push(`${at('field')}: ${o.object}.${f.field} is not createable in the org`);
    if (d.type !== 'reference' || !(d.referenceTo ?? []).includes(ref.object) || !d.relationshipName)
      return void problems.push(
        `${at('reference', 'object')}: ${o.object}.${f.field} is not a lookup to ${ref.object} in the org (${d.type}${d.referenceTo?.length ? ` to ${d.referenceTo.join(', ')}` : ''})`,
      );
    const parent = refs.parent(ref.object);
    const key = parent?.find((p) => p.name === ref.externalId);
    if (!parent)
      problems.push(`${at('reference', 'object')}: object ${ref.object} does not exist in the org`);
    else if (!key)
      problems.push(
        `${at('reference', 'externalId')}: ${ref.object}.${ref.externalId} does not exist in the org`,
      );
    else if (!key.externalId)
      problems.push(
        `${at('reference', 'externalId')}: ${ref.object}.${ref.externalId} is not an external id field in the org`,
      );
  });
  for (const field of Object.keys(o.constants)) target(field, null);
  if (o.outcome) target(o.outcome.field, null);
  if (o.created) target(o.created.field, 'datetime');
  return problems;
}

/** A cell as the Bulk API CSV wants it ('' = not set), or an error message. */
export function convertCell(
  raw: string,
  f: { type?: ValueType | undefined; trueValues?: string[] | undefined; falseValues?: string[] | undefined },
  missing: ReadonlySet<string>,
): { value: string } | { error: string } {
  const v = raw.trim();
  if (v === '' || missing.has(v)) return { value: '' };
  switch (f.type ?? 'string') {
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
