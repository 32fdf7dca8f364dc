// Stands in for SOQL itself: parses a query and compiles it to parameterized SQLite.
import {
  parseQuery,
  type Condition,
  type FieldType as SoqlFieldType,
  type OrderByClause,
  type Query,
  type WhereClause,
} from '@jetstreamapp/soql-parser-js';
import { toId18 } from '../ids.js';
import type { FieldDescribe, OrgSchema, SObjectDescribe } from '../schema/index.js';
import { dateLiteralRange } from './date-literals.js';
import { SoqlError } from './soql-error.js';
import { formatDate, formatDateTime, normalizeDateTime, parseDate, type StoredValue } from './values.js';

export interface CompiledQuery {
  readonly object: string;
  /** Output field paths in describe case, e.g. 'Id', 'Owner.Name'. Empty for COUNT(). */
  readonly fields: string[];
  readonly soql: string;
}

export interface SelectColumn {
  /** ['Name'] or ['Owner', 'Name'] */
  path: string[];
  field: FieldDescribe;
  expr: string;
}

export interface JoinedRelationship {
  name: string;
  type: string;
  idExpr: string;
}

export interface OrderTerm {
  expr: string;
  desc: boolean;
  nullsFirst: boolean;
  /** false when the column can never be null (Id, system fields), which allows a row-value keyset */
  nullable: boolean;
}

export type Aggregate = { kind: 'count' } | { kind: 'countField'; alias: string };

/** The SQL form of a SOQL query; the store builds paged statements from it. */
export interface CompiledSoql extends CompiledQuery {
  readonly describe: SObjectDescribe;
  readonly columns: SelectColumn[];
  readonly relationships: JoinedRelationship[];
  readonly from: string;
  readonly where: string;
  readonly params: StoredValue[];
  readonly order: OrderTerm[];
  readonly limit: number | null;
  readonly offset: number;
  readonly aggregate: Aggregate | null;
}

const TEXT_TYPES = new Set(['string', 'textarea', 'email', 'phone', 'url', 'picklist']);
const NUMBER_TYPES = new Set(['int', 'double', 'currency', 'percent']);
const NO_SUCH_COLUMN_HINT =
  "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. " +
  'Please reference your WSDL or the describe call for the appropriate names.';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Turns the parser's message into Salesforce's "unexpected token" wording, with row/column when found. */
function malformed(soql: string, parserMessage: string): SoqlError {
  const found = /found:?\s*(?:-->\s*)?'([^']*)'/.exec(parserMessage)?.[1];
  if (found === undefined) return new SoqlError('MALFORMED_QUERY', parserMessage);
  if (found === '') return new SoqlError('MALFORMED_QUERY', 'unexpected token: <EOF>');
  const index = soql.search(new RegExp(`\\b${found.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`));
  const before = index >= 0 ? soql.slice(0, index) : '';
  const row = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  const position = index >= 0 ? `ERROR at Row:${row}:Column:${column}\n` : '';
  return new SoqlError('MALFORMED_QUERY', `${position}unexpected token: '${found}'`);
}

function unescapeSoqlString(raw: string, forLike: boolean): string {
  const body = raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1) : raw;
  return body.replace(/\\(.)/g, (_m, c: string) => {
    switch (c) {
      case 'n':
      case 'N':
        return '\n';
      case 'r':
      case 'R':
        return '\r';
      case 't':
      case 'T':
        return '\t';
      case 'b':
      case 'B':
        return '\b';
      case 'f':
      case 'F':
        return '\f';
      case '_':
      case '%':
        return forLike ? `\\${c}` : c;
      case '\\':
        return forLike ? '\\\\' : '\\';
      default:
        return c;
    }
  });
}

class Compiler {
  private readonly describe: SObjectDescribe;
  private readonly relationships = new Map<string, JoinedRelationship & { join: string }>();
  readonly params: StoredValue[] = [];

  constructor(
    private readonly schema: OrgSchema,
    private readonly soql: string,
    private readonly query: Query,
    private readonly now: Date,
  ) {
    const objectName = query.sObject ?? '';
    const describe = schema.object(objectName);
    if (!describe) {
      throw new SoqlError(
        'INVALID_TYPE',
        `sObject type '${objectName}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    this.describe = describe;
  }

  compile(): CompiledSoql {
    const q = this.query;
    if (q.groupBy || q.having)
      throw new SoqlError('MALFORMED_QUERY', 'GROUP BY is not supported by the org simulator');
    const { columns, aggregate } = this.selectList(q.fields ?? []);
    const where = q.where ? this.where(q.where) : '';
    const order = this.orderBy(q.orderBy);
    if (aggregate && order.length > 0) {
      throw new SoqlError(
        'MALFORMED_QUERY',
        'Ordered field must be grouped or aggregated: ORDER BY with COUNT',
      );
    }
    const joins = [...this.relationships.values()].map((r) => r.join).join(' ');
    return {
      object: this.describe.name,
      fields: columns.map((c) => c.path.join('.')),
      soql: this.soql,
      describe: this.describe,
      columns,
      relationships: [...this.relationships.values()].map(({ name, type, idExpr }) => ({
        name,
        type,
        idExpr,
      })),
      from: `${quoteIdent(this.describe.name)} t ${joins}`.trim(),
      where,
      params: this.params,
      order,
      limit: q.limit ?? null,
      offset: q.offset ?? 0,
      aggregate,
    };
  }

  private selectList(fields: SoqlFieldType[]): { columns: SelectColumn[]; aggregate: Aggregate | null } {
    const columns: SelectColumn[] = [];
    let aggregate: Aggregate | null = null;
    const seen = new Set<string>();
    for (const f of fields) {
      if (f.type === 'FieldFunctionExpression') {
        if (f.functionName.toUpperCase() !== 'COUNT' || fields.length > 1) {
          throw new SoqlError(
            'MALFORMED_QUERY',
            `${f.rawValue ?? f.functionName}: only COUNT() and COUNT(field) alone are supported`,
          );
        }
        const param = f.parameters[0];
        if (param === undefined) aggregate = { kind: 'count' };
        else {
          if (typeof param !== 'string')
            throw new SoqlError('MALFORMED_QUERY', 'nested functions are not supported');
          this.resolve(param);
          aggregate = { kind: 'countField', alias: f.alias ?? 'expr0' };
        }
        continue;
      }
      if (f.type !== 'Field' && f.type !== 'FieldRelationship') {
        throw new SoqlError('MALFORMED_QUERY', `${f.type} is not supported by the org simulator`);
      }
      const raw = f.type === 'Field' ? f.field : [...f.relationships, f.field].join('.');
      const column = this.resolve(raw);
      const key = column.path.join('.').toLowerCase();
      if (seen.has(key))
        throw new SoqlError('MALFORMED_QUERY', `duplicate field selected: ${column.path.join('.')}`);
      seen.add(key);
      columns.push(column);
    }
    return { columns, aggregate };
  }

  /** Resolves 'Field', 'Object.Field' or 'Relationship.Field' to a SQL expression. */
  private resolve(raw: string): SelectColumn {
    let parts = raw.split('.');
    if (parts.length > 1 && parts[0]?.toLowerCase() === this.describe.name.toLowerCase())
      parts = parts.slice(1);
    if (parts.length === 1) {
      const field = this.schema.field(this.describe.name, parts[0] ?? '');
      if (!field) {
        throw new SoqlError(
          'INVALID_FIELD',
          `No such column '${raw}' on entity '${this.describe.name}'. ${NO_SUCH_COLUMN_HINT}`,
        );
      }
      return { path: [field.name], field, expr: `t.${quoteIdent(field.name)}` };
    }
    if (parts.length !== 2) {
      throw new SoqlError(
        'INVALID_FIELD',
        `${raw}: relationship paths deeper than one level are not supported by the org simulator`,
      );
    }
    const [relName = '', fieldName = ''] = parts;
    const reference = this.schema.relationship(this.describe.name, relName);
    const targets = reference?.referenceTo.filter((t) => this.schema.object(t)) ?? [];
    const target = targets.length === 1 ? this.schema.object(targets[0] ?? '') : undefined;
    if (!reference || !target) {
      throw new SoqlError(
        'INVALID_FIELD',
        `Didn't understand relationship '${relName}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    const field = this.schema.field(target.name, fieldName);
    if (!field) {
      throw new SoqlError(
        'INVALID_FIELD',
        `No such column '${fieldName}' on entity '${target.name}'. ${NO_SUCH_COLUMN_HINT}`,
      );
    }
    const key = reference.relationshipName ?? relName;
    let rel = this.relationships.get(key.toLowerCase());
    if (!rel) {
      const alias = `j${this.relationships.size}`;
      rel = {
        name: key,
        type: target.name,
        idExpr: `${alias}."Id"`,
        join: `LEFT JOIN ${quoteIdent(target.name)} ${alias} ON ${alias}."Id" = t.${quoteIdent(reference.name)}`,
      };
      this.relationships.set(key.toLowerCase(), rel);
    }
    return { path: [key, field.name], field, expr: `${rel.idExpr.split('.')[0]}.${quoteIdent(field.name)}` };
  }

  private where(clause: WhereClause): string {
    let sql = '';
    let node: WhereClause | undefined = clause;
    while (node) {
      const left = node.left as (Condition & { openParen?: number; closeParen?: number }) | null;
      if (left) {
        sql += '('.repeat(left.openParen ?? 0);
        if ('field' in left || 'fn' in left) sql += this.condition(left);
        sql += ')'.repeat(left.closeParen ?? 0);
      }
      const operator = 'operator' in node ? node.operator : undefined;
      if (operator) sql += ` ${operator} `;
      node = 'right' in node ? node.right : undefined;
    }
    return sql;
  }

  private filterError(field: FieldDescribe, expected: string, quoted: boolean): SoqlError {
    return new SoqlError(
      'INVALID_FIELD',
      `value of filter criterion for field '${field.name}' must be of type ${expected} and should ${quoted ? '' : 'not '}be enclosed in quotes`,
    );
  }

  private condition(cond: Condition): string {
    if ('valueQuery' in cond)
      throw new SoqlError('MALFORMED_QUERY', 'semi-join subqueries are not supported by the org simulator');
    if (!('field' in cond))
      throw new SoqlError('MALFORMED_QUERY', 'functions in WHERE are not supported by the org simulator');
    const { field, expr } = this.resolve(cond.field);
    if (!field.filterable) {
      throw new SoqlError('INVALID_FIELD', `field '${field.name}' can not be filtered in a query call`);
    }
    const operator = cond.operator.replace(/\s+/g, ' ').toUpperCase();
    const values = Array.isArray(cond.value) ? cond.value : [cond.value];
    const literalTypes: unknown = cond.literalType;
    const types: (string | undefined)[] = Array.isArray(literalTypes)
      ? (literalTypes as string[])
      : values.map(() => literalTypes as string | undefined);
    const nValues = 'dateLiteralVariable' in cond ? cond.dateLiteralVariable : undefined;
    const nOf = (i: number) => (Array.isArray(nValues) ? nValues[i] : nValues);

    if (operator === 'IN' || operator === 'NOT IN' || operator === 'NOTIN') {
      const pieces = values.map((v, i) => this.comparison(field, expr, '=', v, types[i], nOf(i)));
      const any = `(${pieces.join(' OR ')})`;
      return operator === 'IN' ? any : `(${expr} IS NULL OR NOT ${any})`;
    }
    if (operator === 'INCLUDES' || operator === 'EXCLUDES') {
      throw new SoqlError('INVALID_FIELD', `${operator} is only valid on multi-select picklists`);
    }
    return this.comparison(field, expr, operator, values[0] ?? '', types[0], nOf(0));
  }

  private comparison(
    field: FieldDescribe,
    expr: string,
    operator: string,
    raw: string,
    literalType: string | undefined,
    n: number | undefined,
  ): string {
    if (literalType === 'NULL') {
      if (operator === '=') return `${expr} IS NULL`;
      if (operator === '!=' || operator === '<>') return `${expr} IS NOT NULL`;
      throw new SoqlError('MALFORMED_QUERY', `invalid operator ${operator} with null`);
    }
    if (literalType === 'DATE_LITERAL' || literalType === 'DATE_N_LITERAL') {
      return this.dateRangeComparison(field, expr, operator, raw, n);
    }
    if (operator === 'LIKE') {
      if (!TEXT_TYPES.has(field.type) || literalType !== 'STRING') {
        throw new SoqlError('INVALID_FIELD', `invalid operator on field '${field.name}': LIKE`);
      }
      this.params.push(unescapeSoqlString(raw, true));
      return `${expr} LIKE ? ESCAPE '\\'`;
    }
    const value = this.literal(field, raw, literalType);
    this.params.push(value);
    const sqlOperator: Record<string, string> = {
      '=': '=',
      '!=': 'IS NOT',
      '<>': 'IS NOT',
      '<': '<',
      '>': '>',
      '<=': '<=',
      '>=': '>=',
    };
    const op = sqlOperator[operator];
    if (!op) throw new SoqlError('MALFORMED_QUERY', `unexpected token: '${operator}'`);
    return `${expr} ${op} ?`;
  }

  private literal(field: FieldDescribe, raw: string, literalType: string | undefined): StoredValue {
    const t = field.type;
    if (TEXT_TYPES.has(t)) {
      if (literalType !== 'STRING') throw this.filterError(field, 'string', true);
      return unescapeSoqlString(raw, false);
    }
    if (t === 'id' || t === 'reference') {
      if (literalType !== 'STRING') throw this.filterError(field, 'reference', true);
      const value = unescapeSoqlString(raw, false);
      const id = toId18(value);
      if (!id) throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `invalid ID field: ${value}`);
      return id;
    }
    if (t === 'boolean') {
      if (literalType !== 'BOOLEAN') throw this.filterError(field, 'boolean', false);
      return raw.toUpperCase() === 'TRUE' ? 1 : 0;
    }
    if (NUMBER_TYPES.has(t)) {
      if (!literalType || !/^(INTEGER|DECIMAL)/.test(literalType))
        throw this.filterError(field, t === 'int' ? 'integer' : 'double', false);
      return Number(raw.replace(/^[A-Z]{3}/, ''));
    }
    if (t === 'date') {
      if (literalType !== 'DATE' || !parseDate(raw)) throw this.filterError(field, 'date', false);
      return raw;
    }
    if (t === 'datetime') {
      const normalized = literalType === 'DATETIME' ? normalizeDateTime(raw) : undefined;
      if (!normalized) throw this.filterError(field, 'dateTime', false);
      return normalized;
    }
    throw new SoqlError('INVALID_FIELD', `field '${field.name}' can not be filtered in a query call`);
  }

  private dateRangeComparison(
    field: FieldDescribe,
    expr: string,
    operator: string,
    raw: string,
    n: number | undefined,
  ): string {
    if (field.type !== 'date' && field.type !== 'datetime') throw this.filterError(field, field.type, false);
    const range = dateLiteralRange(raw, n, this.now);
    const fmt = field.type === 'date' ? formatDate : formatDateTime;
    const start = fmt(range.start);
    const end = fmt(range.end);
    switch (operator) {
      case '=':
        this.params.push(start, end);
        return `(${expr} >= ? AND ${expr} < ?)`;
      case '!=':
      case '<>':
        this.params.push(start, end);
        return `(${expr} IS NULL OR ${expr} < ? OR ${expr} >= ?)`;
      case '<':
        this.params.push(start);
        return `${expr} < ?`;
      case '<=':
        this.params.push(end);
        return `${expr} < ?`;
      case '>':
        this.params.push(end);
        return `${expr} >= ?`;
      case '>=':
        this.params.push(start);
        return `${expr} >= ?`;
      default:
        throw new SoqlError('MALFORMED_QUERY', `invalid operator ${operator} with a date literal`);
    }
  }

  private orderBy(orderBy: OrderByClause | OrderByClause[] | undefined): OrderTerm[] {
    const clauses = orderBy === undefined ? [] : Array.isArray(orderBy) ? orderBy : [orderBy];
    return clauses.map((clause) => {
      if (!('field' in clause))
        throw new SoqlError('MALFORMED_QUERY', 'ORDER BY functions are not supported by the org simulator');
      const { field, expr, path } = this.resolve(clause.field);
      if (!field.sortable)
        throw new SoqlError('INVALID_FIELD', `field '${field.name}' can not be sorted in a query call`);
      const desc = clause.order === 'DESC';
      // SOQL defaults: ASC → NULLS FIRST, DESC → NULLS LAST.
      const nullsFirst = clause.nulls ? clause.nulls === 'FIRST' : !desc;
      return { expr, desc, nullsFirst, nullable: field.nillable || path.length > 1 };
    });
  }
}

/** Parses SOQL and compiles it to parameterized SQLite; throws SoqlError. `now` anchors date literals. */
export function compileSoql(schema: OrgSchema, soql: string, now: Date = new Date()): CompiledSoql {
  let query: Query;
  try {
    query = parseQuery(soql);
  } catch (error) {
    throw malformed(soql, error instanceof Error ? error.message : String(error));
  }
  return new Compiler(schema, soql, query, now).compile();
}
