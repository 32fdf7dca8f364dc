// Data quality on ingest: each daily extract is checked for schema, value ranges, freshness and volume (an
// extract that is late or half empty raises an alert instead of silently leaving scores stale); the event
// stream for lag.
import type { z } from 'zod';
import { erpExtractRowSchema, marketingExtractRowSchema } from '../inputs/index.js';
import type { ExtractExpectation } from './config.js';

export type ExtractIssueCode = 'missing' | 'late' | 'stale' | 'half_empty' | 'schema' | 'range';

export interface ExtractIssue {
  code: ExtractIssueCode;
  detail: string;
}

export interface ExtractCheck {
  extract: string;
  day: string;
  rows: number;
  invalidRows: number;
  ageHours: number | null;
  issues: ExtractIssue[];
}

interface ExtractContract {
  schema: z.ZodType;
  /** Plausible value ranges (inclusive) of numeric columns; outside = a unit or mapping error upstream. */
  ranges: Record<string, [number, number]>;
}

export const EXTRACT_CONTRACTS: Record<string, ExtractContract> = {
  erp: { schema: erpExtractRowSchema, ranges: { erp_revenue: [0, 1e12], products_held: [0, 1000] } },
  marketing: {
    schema: marketingExtractRowSchema,
    ranges: { campaign_count: [0, 10_000], intent_score: [0, 100] },
  },
};

export interface ExtractDelivery {
  extract: string;
  /** The business day the extract is for (YYYY-MM-DD, UTC). */
  day: string;
  /** When it arrived; null when it has not. */
  receivedAt: Date | null;
  rows: readonly Record<string, unknown>[];
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** What a delivery amounted to, counted row by row while it streamed (see ExtractRowChecker). */
export interface ExtractSummary {
  extract: string;
  day: string;
  /** When it arrived; null when it has not. */
  receivedAt: Date | null;
  rows: number;
  invalidRows: number;
  outOfRange: number;
  rangeColumns: readonly string[];
}

/** Counts schema failures and out-of-range values of an extract's rows, one row at a time (flat memory). */
export class ExtractRowChecker {
  private readonly contract: ExtractContract | undefined;
  private readonly rangeColumns = new Set<string>();
  rows = 0;
  invalidRows = 0;
  outOfRange = 0;

  constructor(readonly extract: string) {
    this.contract = EXTRACT_CONTRACTS[extract];
  }

  add(row: unknown): void {
    this.rows += 1;
    const parsed = this.contract
      ? this.contract.schema.safeParse(row)
      : { success: true as const, data: row };
    if (!parsed.success) {
      this.invalidRows += 1;
      return;
    }
    this.checkRanges(parsed.data as Record<string, unknown>);
  }

  /** A row the ingest already validated against the schema (parsed values): ranges only. */
  addValid(row: Readonly<Record<string, unknown>>): void {
    this.rows += 1;
    this.checkRanges(row);
  }

  private checkRanges(row: Readonly<Record<string, unknown>>): void {
    for (const [column, [lo, hi]] of Object.entries(this.contract?.ranges ?? {})) {
      const v = row[column];
      if (typeof v === 'number' && (v < lo || v > hi)) {
        this.outOfRange += 1;
        this.rangeColumns.add(column);
      }
    }
  }

  summary(day: string, receivedAt: Date | null): ExtractSummary {
    return {
      extract: this.extract,
      day,
      receivedAt,
      rows: this.rows,
      invalidRows: this.invalidRows,
      outOfRange: this.outOfRange,
      rangeColumns: [...this.rangeColumns],
    };
  }
}

/**
 * Checks one day's delivery. `recentRowCounts` are the row counts of the previous days' deliveries (the
 * trailing median sets what "half empty" means); `now` decides whether a missing extract is already late.
 */
export function checkExtract(
  delivery: ExtractDelivery,
  expectation: ExtractExpectation,
  recentRowCounts: readonly number[],
  now: Date,
): ExtractCheck {
  const checker = new ExtractRowChecker(delivery.extract);
  if (delivery.receivedAt) for (const row of delivery.rows) checker.add(row);
  return checkExtractSummary(
    checker.summary(delivery.day, delivery.receivedAt),
    expectation,
    recentRowCounts,
    now,
  );
}

/** The same checks on a delivery already counted row by row. */
export function checkExtractSummary(
  delivery: ExtractSummary,
  expectation: ExtractExpectation,
  recentRowCounts: readonly number[],
  now: Date,
): ExtractCheck {
  const issues: ExtractIssue[] = [];
  const due = new Date(`${delivery.day}T${expectation.expectedBy}:00Z`);
  if (!delivery.receivedAt) {
    if (now > due) issues.push({ code: 'missing', detail: `not received; due ${due.toISOString()}` });
    return { extract: delivery.extract, day: delivery.day, rows: 0, invalidRows: 0, ageHours: null, issues };
  }
  if (delivery.receivedAt > due)
    issues.push({
      code: 'late',
      detail: `received ${delivery.receivedAt.toISOString()}, due ${due.toISOString()}`,
    });
  const ageHours = (now.getTime() - delivery.receivedAt.getTime()) / 3_600_000;
  if (ageHours > expectation.maxAgeHours)
    issues.push({
      code: 'stale',
      detail: `newest extract is ${ageHours.toFixed(1)} h old (max ${expectation.maxAgeHours})`,
    });

  const typical = median(recentRowCounts);
  if (typical !== null && delivery.rows < expectation.minRowsShareOfMedian * typical) {
    issues.push({
      code: 'half_empty',
      detail: `${delivery.rows} rows vs a median of ${typical} over the last ${recentRowCounts.length} deliveries`,
    });
  }
  const n = Math.max(1, delivery.rows);
  if (delivery.invalidRows / n > expectation.maxInvalidShare)
    issues.push({
      code: 'schema',
      detail: `${delivery.invalidRows} of ${delivery.rows} rows fail the schema`,
    });
  if (delivery.outOfRange / n > expectation.maxInvalidShare)
    issues.push({
      code: 'range',
      detail: `${delivery.outOfRange} values out of range in ${delivery.rangeColumns.join(', ')}`,
    });
  return {
    extract: delivery.extract,
    day: delivery.day,
    rows: delivery.rows,
    invalidRows: delivery.invalidRows,
    ageHours,
    issues,
  };
}

/** Minutes since the newest engagement event, and whether that is over the limit. */
export function checkEventStream(lastEventAt: Date | null, now: Date, maxLagMinutes: number) {
  const lagMinutes = lastEventAt
    ? (now.getTime() - lastEventAt.getTime()) / 60_000
    : Number.POSITIVE_INFINITY;
  return { lagMinutes, stale: lagMinutes > maxLagMinutes };
}
