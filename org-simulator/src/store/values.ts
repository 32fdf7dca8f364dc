// Stands in for Salesforce's field value rules: type coercion, validation and JSON formats per field type.
import { keyPrefixOf, toId18 } from '../ids.js';
import type { OrgSchema } from '../schema/index.js';
import type { FieldDescribe } from '../schema/types.js';

export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** Key prefixes of standard objects the simulator does not store but references may point to. */
const UNSTORED_PREFIXES: Record<string, string> = {
  Contact: '003',
  Group: '00G',
  Profile: '00e',
  UserRole: '00E',
  Campaign: '701',
  Case: '500',
};

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;
// Deliberately loose, like Salesforce's own check: local@domain.tld.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Salesforce's JSON datetime format, always UTC: 2024-01-31T09:15:00.000+0000. Lexicographic order = time order. */
export function formatDateTime(date: Date): string {
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}+0000`
  );
}

export function formatDate(date: Date): string {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

/** Parses ISO-8601 datetimes (Z, ±hh:mm, ±hhmm, no zone = UTC) or a bare date; undefined when invalid. */
export function parseDateTime(value: string): Date | undefined {
  if (DATE_RE.test(value)) return parseDate(value);
  const m = DATETIME_RE.exec(value);
  if (!m) return undefined;
  let zone = m[8] ?? 'Z';
  if (zone !== 'Z' && !zone.includes(':')) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = m[7] ? m[7].slice(0, 4).padEnd(4, '0') : '.000';
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${ms}${zone}`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  // Reject roll-overs such as 2024-02-30.
  const day = new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`);
  return formatDate(day) === `${m[1]}-${m[2]}-${m[3]}` ? date : undefined;
}

export function parseDate(value: string): Date | undefined {
  const m = DATE_RE.exec(value);
  if (!m) return undefined;
  const date = new Date(`${value}T00:00:00.000Z`);
  return !Number.isNaN(date.getTime()) && formatDate(date) === value ? date : undefined;
}

export function normalizeDateTime(value: string): string | undefined {
  const d = parseDateTime(value);
  return d ? formatDateTime(d) : undefined;
}

/**
 * Turns a Bulk API CSV cell into a typed value for `field`: '' and '#N/A' are null; numbers and booleans
 * are parsed; anything unparsable is returned as-is so validation reports INVALID_TYPE_ON_FIELD_IN_RECORD.
 */
export function coerce(field: FieldDescribe, raw: string): unknown {
  if (raw === '' || raw === '#N/A') return null;
  switch (field.type) {
    case 'boolean': {
      const lower = raw.trim().toLowerCase();
      if (lower === 'true' || lower === '1') return true;
      if (lower === 'false' || lower === '0') return false;
      return raw;
    }
    case 'int':
    case 'double':
    case 'currency':
    case 'percent': {
      const n = Number(raw.trim());
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
    }
    default:
      return raw;
  }
}

export function recordError(statusCode: string, message: string, fields: string[] = []): RecordError {
  return { statusCode, message, fields };
}

function typeError(field: FieldDescribe, value: unknown): RecordError {
  return recordError(
    'INVALID_TYPE_ON_FIELD_IN_RECORD',
    `${field.label}: value not of required type: ${String(value)}`,
    [field.name],
  );
}

export type StoredValue = string | number | null;
export type Normalized = { ok: true; value: StoredValue } | { ok: false; error: RecordError };

function ok(value: StoredValue): Normalized {
  return { ok: true, value };
}
function fail(error: RecordError): Normalized {
  return { ok: false, error };
}

function normalizeNumber(field: FieldDescribe, value: unknown): Normalized {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  if (!Number.isFinite(n)) return fail(typeError(field, value));
  if (field.type === 'int') {
    if (!Number.isInteger(n) || Math.abs(n) >= 10 ** (field.digits || 9)) {
      return fail(
        recordError(
          'NUMBER_OUTSIDE_VALID_RANGE',
          `${field.label}: value outside of valid range on numeric field: ${n}`,
          [field.name],
        ),
      );
    }
    return ok(n);
  }
  const factor = 10 ** field.scale;
  const rounded = Math.round(n * factor) / factor;
  if (field.precision > 0 && Math.abs(rounded) >= 10 ** (field.precision - field.scale)) {
    return fail(
      recordError(
        'NUMBER_OUTSIDE_VALID_RANGE',
        `${field.label}: value outside of valid range on numeric field: ${n}`,
        [field.name],
      ),
    );
  }
  return ok(rounded);
}

function referenceTargetMatches(schema: OrgSchema, field: FieldDescribe, id18: string): boolean {
  const prefix = keyPrefixOf(id18);
  return field.referenceTo.some(
    (target) => schema.object(target)?.keyPrefix === prefix || UNSTORED_PREFIXES[target] === prefix,
  );
}

/** Validates one JSON value for `field` and converts it to its SQLite form (booleans 0/1, Ids 18-char). */
export function normalizeValue(schema: OrgSchema, field: FieldDescribe, value: unknown): Normalized {
  if (value === null || value === undefined) return ok(null);
  switch (field.type) {
    case 'boolean':
      if (typeof value === 'boolean') return ok(value ? 1 : 0);
      if (value === 'true' || value === 'false') return ok(value === 'true' ? 1 : 0);
      return fail(typeError(field, value));
    case 'int':
    case 'double':
    case 'currency':
    case 'percent':
      return normalizeNumber(field, value);
    case 'date': {
      if (typeof value !== 'string' || !parseDate(value)) return fail(typeError(field, value));
      return ok(value);
    }
    case 'datetime': {
      const normalized = typeof value === 'string' ? normalizeDateTime(value) : undefined;
      return normalized ? ok(normalized) : fail(typeError(field, value));
    }
    case 'id':
    case 'reference': {
      if (typeof value !== 'string') return fail(typeError(field, value));
      if (value === '') return ok(null);
      const id18 = toId18(value);
      if (!id18) {
        return fail(
          recordError('MALFORMED_ID', `${field.label}: id value of incorrect type: ${value}`, [field.name]),
        );
      }
      if (field.type === 'reference' && !referenceTargetMatches(schema, field, id18)) {
        return fail(
          recordError('FIELD_INTEGRITY_EXCEPTION', `${field.label}: id value of incorrect type: ${value}`, [
            field.name,
          ]),
        );
      }
      return ok(id18);
    }
    default: {
      if (typeof value === 'object') return fail(typeError(field, value));
      const s = String(value);
      if (s === '') return ok(null);
      if (s.length > field.length) {
        return fail(
          recordError(
            'STRING_TOO_LONG',
            `${field.label}: data value too large: ${s.slice(0, 40)}... (max length=${field.length})`,
            [field.name],
          ),
        );
      }
      if (field.type === 'email' && !EMAIL_RE.test(s)) {
        return fail(
          recordError('INVALID_EMAIL_ADDRESS', `${field.label}: invalid email address: ${s}`, [field.name]),
        );
      }
      if (
        field.type === 'picklist' &&
        field.restrictedPicklist &&
        !field.picklistValues.some((p) => p.value === s)
      ) {
        return fail(
          recordError(
            'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            `${field.label}: bad value for restricted picklist field: ${s}`,
            [field.name],
          ),
        );
      }
      return ok(s);
    }
  }
}

/** SQLite value back to Salesforce JSON. */
export function fromStored(field: FieldDescribe, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (field.type === 'boolean') return value === 1 || value === true;
  return value;
}

export type ColumnAffinity = 'TEXT' | 'INTEGER' | 'REAL';

export function columnAffinity(field: FieldDescribe): ColumnAffinity {
  if (field.type === 'boolean' || field.type === 'int') return 'INTEGER';
  if (field.type === 'double' || field.type === 'currency' || field.type === 'percent') return 'REAL';
  return 'TEXT';
}

/** SOQL text comparisons are case-insensitive, except case-sensitive unique keys and Ids. */
export function columnCollation(field: FieldDescribe): 'NOCASE' | 'BINARY' {
  if (field.type === 'id' || field.type === 'reference') return 'BINARY';
  if (field.unique && field.caseSensitive) return 'BINARY';
  return columnAffinity(field) === 'TEXT' && field.type !== 'date' && field.type !== 'datetime'
    ? 'NOCASE'
    : 'BINARY';
}
