// Stands in for Salesforce's query engine: compiled SOQL, COUNT, and keyset-paged results (query locators).
import type Database from 'better-sqlite3';
import type { OrgSchema } from '../schema/index.js';
import { compileSoql, type CompiledQuery, type CompiledSoql } from './soql.js';
import type { StatementCache } from './statements.js';
import { refreshPlannerStatistics } from './tables.js';
import { OrgStoreError, type QueryPage, type QueryRowsPage, type SObjectRecord } from './types.js';
import { fromStored, type StoredValue } from './values.js';

/** A page query selects rowid and Id before the query's own columns. */
const PAGE_FIXED_COLUMNS = 2;

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

export interface QueryPagerDeps {
  db: Database.Database;
  schema: OrgSchema;
  clock: () => Date;
  statements: StatementCache;
  /** API version used in query records' attributes.url. */
  apiVersion: string;
}

/** Compiles SOQL and reads its results a page at a time. */
export class QueryPager {
  private readonly compiled = new Map<string, CompiledSoql>();

  constructor(private readonly deps: QueryPagerDeps) {}

  private stmt(sql: string) {
    return this.deps.statements.get(sql);
  }

  private refreshPlannerStatistics(): void {
    refreshPlannerStatistics(this.deps.db);
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
    const compiled = compileSoql(this.deps.schema, soql, this.deps.clock());
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
      url: `/services/data/v${this.deps.apiVersion}/sobjects/${type}/${String(id)}`,
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
