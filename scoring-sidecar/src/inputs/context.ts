// The generic dated context extract: values that change over time and are shared by many records (a campaign's
// attributes, a market indicator), keyed by a value a record holds (LeadSource, a campaign id field) or global.
// A row is (context, key, effective_from, declared columns...). A row effective from D is in effect from
// D 00:00 UTC until the next row of the same (context, key) takes over; it is never seen before D. The spec
// declares each context (its key and typed columns); rows are checked against that declaration.
import { DAY_MS } from './events.js';
import { knownFromMs } from './extracts.js';
import type { Region } from './region.js';

export type ContextColumnType = 'number' | 'text' | 'boolean';

/** One context as a spec declares it: the record field its key joins to (null: one global row) and its columns. */
export interface ContextDeclaration {
  keyField: string | null;
  columns: Readonly<Record<string, ContextColumnType>>;
}
export type ContextDeclarations = Readonly<Record<string, ContextDeclaration>>;

export type ContextValue = number | string | boolean | null;

export interface ContextRow {
  context: string;
  /** The joined value, or GLOBAL_CONTEXT_KEY for a global context. */
  key: string;
  effective_from: string; // YYYY-MM-DD
  values: Readonly<Record<string, ContextValue>>;
  region?: Region;
}

/** The key every row of a global context carries. */
export const GLOBAL_CONTEXT_KEY = '*';
/** Columns every context row has besides its declared ones (`region` is the deployment check of every extract). */
export const CONTEXT_ROW_COLUMNS = ['context', 'key', 'effective_from', 'region'] as const;
/** How far ahead a row may be announced (a campaign's next price, effective next quarter). */
export const MAX_CONTEXT_LEAD_DAYS = 366;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isIsoDate(s: string): boolean {
  if (!ISO_DATE.test(s)) return false;
  const ms = Date.parse(`${s}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === s;
}

function columnValue(raw: unknown, type: ContextColumnType): { value: ContextValue } | { error: string } {
  if (raw === undefined || raw === null || raw === '') return { value: null };
  switch (type) {
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : NaN;
      return Number.isFinite(n) ? { value: n } : { error: 'a number' };
    }
    case 'boolean':
      if (typeof raw === 'boolean') return { value: raw };
      if (raw === 'true' || raw === '1') return { value: true };
      if (raw === 'false' || raw === '0') return { value: false };
      return { error: 'true or false' };
    case 'text':
      if (typeof raw !== 'string' && typeof raw !== 'number') return { error: 'text' };
      return String(raw).length > 255 ? { error: 'at most 255 characters' } : { value: String(raw) };
  }
}

export type ContextRowResult = { ok: true; row: ContextRow } | { ok: false; field: string; message: string };

/**
 * One raw row (a CSV record or an NDJSON object) checked against the declared contexts: the context is declared,
 * the key is set ("*" for a global context), effective_from is a real date, every other column is declared and
 * of its type. Undeclared columns are refused (a misspelt column would otherwise read as missing everywhere).
 */
export function parseContextRow(
  raw: Readonly<Record<string, unknown>>,
  declared: ContextDeclarations,
): ContextRowResult {
  const fail = (field: string, message: string): ContextRowResult => ({ ok: false, field, message });
  const names = Object.keys(declared);
  const context = raw.context;
  if (typeof context !== 'string' || context === '') return fail('context', 'required');
  const decl = Object.prototype.hasOwnProperty.call(declared, context) ? declared[context] : undefined;
  if (!decl)
    return fail(
      'context',
      names.length
        ? `unknown context "${context}" (the active spec declares: ${names.join(', ')})`
        : `unknown context "${context}" (the active spec declares no contexts)`,
    );
  const key = typeof raw.key === 'number' ? String(raw.key) : raw.key;
  if (typeof key !== 'string' || key === '') return fail('key', 'required');
  if (key.length > 255) return fail('key', 'at most 255 characters');
  if (decl.keyField === null && key !== GLOBAL_CONTEXT_KEY)
    return fail('key', `context "${context}" is global: its rows have key "${GLOBAL_CONTEXT_KEY}"`);
  const date = raw.effective_from;
  if (typeof date !== 'string' || !isIsoDate(date)) return fail('effective_from', 'a date as YYYY-MM-DD');
  const values: Record<string, ContextValue> = {};
  for (const [column, type] of Object.entries(decl.columns)) {
    const v = columnValue(raw[column], type);
    if ('error' in v) return fail(column, v.error);
    values[column] = v.value;
  }
  const reserved = new Set<string>(CONTEXT_ROW_COLUMNS);
  for (const column of Object.keys(raw)) {
    if (!reserved.has(column) && !Object.prototype.hasOwnProperty.call(decl.columns, column))
      return fail(
        column,
        `not a column of context "${context}" (declared: ${Object.keys(decl.columns).join(', ')})`,
      );
  }
  return { ok: true, row: { context, key, effective_from: date, values } };
}

/** Rows dated too far ahead are refused (a typo in the year); the day limit is MAX_CONTEXT_LEAD_DAYS. */
export function contextDateTooLate(effectiveFrom: string, nowMs: number): boolean {
  return knownFromMs(effectiveFrom) > nowMs + MAX_CONTEXT_LEAD_DAYS * DAY_MS;
}

const slot = (context: string, key: string) => `${context}\u0000${key}`;

/** What a feature reads: the row of (context, key) in effect at an instant. */
export interface ContextLookup {
  asOf(context: string, key: string, asOfMs: number): ContextRow | null;
}

/**
 * Context rows over time, answering "which row of (context, key) was in effect at t": the latest
 * effective_from ≤ t. Training (at each snapshot) and serving (at now) ask the same table the same question.
 */
export class ContextTable implements ContextLookup {
  private readonly rows = new Map<string, ContextRow[]>(); // ascending effective_from, one row per date

  constructor(rows: Iterable<ContextRow> = []) {
    for (const row of rows) this.add(row);
  }

  /** A later delivery for the same (context, key, date) replaces the earlier one. */
  add(row: ContextRow): void {
    const id = slot(row.context, row.key);
    let list = this.rows.get(id);
    if (!list) this.rows.set(id, (list = []));
    let i = list.length;
    while (i > 0 && list[i - 1]!.effective_from > row.effective_from) i--;
    if (i > 0 && list[i - 1]!.effective_from === row.effective_from) list[i - 1] = row;
    else list.splice(i, 0, row);
  }

  asOf(context: string, key: string, asOfMs: number): ContextRow | null {
    const list = this.rows.get(slot(context, key));
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) {
      if (knownFromMs(list[i]!.effective_from) <= asOfMs) return list[i]!;
    }
    return null;
  }

  /** Every row, by (context, key) then date. */
  *all(): Generator<ContextRow> {
    for (const list of this.rows.values()) yield* list;
  }

  get size(): number {
    let n = 0;
    for (const list of this.rows.values()) n += list.length;
    return n;
  }
}

/**
 * The rows to keep of one (context, key) under a history of `days`: every row effective after now − days, and
 * the one in effect at that instant (it still answers for the window's start). Older rows are dropped.
 */
export function contextRowsToKeep<Row extends { effective_from: string }>(
  rowsAscending: readonly Row[],
  nowMs: number,
  days: number,
): Row[] {
  const horizon = nowMs - days * DAY_MS;
  let first = 0;
  for (let i = 0; i < rowsAscending.length; i++) {
    if (knownFromMs(rowsAscending[i]!.effective_from) <= horizon) first = i;
  }
  return rowsAscending.slice(first);
}

/** `contextRowsToKeep` over rows of any (context, key): what a store keeps after a write. */
export function pruneContextRows(
  rows: Iterable<ContextRow> | ContextTable,
  nowMs: number,
  days: number,
): ContextRow[] {
  const table = rows instanceof ContextTable ? rows : new ContextTable(rows);
  const bySlot = new Map<string, ContextRow[]>();
  for (const row of table.all()) {
    const id = slot(row.context, row.key);
    let list = bySlot.get(id);
    if (!list) bySlot.set(id, (list = []));
    list.push(row);
  }
  return [...bySlot.values()].flatMap((list) => contextRowsToKeep(list, nowMs, days));
}
