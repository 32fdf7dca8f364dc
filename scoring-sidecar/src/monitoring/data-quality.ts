// Data quality on ingest: each daily extract is checked for schema, value ranges, freshness and volume (an
// extract that is late or half empty raises an alert instead of silently leaving scores stale); the event
// stream for lag.
import type { z } from 'zod';
import { erpExtractRowSchema, marketingExtractRowSchema } from '../features/index.js';
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
  const issues: ExtractIssue[] = [];
  const due = new Date(`${delivery.day}T${expectation.expectedBy}:00Z`);
  const contract = EXTRACT_CONTRACTS[delivery.extract];
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
  if (typical !== null && delivery.rows.length < expectation.minRowsShareOfMedian * typical) {
    issues.push({
      code: 'half_empty',
      detail: `${delivery.rows.length} rows vs a median of ${typical} over the last ${recentRowCounts.length} deliveries`,
    });
  }
  let invalid = 0;
  let outOfRange = 0;
  const rangeColumns = new Set<string>();
  for (const row of delivery.rows) {
    const parsed = contract ? contract.schema.safeParse(row) : { success: true as const, data: row };
    if (!parsed.success) {
      invalid += 1;
      continue;
    }
    for (const [column, [lo, hi]] of Object.entries(contract?.ranges ?? {})) {
      const v = (parsed.data as Record<string, unknown>)[column];
      if (typeof v === 'number' && (v < lo || v > hi)) {
        outOfRange += 1;
        rangeColumns.add(column);
      }
    }
  }
  const n = Math.max(1, delivery.rows.length);
  if (invalid / n > expectation.maxInvalidShare)
    issues.push({ code: 'schema', detail: `${invalid} of ${delivery.rows.length} rows fail the schema` });
  if (outOfRange / n > expectation.maxInvalidShare)
    issues.push({
      code: 'range',
      detail: `${outOfRange} values out of range in ${[...rangeColumns].join(', ')}`,
    });
  return {
    extract: delivery.extract,
    day: delivery.day,
    rows: delivery.rows.length,
    invalidRows: invalid,
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
