// Expected value of a lead: p(convert) × expected deal size, the deal size read off company-size bands.
import type { RankingConfig } from './config.js';
import type { WorklistLead } from './types.js';

type Band = RankingConfig['expectedValue']['byEmployees'][number];

export interface DealSize {
  dealSize: number;
  /** Which band decided it, for the item's `why`. */
  basis: string;
}

const count = new Intl.NumberFormat('en-US');

export function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency,
    notation: 'compact',
    minimumFractionDigits: 0,
    maximumFractionDigits: 1,
  }).format(amount);
}

function bandOf(bands: readonly Band[], value: number): { band: Band; lower: number | null } {
  const i = bands.findIndex((b) => b.upTo === null || value <= b.upTo);
  const index = i < 0 ? bands.length - 1 : i; // unreachable: the last band is open-ended
  return { band: bands[index]!, lower: bands[index - 1]?.upTo ?? null };
}

/** Bands include their upper bound; counts (employees) start the next band at bound + 1. */
function describeRange(
  lower: number | null,
  upper: number | null,
  fmt: (n: number) => string,
  isCount: boolean,
): string {
  if (upper === null) return `over ${fmt(lower ?? 0)}`;
  if (lower === null) return `up to ${fmt(upper)}`;
  return `${fmt(isCount ? lower + 1 : lower)}–${fmt(upper)}`;
}

/** Employees known: their band; else annual revenue known: its band; else the default deal size. */
export function dealSizeOf(lead: WorklistLead, config: RankingConfig): DealSize {
  const ev = config.expectedValue;
  if (lead.employees !== null) {
    const { band, lower } = bandOf(ev.byEmployees, lead.employees);
    return {
      dealSize: band.dealSize,
      basis: `${describeRange(lower, band.upTo, (n) => count.format(n), true)} employees`,
    };
  }
  if (lead.annualRevenue !== null) {
    const { band, lower } = bandOf(ev.byAnnualRevenue, lead.annualRevenue);
    const money = (n: number) => formatMoney(n, ev.currency);
    return {
      dealSize: band.dealSize,
      basis: `annual revenue ${describeRange(lower, band.upTo, money, false)}`,
    };
  }
  return { dealSize: ev.defaultDealSize, basis: 'company size unknown' };
}
