import Database from 'better-sqlite3';
import { keyPrefixOf, makeId, toId18 } from '../ids.js';
import type { FieldDescribe, OrgSchema, SObjectDescribe } from '../schema/index.js';
import { applyDerivedFields, DERIVATION_INPUTS, type Row } from './derived.js';
import { compileSoql, quoteIdent, type CompiledQuery, type CompiledSoql } from './soql.js';
import { SoqlError } from './soql-error.js';
import {
  columnAffinity,
  columnCollation,
  formatDateTime,
  fromStored,
  normalizeValue,
  recordError,
  type RecordError,
  type StoredValue,
} from './values.js';

export { SoqlError } from './soql-error.js';
export type { SoqlErrorCode } from './soql-error.js';
export type { CompiledQuery } from './soql.js';
export type { RecordError } from './values.js';
export { coerce, formatDateTime, normalizeDateTime } from './values.js';

export interface SaveResult {
  id: string | null;
  success: boolean;
  created?: boolean;
  errors: RecordError[];
}

/** Salesforce JSON values: number, boolean, 'YYYY-MM-DD', '2024-01-31T09:15:00.000+0000', string, null. */
export type SObjectRecord = Record<string, unknown>;

export interface QueryPage {
  records: SObjectRecord[];
  nextCursor: string | null;
}

/** A page as column values in `query.fields` order (Salesforce JSON values), for result files. */
export interface QueryRowsPage {
  rows: unknown[][];
  nextCursor: string | null;
}

export type OrgRegion = 'US' | 'EU' | 'MIXED';

/** A whole-call error (unknown object, bad external id field, operation not allowed). */
export class OrgStoreError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = 'OrgStoreError';
  }
}

export interface OrgStoreOptions {
  file: string;
  schema: OrgSchema;
  /** 'US'/'EU' reject rows of the other region (FIELD_INTEGRITY_EXCEPTION); default 'MIXED'. */
  region?: OrgRegion;
  /** Clock for system fields and date literals; tests pin it. */
  clock?: () => Date;
  /** API version used in query records' attributes.url; default '62.0'. */
  apiVersion?: string;
}

interface TableInfo {
  describe: SObjectDescribe;
  name: string;
  /** IsDeleted is in the table but not in describe (User) */
  hiddenIsDeleted: boolean;
  requiredOnCreate: FieldDescribe[];
  autoNumber: FieldDescribe | undefined;
}

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
const REGION_FIELD = 'Data_Region__c';
const STATEMENT_CACHE_SIZE = 500;
/** A page query selects rowid and Id before the query's own columns. */
const PAGE_FIXED_COLUMNS = 2;
export const INTEGRATION_USER_ID = makeId('005', 0);

class RowError extends Error {
  constructor(readonly errors: RecordError[]) {
    super(errors[0]?.message);
  }
}

type Statement = Database.Statement<unknown[], Record<string, unknown>>;

function isSqliteConstraint(error: unknown): error is { code: string; message: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    String((error as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')
  );
}

/** Ties break on rowid in the first term's direction, so a one-column index serves the whole ORDER BY. */
function tiebreakDesc(q: CompiledSoql): boolean {
  return q.order[0]?.desc ?? false;
}

function encodeCursor(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

function decodeCursor(cursor: string): { v: StoredValue[]; r: number; n: number } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      v: StoredValue[];
      r: number;
      n: number;
    };
    if (!Array.isArray(parsed.v) || typeof parsed.r !== 'number' || typeof parsed.n !== 'number')
      throw new Error('shape');
    return parsed;
  } catch {
    throw new OrgStoreError('INVALID_QUERY_LOCATOR', 'invalid query locator');
  }
}

/**
 * The org's records in SQLite, one table per sObject. Every write call is one transaction and returns one
 * SaveResult per input row, in order; row errors never abort the other rows (allOrNone=false).
 */
export class OrgStore {
  readonly schema: OrgSchema;
  readonly region: OrgRegion;
  private readonly db: Database.Database;
  private readonly clock: () => Date;
  private readonly tables = new Map<string, TableInfo>();
  private readonly statements = new Map<string, Statement>();
  private readonly compiled = new Map<string, CompiledSoql>();
  private readonly sequences = new Map<string, number>();
  private lastWriteMs = 0;
  private readonly apiVersion: string;

  static open(opts: OrgStoreOptions): OrgStore {
    return new OrgStore(opts);
  }

  private constructor(opts: OrgStoreOptions) {
    this.schema = opts.schema;
    this.region = opts.region ?? 'MIXED';
    this.clock = opts.clock ?? (() => new Date());
    this.apiVersion = opts.apiVersion ?? '62.0';
    this.db = new Database(opts.file);
    if (opts.file !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -262144'); // 256 MB page cache
    this.createTables();
    this.ensureIntegrationUser();
    this.refreshPlannerStatistics();
  }

  /**
   * Lets SQLite (re)collect index statistics when a table's size changed a lot (a no-op otherwise). Without
   * them the planner takes any equality index (IsConverted = false) over the ORDER BY index and sorts every
   * matching row for each page, which makes a wide keyset-paged extract quadratic in the row count.
   */
  private refreshPlannerStatistics(): void {
    this.db.pragma('optimize = 0x10002');
  }

  /** Runs `fn` in one SQLite transaction (nested calls become savepoints); throwing rolls it back. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }

  /** The Id the API user writes as (CreatedById, default OwnerId). */
  /** The org's clock (pinned or fast in tests), for date fields the org sets itself. */
  now(): Date {
    return this.clock();
  }

  get integrationUserId(): string {
    return INTEGRATION_USER_ID;
  }

  /** Non-deleted rows of `object`. */
  countRecords(object: string): number {
    const t = this.table(object);
    return (
      this.stmt(`SELECT COUNT(*) AS n FROM ${quoteIdent(t.name)} WHERE "IsDeleted" = 0`).get() as {
        n: number;
      }
    ).n;
  }

  // ---- schema → tables -------------------------------------------------------------------------

  private createTables(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS _sim_sequences (object TEXT PRIMARY KEY, next INTEGER NOT NULL)',
    );
    for (const describe of this.schema.objects()) {
      const hiddenIsDeleted = !describe.fields.some((f) => f.name === 'IsDeleted');
      const table = quoteIdent(describe.name);
      const columnDef = (f: FieldDescribe) =>
        f.name === 'Id'
          ? '"Id" TEXT PRIMARY KEY COLLATE BINARY'
          : `${quoteIdent(f.name)} ${columnAffinity(f)} COLLATE ${columnCollation(f)}`;
      const defs = describe.fields.map(columnDef);
      if (hiddenIsDeleted) defs.push('"IsDeleted" INTEGER NOT NULL DEFAULT 0');
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${table} (${defs.join(', ')})`);
      // Fields added to force-app after the database was created become new columns.
      const existing = new Set(
        (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) =>
          c.name.toLowerCase(),
        ),
      );
      for (const f of describe.fields) {
        if (!existing.has(f.name.toLowerCase()))
          this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${columnDef(f)}`);
      }
      for (const f of describe.fields) {
        const unique = f.unique || (f.externalId && f.name !== 'Id');
        if (!unique && !INDEXED_FIELDS.includes(f.name) && !(f.custom && f.type === 'reference')) continue;
        const indexName = quoteIdent(`ix_${describe.name}_${f.name}`);
        this.db.exec(
          `CREATE ${f.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${indexName} ON ${table} (${quoteIdent(f.name)})`,
        );
      }
      if (describe.fields.some((f) => f.name === REGION_FIELD)) {
        // Serves per-region incremental extracts: WHERE Data_Region__c = ? ORDER BY SystemModstamp.
        this.db.exec(
          `CREATE INDEX IF NOT EXISTS ${quoteIdent(`ix_${describe.name}_region_modstamp`)} ON ${table} ("${REGION_FIELD}", "SystemModstamp")`,
        );
      }
      const autoNumber = describe.fields.find((f) => f.autoNumber);
      const requiredOnCreate = describe.fields.filter(
        (f) => !f.nillable && f.createable && !f.defaultedOnCreate && f.type !== 'boolean',
      );
      this.tables.set(describe.name.toLowerCase(), {
        describe,
        name: describe.name,
        hiddenIsDeleted,
        requiredOnCreate,
        autoNumber,
      });
      const seq = this.db.prepare('SELECT next FROM _sim_sequences WHERE object = ?').get(describe.name) as
        { next: number } | undefined;
      this.sequences.set(describe.name, seq?.next ?? 1);
    }
  }

  private ensureIntegrationUser(): void {
    if (this.retrieve('User', INTEGRATION_USER_ID, ['Id'])) return;
    const [result] = this.insert(
      'User',
      [
        {
          Id: INTEGRATION_USER_ID,
          Username: 'integration@leadrank.sim.invalid',
          FirstName: 'Leadrank',
          LastName: 'Integration',
          Email: 'integration@leadrank.sim.invalid',
          Alias: 'lrint',
          IsActive: true,
        },
      ],
      { keepIds: true },
    );
    if (!result?.success)
      throw new Error(`cannot create the integration user: ${result?.errors[0]?.message}`);
  }

  private table(object: string): TableInfo {
    const t = this.tables.get(object.toLowerCase());
    if (!t) throw new OrgStoreError('NOT_FOUND', `The requested resource does not exist`, 404);
    return t;
  }

  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
      s = this.db.prepare(sql) as Statement;
      this.statements.set(sql, s);
    }
    return s;
  }

  /** One timestamp per write call, strictly later than the previous call's, so SystemModstamp always moves. */
  private tick(): string {
    const ms = Math.max(this.clock().getTime(), this.lastWriteMs + 1);
    this.lastWriteMs = ms;
    return formatDateTime(new Date(ms));
  }

  private nextSequence(object: string): number {
    const n = this.sequences.get(object) ?? 1;
    this.sequences.set(object, n + 1);
    return n;
  }

  private saveSequences(objects: string[]): void {
    const upsert = this.stmt(
      'INSERT INTO _sim_sequences (object, next) VALUES (?, ?) ON CONFLICT(object) DO UPDATE SET next = excluded.next',
    );
    for (const o of objects) upsert.run(o, this.sequences.get(o) ?? 1);
  }

  // ---- row preparation ---------------------------------------------------------------------------

  private buildRow(t: TableInfo, record: SObjectRecord, mode: 'insert' | 'update' | 'seed'): Row {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new RowError([recordError('JSON_PARSER_ERROR', 'record must be a JSON object')]);
    }
    const row: Row = new Map();
    const errors: RecordError[] = [];
    const notWritable: string[] = [];
    for (const [key, value] of Object.entries(record)) {
      if (key === 'attributes') continue;
      const field = this.schema.field(t.name, key);
      if (!field) {
        if (mode === 'seed' && key === 'IsDeleted' && t.hiddenIsDeleted) continue;
        errors.push(
          recordError('INVALID_FIELD', `No such column '${key}' on sobject of type ${t.name}`, [key]),
        );
        continue;
      }
      if (field.name === 'Id') {
        if (mode === 'insert') {
          errors.push(
            recordError('INVALID_FIELD_FOR_INSERT_UPDATE', 'cannot specify Id in an insert call', ['Id']),
          );
        }
        if (mode !== 'seed') continue;
      } else if (mode !== 'seed' && !(mode === 'insert' ? field.createable : field.updateable)) {
        notWritable.push(field.name);
        continue;
      }
      const normalized = normalizeValue(this.schema, field, value);
      if (!normalized.ok) errors.push(normalized.error);
      else row.set(field.name, normalized.value);
    }
    if (notWritable.length > 0) {
      errors.push(
        recordError(
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${notWritable.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          notWritable,
        ),
      );
    }
    if (errors.length > 0) throw new RowError(errors);
    return row;
  }

  private checkRegion(row: Row): void {
    if (this.region === 'MIXED' || !row.has(REGION_FIELD)) return;
    const region = row.get(REGION_FIELD);
    if (region !== null && region !== this.region) {
      throw new RowError([
        recordError(
          'FIELD_INTEGRITY_EXCEPTION',
          `Data Region: this org holds only ${this.region} records; got ${String(region)}`,
          [REGION_FIELD],
        ),
      ]);
    }
  }

  private checkRequired(t: TableInfo, row: Row, creating: boolean): void {
    const missing = t.requiredOnCreate
      .filter((f) =>
        creating ? (row.get(f.name) ?? null) === null : row.has(f.name) && row.get(f.name) === null,
      )
      .map((f) => f.name);
    if (missing.length > 0) {
      throw new RowError([
        recordError(
          'REQUIRED_FIELD_MISSING',
          `Required fields are missing: [${missing.join(', ')}]`,
          missing,
        ),
      ]);
    }
  }

  private duplicateError(
    t: TableInfo,
    error: { message: string },
    row: Row,
    selfId: string | undefined,
  ): RecordError {
    const column = /UNIQUE constraint failed: [^.]+\.(\S+)/.exec(error.message)?.[1] ?? 'Id';
    const field = this.schema.field(t.name, column);
    const name = field?.name ?? column;
    const existing = this.stmt(
      `SELECT "Id" FROM ${quoteIdent(t.name)} WHERE ${quoteIdent(name)} = ? AND "Id" IS NOT ? LIMIT 1`,
    ).get(row.get(name) ?? null, selfId ?? null) as { Id: string } | undefined;
    return recordError(
      'DUPLICATE_VALUE',
      `duplicate value found: ${name} duplicates value on record with id: ${existing?.Id ?? 'unknown'}`,
      [name],
    );
  }

  private runWithRowErrors(fn: () => SaveResult, id: string | null = null): SaveResult {
    try {
      return fn();
    } catch (error) {
      if (error instanceof RowError) return { id, success: false, errors: error.errors };
      throw error;
    }
  }

  // ---- writes ----------------------------------------------------------------------------------

  insert(object: string, records: SObjectRecord[], opts: { keepIds?: boolean } = {}): SaveResult[] {
    const t = this.table(object);
    const now = this.tick();
    return this.transaction(() => {
      const results = records.map((r) =>
        this.runWithRowErrors(() => this.insertOne(t, r, now, opts.keepIds ?? false)),
      );
      this.saveSequences([t.name]);
      return results;
    });
  }

  private insertOne(t: TableInfo, record: SObjectRecord, now: string, seed: boolean): SaveResult {
    const row = this.buildRow(t, record, seed ? 'seed' : 'insert');
    for (const f of t.describe.fields) {
      if (row.has(f.name)) continue;
      if (f.type === 'boolean') row.set(f.name, f.defaultValue === true ? 1 : 0);
      else if (f.type === 'picklist' && typeof f.defaultValue === 'string') row.set(f.name, f.defaultValue);
    }
    for (const audit of ['CreatedDate', 'LastModifiedDate', 'SystemModstamp']) {
      if (!row.get(audit)) row.set(audit, now);
    }
    for (const by of ['CreatedById', 'LastModifiedById', 'OwnerId']) {
      if (!row.get(by) && this.schema.field(t.name, by)) row.set(by, INTEGRATION_USER_ID);
    }
    if (!row.has('IsDeleted') || t.hiddenIsDeleted) row.set('IsDeleted', 0);
    if (t.autoNumber && !row.get(t.autoNumber.name)) {
      row.set(
        t.autoNumber.name,
        this.formatAutoNumber(t.autoNumber, this.nextSequence(`${t.name}.autonumber`)),
      );
    }
    applyDerivedFields(t.name, row, undefined, now, seed);
    this.checkRequired(t, row, true);
    this.checkRegion(row);
    const givenId = row.get('Id');
    if (typeof givenId === 'string' && keyPrefixOf(givenId) !== t.describe.keyPrefix) {
      throw new RowError([
        recordError('MALFORMED_ID', `Record ID: id value of incorrect type: ${givenId}`, ['Id']),
      ]);
    }
    for (let attempt = 0; ; attempt++) {
      const id =
        typeof givenId === 'string' ? givenId : makeId(t.describe.keyPrefix, this.nextSequence(t.name));
      row.set('Id', id);
      try {
        this.insertRow(t, row);
        return { id, success: true, errors: [] };
      } catch (error) {
        if (!isSqliteConstraint(error)) throw error;
        // A generated Id can collide with a seeded one: take the next sequence number.
        if (error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' && givenId === undefined && attempt < 100) continue;
        throw new RowError([this.duplicateError(t, error, row, undefined)]);
      }
    }
  }

  private formatAutoNumber(field: FieldDescribe, n: number): string {
    const format = field.calculatedFormula ?? '{0}';
    return format.replace(/\{(0+)\}/, (_m, zeros: string) => String(n).padStart(zeros.length, '0'));
  }

  private insertRow(t: TableInfo, row: Row): void {
    const columns = [...row.keys()];
    const sql = `INSERT INTO ${quoteIdent(t.name)} (${columns.map(quoteIdent).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    this.stmt(sql).run(...row.values());
  }

  /** `system`: the org itself writes (lead conversion, merge), so read-only fields may be set. */
  update(object: string, records: SObjectRecord[], opts: { system?: boolean } = {}): SaveResult[] {
    const t = this.table(object);
    const now = this.tick();
    return this.transaction(() =>
      records.map((r) => {
        const raw = typeof r === 'object' && r !== null ? (r.Id ?? r.id) : undefined;
        return this.runWithRowErrors(
          () => this.updateOne(t, r, now, opts.system ?? false),
          typeof raw === 'string' ? (toId18(raw) ?? raw) : null,
        );
      }),
    );
  }

  private resolveExisting(t: TableInfo, rawId: unknown): { id: string; existing: Record<string, unknown> } {
    if (rawId === undefined || rawId === null || rawId === '') {
      throw new RowError([recordError('MISSING_ARGUMENT', 'Id not specified in an update call', ['Id'])]);
    }
    const id = typeof rawId === 'string' ? toId18(rawId) : undefined;
    if (!id || keyPrefixOf(id) !== t.describe.keyPrefix) {
      throw new RowError([
        recordError('MALFORMED_ID', `${t.describe.label} ID: id value of incorrect type: ${String(rawId)}`, [
          'Id',
        ]),
      ]);
    }
    const deps = DERIVATION_INPUTS[t.name] ?? [];
    const columns = ['IsDeleted', ...deps].map(quoteIdent).join(', ');
    const existing = this.stmt(
      `SELECT rowid AS __rowid, ${columns} FROM ${quoteIdent(t.name)} WHERE "Id" = ?`,
    ).get(id);
    if (!existing)
      throw new RowError([recordError('NOT_FOUND', 'The requested resource does not exist', [])]);
    if (existing.IsDeleted === 1)
      throw new RowError([recordError('ENTITY_IS_DELETED', 'entity is deleted', [])]);
    return { id, existing };
  }

  private updateOne(t: TableInfo, record: SObjectRecord, now: string, system = false): SaveResult {
    const { id, existing } = this.resolveExisting(t, record.Id ?? record.id);
    const row = this.buildRow(t, record, system ? 'seed' : 'update');
    this.checkRequired(t, row, false);
    this.checkRegion(row);
    applyDerivedFields(t.name, row, existing, now, false);
    row.set('LastModifiedDate', now);
    row.set('LastModifiedById', INTEGRATION_USER_ID);
    row.set('SystemModstamp', now);
    const columns = [...row.keys()];
    const sql = `UPDATE ${quoteIdent(t.name)} SET ${columns.map((c) => `${quoteIdent(c)} = ?`).join(', ')} WHERE rowid = ?`;
    try {
      this.stmt(sql).run(...row.values(), existing.__rowid);
    } catch (error) {
      if (!isSqliteConstraint(error)) throw error;
      throw new RowError([this.duplicateError(t, error, row, id)]);
    }
    return { id, success: true, errors: [] };
  }

  upsert(object: string, externalIdField: string, records: SObjectRecord[]): SaveResult[] {
    const t = this.table(object);
    const keyField = this.schema.field(t.name, externalIdField);
    if (!keyField || !(keyField.name === 'Id' || keyField.externalId || keyField.idLookup)) {
      throw new OrgStoreError(
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${externalIdField}`,
        404,
      );
    }
    const now = this.tick();
    const keyOf = (r: SObjectRecord): StoredValue => {
      const raw =
        r[keyField.name] ??
        Object.entries(r).find(([k]) => k.toLowerCase() === keyField.name.toLowerCase())?.[1];
      if (raw === undefined || raw === null || raw === '') return null;
      const normalized = normalizeValue(this.schema, keyField, raw);
      return normalized.ok ? normalized.value : null;
    };
    const keys = records.map(keyOf);
    const counts = new Map<string, number>();
    for (const k of keys)
      if (k !== null) counts.set(String(k).toLowerCase(), (counts.get(String(k).toLowerCase()) ?? 0) + 1);
    const lookup = `SELECT "Id" FROM ${quoteIdent(t.name)} WHERE ${quoteIdent(keyField.name)} = ? AND "IsDeleted" = 0 LIMIT 2`;
    return this.transaction(() => {
      const results = records.map((record, i) =>
        this.runWithRowErrors(() => {
          const key = keys[i] ?? null;
          if (keyField.name === 'Id' && key === null)
            return { ...this.insertOne(t, record, now, false), created: true };
          if (key === null) {
            throw new RowError([
              recordError('MISSING_ARGUMENT', `${keyField.name} not specified`, [keyField.name]),
            ]);
          }
          if ((counts.get(String(key).toLowerCase()) ?? 0) > 1) {
            throw new RowError([
              recordError('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${String(key)}`, [
                keyField.name,
              ]),
            ]);
          }
          const matches = this.stmt(lookup).all(key) as { Id: string }[];
          if (matches.length > 1) {
            throw new RowError([
              recordError(
                'DUPLICATE_EXTERNAL_ID',
                `${keyField.label}: more than one record found for external id field: ${matches.map((m) => m.Id).join(', ')}`,
                [keyField.name],
              ),
            ]);
          }
          const match = matches[0];
          if (match) {
            const { [keyField.name]: _key, ...rest } = record;
            return { ...this.updateOne(t, { ...rest, Id: match.Id }, now), created: false };
          }
          if (keyField.name === 'Id')
            throw new RowError([recordError('NOT_FOUND', 'The requested resource does not exist', [])]);
          return { ...this.insertOne(t, record, now, false), created: true };
        }),
      );
      this.saveSequences([t.name, `${t.name}.autonumber`]);
      return results;
    });
  }

  delete(object: string, ids: string[]): SaveResult[] {
    const t = this.table(object);
    if (!t.describe.deletable) {
      throw new OrgStoreError('INVALID_TYPE_FOR_OPERATION', `entity type ${t.name} does not support delete`);
    }
    const now = this.tick();
    const sql = `UPDATE ${quoteIdent(t.name)} SET "IsDeleted" = 1, "SystemModstamp" = ? WHERE rowid = ?`;
    return this.transaction(() =>
      ids.map((rawId) =>
        this.runWithRowErrors(
          () => {
            const { id, existing } = this.resolveExisting(t, rawId);
            this.stmt(sql).run(now, existing.__rowid);
            return { id, success: true, errors: [] };
          },
          typeof rawId === 'string' ? (toId18(rawId) ?? rawId) : null,
        ),
      ),
    );
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** A non-deleted record with the given fields (all by default), or undefined. */
  retrieve(object: string, id: string, fields?: string[]): SObjectRecord | undefined {
    const t = this.table(object);
    const id18 = toId18(id);
    if (!id18) return undefined;
    const selected = (fields ?? t.describe.fields.map((f) => f.name)).map((name) => {
      const f = this.schema.field(t.name, name);
      if (!f) throw new SoqlError('INVALID_FIELD', `No such column '${name}' on entity '${t.name}'.`);
      return f;
    });
    const sql = `SELECT ${selected.map((f) => quoteIdent(f.name)).join(', ')} FROM ${quoteIdent(t.name)} WHERE "Id" = ? AND "IsDeleted" = 0`;
    const row = this.stmt(sql).get(id18);
    if (!row) return undefined;
    return Object.fromEntries(selected.map((f) => [f.name, fromStored(f, row[f.name])]));
  }

  /** Ids of non-deleted records whose `field` equals `value` (column collation applies), at most `max`. */
  findIds(object: string, field: string, value: unknown, max = 2): string[] {
    const t = this.table(object);
    const f = this.schema.field(t.name, field);
    if (!f)
      throw new OrgStoreError('INVALID_FIELD', `No such column '${field}' on sobject of type ${t.name}`);
    const normalized = normalizeValue(this.schema, f, value);
    if (!normalized.ok || normalized.value === null) return [];
    const sql = `SELECT "Id" FROM ${quoteIdent(t.name)} WHERE ${quoteIdent(f.name)} = ? AND "IsDeleted" = 0 LIMIT ?`;
    return (this.stmt(sql).all(normalized.value, max) as { Id: string }[]).map((r) => r.Id);
  }

  /** Compiles SOQL (cached); throws SoqlError. queryAll semantics with `includeDeleted`. */
  compileQuery(soql: string, opts: { includeDeleted?: boolean } = {}): CompiledQuery {
    const key = `${opts.includeDeleted ? 'all' : 'live'}:${soql}`;
    const hasDateLiteral =
      /\b(TODAY|YESTERDAY|TOMORROW|_WEEK|_MONTH|_QUARTER|_YEAR|_DAYS|_WEEKS|_MONTHS|_QUARTERS|_YEARS)\b/i.test(
        soql,
      );
    const cached = hasDateLiteral ? undefined : this.compiled.get(key);
    if (cached) return cached;
    const compiled = compileSoql(this.schema, soql, this.clock());
    const withDeleted: CompiledSoql = opts.includeDeleted
      ? compiled
      : {
          ...compiled,
          where: compiled.where ? `(${compiled.where}) AND t."IsDeleted" = 0` : 't."IsDeleted" = 0',
        };
    if (this.compiled.size > 1000) this.compiled.clear();
    this.compiled.set(key, withDeleted);
    return withDeleted;
  }

  private asSoql(query: CompiledQuery): CompiledSoql {
    if (!('columns' in query)) throw new Error('query was not compiled by this store');
    return query as CompiledSoql;
  }

  /** Rows the query matches, respecting LIMIT and OFFSET. */
  count(query: CompiledQuery): number {
    const q = this.asSoql(query);
    this.refreshPlannerStatistics();
    const where = q.where ? `WHERE ${q.where}` : '';
    const limit = q.limit !== null || q.offset > 0 ? `LIMIT ${q.limit ?? -1} OFFSET ${q.offset}` : '';
    const sql = `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${q.from} ${where} ${limit})`;
    return (this.stmt(sql).get(...q.params) as { n: number }).n;
  }

  /**
   * One page of results. Paging is keyset-based on (ORDER BY terms, rowid), so deep pages cost the same as the
   * first. COUNT() returns no records; COUNT(field) returns one AggregateResult row.
   */
  page(query: CompiledQuery, cursor: string | null, pageSize: number): QueryPage {
    const q = this.asSoql(query);
    if (q.aggregate) {
      if (q.aggregate.kind === 'count') return { records: [], nextCursor: null };
      return {
        records: [{ attributes: { type: 'AggregateResult' }, [q.aggregate.alias]: this.count(q) }],
        nextCursor: null,
      };
    }
    const { rows, nextCursor } = this.selectPage(q, cursor, pageSize);
    const relIndex = new Map(q.relationships.map((r, i) => [r.name, i]));
    return { records: rows.map((row) => this.toRecord(q, relIndex, row)), nextCursor };
  }

  /**
   * The same page as `page`, as arrays of column values in `query.fields` order: what a CSV result file needs,
   * without building a record (attributes, nested relationship objects) per row. Not for aggregate queries.
   */
  pageRows(query: CompiledQuery, cursor: string | null, pageSize: number): QueryRowsPage {
    const q = this.asSoql(query);
    if (q.aggregate) {
      const { records, nextCursor } = this.page(q, cursor, pageSize);
      return { rows: records.map((r) => q.fields.map((f) => r[f] ?? null)), nextCursor };
    }
    const { rows, nextCursor } = this.selectPage(q, cursor, pageSize);
    const fields = q.columns.map((c) => c.field);
    const out = new Array<unknown[]>(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const values = new Array<unknown>(fields.length);
      for (let i = 0; i < fields.length; i++) values[i] = fromStored(fields[i]!, row[PAGE_FIXED_COLUMNS + i]);
      out[r] = values;
    }
    return { rows: out, nextCursor };
  }

  /**
   * Raw rows (arrays: rowid, Id, the select columns, relationship ids, the ORDER BY values) of one page.
   * Arrays rather than objects: a 26-column object per row was a good part of a wide extract's cost.
   */
  private selectPage(
    q: CompiledSoql,
    cursor: string | null,
    pageSize: number,
  ): { rows: unknown[][]; nextCursor: string | null } {
    const state = cursor === null ? null : decodeCursor(cursor);
    const emitted = state?.n ?? 0;
    const remaining = q.limit === null ? Infinity : q.limit - emitted;
    if (remaining <= 0) return { rows: [], nextCursor: null };
    const take = Math.min(pageSize, remaining);
    if (state === null) this.refreshPlannerStatistics();

    const conditions: string[] = q.where ? [`(${q.where})`] : [];
    const params: StoredValue[] = [...q.params];
    if (state) {
      const keyset = this.keysetCondition(q, state.v, state.r);
      conditions.push(keyset.sql);
      params.push(...keyset.params);
    }
    const orderSql = [
      ...q.order.map((o) => `${o.expr} ${o.desc ? 'DESC' : 'ASC'} NULLS ${o.nullsFirst ? 'FIRST' : 'LAST'}`),
      `t.rowid ${tiebreakDesc(q) ? 'DESC' : 'ASC'}`,
    ].join(', ');
    const select = [
      't.rowid AS __r',
      't."Id" AS __id',
      ...q.columns.map((c, i) => `${c.expr} AS c${i}`),
      ...q.relationships.map((r, i) => `${r.idExpr} AS rel${i}`),
      ...q.order.map((o, i) => `${o.expr} AS o${i}`),
    ].join(', ');
    const sql =
      `SELECT ${select} FROM ${q.from} ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} ` +
      `ORDER BY ${orderSql} LIMIT ? OFFSET ?`;
    // Only page queries use this SQL text, so the cached statement can stay in raw (array) mode.
    const rows = this.stmt(sql)
      .raw(true)
      .all(...params, take + 1, state ? 0 : q.offset) as unknown as unknown[][];
    const hasMore = rows.length > take;
    if (hasMore) rows.length = take;
    const last = rows[rows.length - 1];
    const reachedLimit = emitted + rows.length >= (q.limit ?? Infinity);
    const orderStart = PAGE_FIXED_COLUMNS + q.columns.length + q.relationships.length;
    const nextCursor =
      hasMore && last && !reachedLimit
        ? encodeCursor({
            v: q.order.map((_o, i) => last[orderStart + i] as StoredValue),
            r: last[0] as number,
            n: emitted + rows.length,
          })
        : null;
    return { rows, nextCursor };
  }

  /** Rows strictly after (values, rowid) in the query's order, with SOQL's NULLS FIRST/LAST placement. */
  private keysetCondition(
    q: CompiledSoql,
    values: StoredValue[],
    rowid: number,
  ): { sql: string; params: StoredValue[] } {
    const desc = tiebreakDesc(q);
    // A row value lets SQLite seek the ORDER BY index straight to the cursor. It equals the expansion below
    // when every term runs in one direction, puts NULLs first (rows with NULLs are then never after the
    // cursor) and the cursor holds no NULL.
    if (q.order.every((o) => o.desc === desc && o.nullsFirst) && values.every((v) => v !== null)) {
      const terms = [...q.order.map((o) => o.expr), 't.rowid'];
      return {
        sql: `((${terms.join(', ')}) ${desc ? '<' : '>'} (${terms.map(() => '?').join(', ')}))`,
        params: [...values.slice(0, q.order.length), rowid],
      };
    }
    const params: StoredValue[] = [];
    const alternatives: string[] = [];
    const equalPrefix: string[] = [];
    const prefixParams: StoredValue[] = [];
    q.order.forEach((o, i) => {
      const v = values[i] ?? null;
      let after: string | null;
      const afterParams: StoredValue[] = [];
      if (v === null) after = o.nullsFirst ? `${o.expr} IS NOT NULL` : null;
      else {
        after = `${o.expr} ${o.desc ? '<' : '>'} ?`;
        afterParams.push(v);
        if (!o.nullsFirst) after = `(${after} OR ${o.expr} IS NULL)`;
      }
      if (after) {
        alternatives.push([...equalPrefix, after].join(' AND '));
        params.push(...prefixParams, ...afterParams);
      }
      // `=` rather than `IS` so SQLite can still use an index on the column.
      if (v === null) equalPrefix.push(`${o.expr} IS NULL`);
      else {
        equalPrefix.push(`${o.expr} = ?`);
        prefixParams.push(v);
      }
    });
    alternatives.push([...equalPrefix, `t.rowid ${tiebreakDesc(q) ? '<' : '>'} ?`].join(' AND '));
    params.push(...prefixParams, rowid);
    return { sql: `(${alternatives.map((a) => `(${a})`).join(' OR ')})`, params };
  }

  private toRecord(q: CompiledSoql, relIndex: Map<string, number>, row: unknown[]): SObjectRecord {
    const attributes = (type: string, id: unknown) => ({
      type,
      url: `/services/data/v${this.apiVersion}/sobjects/${type}/${String(id)}`,
    });
    const record: SObjectRecord = { attributes: attributes(q.object, row[1]) };
    const relStart = PAGE_FIXED_COLUMNS + q.columns.length;
    q.columns.forEach((c, i) => {
      const value = fromStored(c.field, row[PAGE_FIXED_COLUMNS + i]);
      const [head = '', leaf] = c.path;
      if (leaf === undefined) {
        record[head] = value;
        return;
      }
      if (!(head in record)) {
        const index = relIndex.get(head) ?? -1;
        const id = index < 0 ? null : row[relStart + index];
        record[head] =
          id === null || id === undefined
            ? null
            : { attributes: attributes(q.relationships[index]?.type ?? '', id) };
      }
      const parent = record[head] as SObjectRecord | null;
      if (parent) parent[leaf] = value;
    });
    return record;
  }
}
