// Stands in for Bulk API 2.0's CSV cell format: cell ↔ store value conversions.
import type { FieldDescribe } from '../schema/index.js';
import { coerce } from '../store/values.js';

/** Marks a cell whose field is left out of the record. */
export const OMIT: unique symbol = Symbol('omit');

/**
 * Bulk API semantics: an empty cell leaves the field untouched (it is not sent), `#N/A` sets it to null;
 * other cells are typed by the store's `coerce`.
 */
export function csvCellToValue(field: FieldDescribe, raw: string): unknown {
  if (raw === '') return OMIT;
  return coerce(field, raw);
}

/** A query-result cell: empty for null, true/false, datetimes in the `...000Z` form Bulk API CSVs use. */
export function valueToCsvCell(field: FieldDescribe | undefined, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (field?.type === 'boolean') return value === 1 || value === '1' || value === 'true' ? 'true' : 'false';
  if (field?.type === 'datetime' && typeof value === 'string') return value.replace(/\+0000$/, 'Z');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
