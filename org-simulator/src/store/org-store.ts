// Stands in for a Salesforce org's data layer; a facade over tables, sequences, the record writer and the pager.
import Database from 'better-sqlite3';
import { toId18 } from '../ids.js';
import type { OrgSchema } from '../schema/index.js';
import { QueryPager } from './query-pager.js';
import { RecordWriter } from './record-writer.js';
import { Sequences } from './sequences.js';
import { quoteIdent, type CompiledQuery } from './soql.js';
import { SoqlError } from './soql-error.js';
import { StatementCache } from './statements.js';
import { createTables, refreshPlannerStatistics, tableOf } from './tables.js';
import {
  INTEGRATION_USER_ID,
  OrgStoreError,
  type OrgRegion,
  type QueryPage,
  type QueryRowsPage,
  type SaveResult,
  type SObjectRecord,
  type TableInfo,
} from './types.js';
import { fromStored, normalizeValue } from './values.js';

export { SoqlError } from './soql-error.js';
export type { SoqlErrorCode } from './soql-error.js';
export type { CompiledQuery } from './soql.js';
export type { RecordError } from './values.js';
export { coerce, formatDateTime, normalizeDateTime } from './values.js';
export { INTEGRATION_USER_ID, OrgStoreError } from './types.js';
export type { OrgRegion, QueryPage, QueryRowsPage, SaveResult, SObjectRecord } from './types.js';

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

/**
 * The org's records in SQLite, one table per sObject. Every write call is one transaction and returns one
 * SaveResult per input row, in order; row errors never abort the other rows (allOrNone=false).
 */
export class OrgStore {
  readonly schema: OrgSchema;
  readonly region: OrgRegion;
  private readonly db: Database.Database;
  private readonly tables: Map<string, TableInfo>;
  private readonly statements: StatementCache;
  private readonly writer: RecordWriter;
  private readonly pager: QueryPager;
  private readonly clock: () => Date;

  static open(opts: OrgStoreOptions): OrgStore {
    return new OrgStore(opts);
  }

  private constructor(opts: OrgStoreOptions) {
    this.schema = opts.schema;
    this.region = opts.region ?? 'MIXED';
    const clock = opts.clock ?? (() => new Date());
    this.clock = clock;
    this.db = new Database(opts.file);
    if (opts.file !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -262144'); // 256 MB page cache
    this.statements = new StatementCache(this.db);
    const sequences = new Sequences(
      this.db,
      this.statements,
      this.schema.objects().map((o) => o.name),
    );
    this.tables = createTables(this.db, this.schema);
    const common = { db: this.db, schema: this.schema, clock, statements: this.statements };
    this.writer = new RecordWriter({ ...common, region: this.region, tables: this.tables, sequences });
    this.pager = new QueryPager({ ...common, apiVersion: opts.apiVersion ?? '62.0' });
    this.ensureIntegrationUser();
    refreshPlannerStatistics(this.db);
  }

  /** Runs `fn` in one SQLite transaction (nested calls become savepoints); throwing rolls it back. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }

  /** The org's clock (pinned or fast in tests), for date fields the org sets itself. */
  now(): Date {
    return this.clock();
  }

  /** The Id the API user writes as (CreatedById, default OwnerId). */
  get integrationUserId(): string {
    return INTEGRATION_USER_ID;
  }

  /** Non-deleted rows of `object`. */
  countRecords(object: string): number {
    const t = tableOf(this.tables, object);
    return (
      this.statements.get(`SELECT COUNT(*) AS n FROM ${quoteIdent(t.name)} WHERE "IsDeleted" = 0`).get() as {
        n: number;
      }
    ).n;
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

  // ---- writes (RecordWriter) -------------------------------------------------------------------

  insert(object: string, records: SObjectRecord[], opts: { keepIds?: boolean } = {}): SaveResult[] {
    return this.writer.insert(object, records, opts);
  }

  /** `system`: the org itself writes (lead conversion, merge), so read-only fields may be set. */
  update(object: string, records: SObjectRecord[], opts: { system?: boolean } = {}): SaveResult[] {
    return this.writer.update(object, records, opts);
  }

  upsert(object: string, externalIdField: string, records: SObjectRecord[]): SaveResult[] {
    return this.writer.upsert(object, externalIdField, records);
  }

  delete(object: string, ids: string[], opts: { hard?: boolean } = {}): SaveResult[] {
    return this.writer.delete(object, ids, opts);
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** A non-deleted record with the given fields (all by default), or undefined. */
  retrieve(object: string, id: string, fields?: string[]): SObjectRecord | undefined {
    const t = tableOf(this.tables, object);
    const id18 = toId18(id);
    if (!id18) return undefined;
    const selected = (fields ?? t.describe.fields.map((f) => f.name)).map((name) => {
      const f = this.schema.field(t.name, name);
      if (!f) throw new SoqlError('INVALID_FIELD', `No such column '${name}' on entity '${t.name}'.`);
      return f;
    });
    const sql = `SELECT ${selected.map((f) => quoteIdent(f.name)).join(', ')} FROM ${quoteIdent(t.name)} WHERE "Id" = ? AND "IsDeleted" = 0`;
    const row = this.statements.get(sql).get(id18);
    if (!row) return undefined;
    return Object.fromEntries(selected.map((f) => [f.name, fromStored(f, row[f.name])]));
  }

  /** Ids of non-deleted records whose `field` equals `value` (column collation applies), at most `max`. */
  findIds(object: string, field: string, value: unknown, max = 2): string[] {
    const t = tableOf(this.tables, object);
    const f = this.schema.field(t.name, field);
    if (!f)
      throw new OrgStoreError('INVALID_FIELD', `No such column '${field}' on sobject of type ${t.name}`);
    const normalized = normalizeValue(this.schema, f, value);
    if (!normalized.ok || normalized.value === null) return [];
    const sql = `SELECT "Id" FROM ${quoteIdent(t.name)} WHERE ${quoteIdent(f.name)} = ? AND "IsDeleted" = 0 LIMIT ?`;
    return (this.statements.get(sql).all(normalized.value, max) as { Id: string }[]).map((r) => r.Id);
  }

  // ---- queries (QueryPager) --------------------------------------------------------------------

  /** Compiles SOQL (cached); throws SoqlError. queryAll semantics with `includeDeleted`. */
  compileQuery(soql: string, opts: { includeDeleted?: boolean } = {}): CompiledQuery {
    return this.pager.compileQuery(soql, opts);
  }

  /** Rows the query matches, respecting LIMIT and OFFSET. */
  count(query: CompiledQuery): number {
    return this.pager.count(query);
  }

  /**
   * One page of results. Paging is keyset-based on (ORDER BY terms, rowid), so deep pages cost the same as the
   * first. COUNT() returns no records; COUNT(field) returns one AggregateResult row.
   */
  page(query: CompiledQuery, cursor: string | null, pageSize: number): QueryPage {
    return this.pager.page(query, cursor, pageSize);
  }

  /** The same page as `page`, as arrays of column values in `query.fields` order (not for aggregates). */
  pageRows(query: CompiledQuery, cursor: string | null, pageSize: number): QueryRowsPage {
    return this.pager.pageRows(query, cursor, pageSize);
  }
}
