// Stands in for the org's physical storage of sObjects: one SQLite table per describe, with its indexes.
import type Database from 'better-sqlite3';
import type { FieldDescribe, OrgSchema } from '../schema/index.js';
import { quoteIdent } from './soql.js';
import { OrgStoreError, REGION_FIELD, type TableInfo } from './types.js';
import { columnAffinity, columnCollation } from './values.js';

const INDEXED_FIELDS = [
  'SystemModstamp',
  'OwnerId',
  'Data_Region__c',
  'IsConverted',
  'Status',
  'WhoId',
  'WhatId',
  'LeadId',
];

/**
 * Creates (or extends) one table per object of the schema and returns the tables by lower-case object name.
 * Fields added to force-app after the database was created become new columns.
 */
export function createTables(db: Database.Database, schema: OrgSchema): Map<string, TableInfo> {
  const tables = new Map<string, TableInfo>();
  for (const describe of schema.objects()) {
    const hiddenIsDeleted = !describe.fields.some((f) => f.name === 'IsDeleted');
    const table = quoteIdent(describe.name);
    const columnDef = (f: FieldDescribe) =>
      f.name === 'Id'
        ? '"Id" TEXT PRIMARY KEY COLLATE BINARY'
        : `${quoteIdent(f.name)} ${columnAffinity(f)} COLLATE ${columnCollation(f)}`;
    const defs = describe.fields.map(columnDef);
    if (hiddenIsDeleted) defs.push('"IsDeleted" INTEGER NOT NULL DEFAULT 0');
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (${defs.join(', ')})`);
    const existing = new Set(
      (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) =>
        c.name.toLowerCase(),
      ),
    );
    for (const f of describe.fields) {
      if (!existing.has(f.name.toLowerCase())) db.exec(`ALTER TABLE ${table} ADD COLUMN ${columnDef(f)}`);
    }
    for (const f of describe.fields) {
      const unique = f.unique || (f.externalId && f.name !== 'Id');
      if (!unique && !INDEXED_FIELDS.includes(f.name) && !(f.custom && f.type === 'reference')) continue;
      const indexName = quoteIdent(`ix_${describe.name}_${f.name}`);
      db.exec(
        `CREATE ${f.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${indexName} ON ${table} (${quoteIdent(f.name)})`,
      );
    }
    if (describe.fields.some((f) => f.name === REGION_FIELD)) {
      // Serves per-region incremental extracts: WHERE Data_Region__c = ? ORDER BY SystemModstamp.
      db.exec(
        `CREATE INDEX IF NOT EXISTS ${quoteIdent(`ix_${describe.name}_region_modstamp`)} ON ${table} ("${REGION_FIELD}", "SystemModstamp")`,
      );
    }
    const autoNumber = describe.fields.find((f) => f.autoNumber);
    const requiredOnCreate = describe.fields.filter(
      (f) => !f.nillable && f.createable && !f.defaultedOnCreate && f.type !== 'boolean',
    );
    tables.set(describe.name.toLowerCase(), {
      describe,
      name: describe.name,
      hiddenIsDeleted,
      requiredOnCreate,
      autoNumber,
    });
  }
  return tables;
}

/** The table of `object` (any case); unknown objects answer 404 NOT_FOUND, as the REST API does. */
export function tableOf(tables: Map<string, TableInfo>, object: string): TableInfo {
  const t = tables.get(object.toLowerCase());
  if (!t) throw new OrgStoreError('NOT_FOUND', `The requested resource does not exist`, 404);
  return t;
}

/**
 * Lets SQLite (re)collect index statistics when a table's size changed a lot (a no-op otherwise). Without
 * them the planner takes any equality index (IsConverted = false) over the ORDER BY index and sorts every
 * matching row for each page, which makes a wide keyset-paged extract quadratic in the row count.
 */
export function refreshPlannerStatistics(db: Database.Database): void {
  db.pragma('optimize = 0x10002');
}
