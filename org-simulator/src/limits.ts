// Stands in for the org's API request allocation (DailyApiRequests) and /limits.
import type { FaultInjector } from './faults.js';

const DAY_MS = 86_400_000;

/** DailyApiRequests over a rolling 24 h window, sized by the fault config's allocation. */
export class ApiUsage {
  private calls: number[] = [];
  private bulkCalls: number[] = [];

  constructor(
    private readonly faults: FaultInjector,
    private readonly clock: () => number = Date.now,
  ) {}

  record(kind: 'rest' | 'bulk'): void {
    const now = this.clock();
    this.calls.push(now);
    if (kind === 'bulk') this.bulkCalls.push(now);
  }

  used(): number {
    this.expire();
    return this.calls.length;
  }

  remaining(): number {
    return Math.max(0, this.faults.config().dailyApiRequests - this.used());
  }

  reset(): void {
    this.calls = [];
    this.bulkCalls = [];
  }

  private expire(): void {
    const cutoff = this.clock() - DAY_MS;
    // Calls arrive in time order, so expired ones are a prefix.
    const drop = (list: number[]) => {
      let i = 0;
      while (i < list.length && (list[i] ?? 0) <= cutoff) i++;
      return i === 0 ? list : list.slice(i);
    };
    this.calls = drop(this.calls);
    this.bulkCalls = drop(this.bulkCalls);
  }

  /** The /limits resource (documented shape; allocations other than DailyApiRequests are Enterprise defaults). */
  snapshot(): object {
    const max = this.faults.config().dailyApiRequests;
    const bulkUsed = (this.expire(), this.bulkCalls.length);
    const entry = (Max: number, used = 0) => ({ Max, Remaining: Math.max(0, Max - used) });
    return {
      ConcurrentAsyncGetReportInstances: entry(200),
      ConcurrentSyncReportRuns: entry(20),
      DailyApiRequests: entry(max, this.used()),
      DailyAsyncApexExecutions: entry(250_000),
      DailyBulkApiBatches: entry(15_000, bulkUsed),
      DailyBulkApiRequests: entry(15_000, bulkUsed),
      DailyBulkV2QueryFileStorageMB: entry(976_562),
      DailyBulkV2QueryJobs: entry(10_000),
      DailyStreamingApiEvents: entry(1_000_000),
      DataStorageMB: entry(10_240),
      FileStorageMB: entry(10_240),
      HourlyODataCallout: entry(10_000),
      HourlyTimeBasedWorkflow: entry(1_000),
      SingleEmail: entry(5_000),
    };
  }
}
