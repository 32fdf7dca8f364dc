// Stands in for the rolling 24-hour Bulk API allocations (DailyBulkApiBatches, DailyBulkV2QueryJobs, record cap).
// Hand-written: a per-minute bucket ring is a few lines and no library models SF quotas.

export interface BulkLimits {
  /** Records ingested per rolling 24 h (Salesforce: 150,000,000). */
  dailyRecords: number;
  /** Internal ingest batches (10,000 rows each) per rolling 24 h (Salesforce: 15,000). */
  dailyBatches: number;
  /** Query jobs per rolling 24 h (Salesforce: 10,000). */
  dailyQueryJobs: number;
}

export const SALESFORCE_BULK_LIMITS: BulkLimits = {
  dailyRecords: 150_000_000,
  dailyBatches: 15_000,
  dailyQueryJobs: 10_000,
};

type Counter = 'records' | 'batches' | 'queryJobs';

const WINDOW_MS = 24 * 60 * 60 * 1000;
const BUCKET_MS = 60 * 1000;

class RollingCounter {
  private readonly buckets = new Map<number, number>();

  add(n: number, now: number): void {
    const key = Math.floor(now / BUCKET_MS);
    this.buckets.set(key, (this.buckets.get(key) ?? 0) + n);
  }

  total(now: number): number {
    const oldest = Math.floor((now - WINDOW_MS) / BUCKET_MS);
    let sum = 0;
    for (const [key, n] of this.buckets) {
      if (key <= oldest) this.buckets.delete(key);
      else sum += n;
    }
    return sum;
  }

  clear(): void {
    this.buckets.clear();
  }
}

export interface LimitSnapshot {
  Max: number;
  Remaining: number;
}

export class BulkUsage {
  private limits: BulkLimits;
  private readonly counters: Record<Counter, RollingCounter> = {
    records: new RollingCounter(),
    batches: new RollingCounter(),
    queryJobs: new RollingCounter(),
  };

  constructor(
    limits: Partial<BulkLimits> = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.limits = { ...SALESFORCE_BULK_LIMITS, ...limits };
  }

  setLimits(patch: Partial<BulkLimits>): BulkLimits {
    this.limits = { ...this.limits, ...patch };
    return this.currentLimits();
  }

  currentLimits(): BulkLimits {
    return { ...this.limits };
  }

  record(counter: Counter, n = 1): void {
    this.counters[counter].add(n, this.clock());
  }

  used(counter: Counter): number {
    return this.counters[counter].total(this.clock());
  }

  remainingRecords(): number {
    return this.limits.dailyRecords - this.used('records');
  }

  remainingBatches(): number {
    return this.limits.dailyBatches - this.used('batches');
  }

  remainingQueryJobs(): number {
    return this.limits.dailyQueryJobs - this.used('queryJobs');
  }

  reset(): void {
    for (const c of Object.values(this.counters)) c.clear();
  }

  /** The entries of the REST `/limits` resource this layer owns. */
  snapshot(): { DailyBulkApiBatches: LimitSnapshot; DailyBulkV2QueryJobs: LimitSnapshot } {
    return {
      DailyBulkApiBatches: {
        Max: this.limits.dailyBatches,
        Remaining: Math.max(0, this.remainingBatches()),
      },
      DailyBulkV2QueryJobs: {
        Max: this.limits.dailyQueryJobs,
        Remaining: Math.max(0, this.remainingQueryJobs()),
      },
    };
  }
}
