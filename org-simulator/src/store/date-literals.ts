// Stands in for SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_MONTH, ...) resolved in UTC.
import { SoqlError } from './soql-error.js';

/** A half-open UTC range [start, end) as Date objects at midnight UTC. */
export interface DateRange {
  start: Date;
  end: Date;
}

const DAY = 86_400_000;

function utcDay(y: number, m: number, d: number): Date {
  return new Date(Date.UTC(y, m, d));
}

/**
 * Resolves SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_MONTH, ...) to UTC ranges.
 * Weeks start on Sunday and the fiscal year on January 1 (Salesforce defaults).
 */
export function dateLiteralRange(literal: string, n: number | undefined, now: Date): DateRange {
  const y = now.getUTCFullYear();
  const mo = now.getUTCMonth();
  const today = utcDay(y, mo, now.getUTCDate());
  const addDays = (d: Date, k: number) => new Date(d.getTime() + k * DAY);
  const weekStart = addDays(today, -today.getUTCDay());
  const quarterStart = (offset: number) => utcDay(y, Math.floor(mo / 3) * 3 + offset * 3, 1);
  const month = (offset: number) => utcDay(y, mo + offset, 1);
  const year = (offset: number) => utcDay(y + offset, 0, 1);
  const name = literal.toUpperCase().replace(/:.*$/, '');
  const count = n ?? 0;
  const fiscal = name.replace('_FISCAL', '');
  switch (fiscal) {
    case 'TODAY':
      return { start: today, end: addDays(today, 1) };
    case 'YESTERDAY':
      return { start: addDays(today, -1), end: today };
    case 'TOMORROW':
      return { start: addDays(today, 1), end: addDays(today, 2) };
    case 'THIS_WEEK':
      return { start: weekStart, end: addDays(weekStart, 7) };
    case 'LAST_WEEK':
      return { start: addDays(weekStart, -7), end: weekStart };
    case 'NEXT_WEEK':
      return { start: addDays(weekStart, 7), end: addDays(weekStart, 14) };
    case 'THIS_MONTH':
      return { start: month(0), end: month(1) };
    case 'LAST_MONTH':
      return { start: month(-1), end: month(0) };
    case 'NEXT_MONTH':
      return { start: month(1), end: month(2) };
    case 'LAST_90_DAYS':
      return { start: addDays(today, -90), end: addDays(today, 1) };
    case 'NEXT_90_DAYS':
      return { start: addDays(today, 1), end: addDays(today, 91) };
    case 'THIS_QUARTER':
      return { start: quarterStart(0), end: quarterStart(1) };
    case 'LAST_QUARTER':
      return { start: quarterStart(-1), end: quarterStart(0) };
    case 'NEXT_QUARTER':
      return { start: quarterStart(1), end: quarterStart(2) };
    case 'THIS_YEAR':
      return { start: year(0), end: year(1) };
    case 'LAST_YEAR':
      return { start: year(-1), end: year(0) };
    case 'NEXT_YEAR':
      return { start: year(1), end: year(2) };
    case 'LAST_N_DAYS':
      return { start: addDays(today, -count), end: addDays(today, 1) };
    case 'NEXT_N_DAYS':
      return { start: addDays(today, 1), end: addDays(today, count + 1) };
    case 'N_DAYS_AGO':
      return { start: addDays(today, -count), end: addDays(today, -count + 1) };
    case 'LAST_N_WEEKS':
      return { start: addDays(weekStart, -7 * count), end: weekStart };
    case 'NEXT_N_WEEKS':
      return { start: addDays(weekStart, 7), end: addDays(weekStart, 7 * (count + 1)) };
    case 'N_WEEKS_AGO':
      return { start: addDays(weekStart, -7 * count), end: addDays(weekStart, -7 * count + 7) };
    case 'LAST_N_MONTHS':
      return { start: month(-count), end: month(0) };
    case 'NEXT_N_MONTHS':
      return { start: month(1), end: month(count + 1) };
    case 'N_MONTHS_AGO':
      return { start: month(-count), end: month(-count + 1) };
    case 'LAST_N_QUARTERS':
      return { start: quarterStart(-count), end: quarterStart(0) };
    case 'NEXT_N_QUARTERS':
      return { start: quarterStart(1), end: quarterStart(count + 1) };
    case 'N_QUARTERS_AGO':
      return { start: quarterStart(-count), end: quarterStart(-count + 1) };
    case 'LAST_N_YEARS':
      return { start: year(-count), end: year(0) };
    case 'NEXT_N_YEARS':
      return { start: year(1), end: year(count + 1) };
    case 'N_YEARS_AGO':
      return { start: year(-count), end: year(-count + 1) };
    default:
      throw new SoqlError('MALFORMED_QUERY', `unexpected token: ${literal}`);
  }
}
