// Stands in for Salesforce's DML: insert, update, upsert and delete with per-row SaveResults (allOrNone=false).
import type Database from 'better-sqlite3';
import { keyPrefixOf, makeId, toId18 } from '../ids.js';
import type { OrgSchema } from '../schema/index.js';
import { applyDerivedFields, DERIVATION_INPUTS, type Row } from './derived.js';
import { formatAutoNumber, type Sequences } from './sequences.js';
import { quoteIdent } from './soql.js';
import type { StatementCache } from './statements.js';
import { tableOf } from './tables.js';
import {
  INTEGRATION_USER_ID,
  isSqliteConstraint,
  OrgStoreError,
  REGION_FIELD,
  RowError,
  type OrgRegion,
  type SaveResult,
  type SObjectRecord,
  type TableInfo,
} from './types.js';
import { formatDateTime, normalizeValue, recordError, type RecordError, type StoredValue } from './values.js';

export interface RecordWriterDeps {
  db: Database.Database;
  schema: OrgSchema;
  region: OrgRegion;
  clock: () => Date;
  tables: Map<string, TableInfo>;
  statements: StatementCache;
  sequences: Sequences;
}

/**
 * Every write call is one transaction and returns one SaveResult per input row, in order; row errors never
 * abort the other rows. Validation (fields, writability, required, region, Id prefix) happens per row.
 */
export class RecordWriter {
  private lastWriteMs = 0;

  constructor(private readonly deps: RecordWriterDeps) {}

  private get schema(): OrgSchema {
    return this.deps.schema;
  }

  private stmt(sql: string) {
    return this.deps.statements.get(sql);
  }

  private transaction<T>(fn: () => T): T {
    return this.deps.db.transaction(fn)();
  }

  /** One timestamp per write call, strictly later than the previous call's, so SystemModstamp always moves. */
  private tick(): string {
    const ms = Math.max(this.deps.clock().getTime(), this.lastWriteMs + 1);
    this.lastWriteMs = ms;
    return formatDateTime(new Date(ms));
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
    const orgRegion = this.deps.region;
    if (orgRegion === 'MIXED' || !row.has(REGION_FIELD)) return;
    const region = row.get(REGION_FIELD);
    if (region !== null && region !== orgRegion) {
      throw new RowError([
        recordError(
          'FIELD_INTEGRITY_EXCEPTION',
          `Data Region: this org holds only ${orgRegion} records; got ${String(region)}`,
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
    const t = tableOf(this.deps.tables, object);
    const now = this.tick();
    return this.transaction(() => {
      const results = records.map((r) =>
        this.runWithRowErrors(() => this.insertOne(t, r, now, opts.keepIds ?? false)),
      );
      this.deps.sequences.save([t.name]);
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
        formatAutoNumber(t.autoNumber, this.deps.sequences.take(`${t.name}.autonumber`)),
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
        typeof givenId === 'string'
          ? givenId
          : makeId(t.describe.keyPrefix, this.deps.sequences.take(t.name));
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

  private insertRow(t: TableInfo, row: Row): void {
    const columns = [...row.keys()];
    const sql = `INSERT INTO ${quoteIdent(t.name)} (${columns.map(quoteIdent).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    this.stmt(sql).run(...row.values());
  }

  /** `system`: the org itself writes (lead conversion, merge), so read-only fields may be set. */
  update(object: string, records: SObjectRecord[], opts: { system?: boolean } = {}): SaveResult[] {
    const t = tableOf(this.deps.tables, object);
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
    const t = tableOf(this.deps.tables, object);
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
      this.deps.sequences.save([t.name, `${t.name}.autonumber`]);
      return results;
    });
  }

  /**
   * Moves the rows to the Recycle Bin (IsDeleted = 1, still visible to queryAll), or with `hard` (Bulk API 2.0
   * hardDelete) removes them for good, as Salesforce does: no Recycle Bin, no queryAll, no undelete.
   */
  delete(object: string, ids: string[], opts: { hard?: boolean } = {}): SaveResult[] {
    const t = tableOf(this.deps.tables, object);
    if (!t.describe.deletable) {
      throw new OrgStoreError('INVALID_TYPE_FOR_OPERATION', `entity type ${t.name} does not support delete`);
    }
    const now = this.tick();
    const soft = `UPDATE ${quoteIdent(t.name)} SET "IsDeleted" = 1, "SystemModstamp" = ? WHERE rowid = ?`;
    const hard = `DELETE FROM ${quoteIdent(t.name)} WHERE rowid = ?`;
    return this.transaction(() =>
      ids.map((rawId) =>
        this.runWithRowErrors(
          () => {
            const { id, existing } = this.resolveExisting(t, rawId);
            if (opts.hard) this.stmt(hard).run(existing.__rowid);
            else this.stmt(soft).run(now, existing.__rowid);
            return { id, success: true, errors: [] };
          },
          typeof rawId === 'string' ? (toId18(rawId) ?? rawId) : null,
        ),
      ),
    );
  }
}
