// Daily extracts from the ERP (per account) and marketing (per lead). A row dated D is known from D 00:00 UTC
// onwards and never before: that, not the time it was loaded, decides what a feature may see.
import { z } from 'zod';
import { DAY_MS } from './events.js';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');
const flag = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
]);
const optionalNumber = z.union([z.number(), z.string()]).transform((v, ctx) => {
  if (v === '' || v === null) return null;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: 'custom', message: 'a number' });
    return z.NEVER;
  }
  return n;
});
const optionalText = z
  .string()
  .max(255)
  .transform((v) => (v === '' ? null : v))
  .nullable();

export const erpExtractRowSchema = z.object({
  erp_account_number: z.string().min(1).max(32),
  extract_date: isoDate,
  is_customer: flag,
  erp_revenue: optionalNumber.nullable(),
  products_held: optionalNumber.nullable(),
  payment_status: optionalText,
});
export type ErpExtractRow = z.output<typeof erpExtractRowSchema>;

export const marketingExtractRowSchema = z.object({
  lead_id: z.string().regex(/^00Q[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/, 'a Salesforce Lead Id (00Q...)'),
  extract_date: isoDate,
  campaign_count: optionalNumber.nullable(),
  last_campaign: optionalText,
  intent_score: optionalNumber.nullable(),
  intent_topic: optionalText,
});
export type MarketingExtractRow = z.output<typeof marketingExtractRowSchema>;

/** Epoch ms from which a row dated `extractDate` may be seen. */
export function knownFromMs(extractDate: string): number {
  return Date.parse(`${extractDate}T00:00:00Z`);
}

/** The rows of one key (an account or a lead) over time; answers "what was known at t". */
export class AsOfHistory<Row extends { extract_date: string }> {
  private readonly rows: Row[] = [];

  add(row: Row): void {
    // Extracts arrive in date order almost always: append, and only shift when one comes late.
    let i = this.rows.length;
    while (i > 0 && this.rows[i - 1]!.extract_date > row.extract_date) i--;
    if (i > 0 && this.rows[i - 1]!.extract_date === row.extract_date) this.rows[i - 1] = row;
    else this.rows.splice(i, 0, row);
  }

  asOf(asOfMs: number): Row | null {
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const row = this.rows[i]!;
      if (knownFromMs(row.extract_date) <= asOfMs) return row;
    }
    return null;
  }
}

/** Whole days between an extract's date and t, for staleness features and alerts. */
export function extractAgeDays(row: { extract_date: string }, asOfMs: number): number {
  return Math.floor((asOfMs - knownFromMs(row.extract_date)) / DAY_MS);
}
