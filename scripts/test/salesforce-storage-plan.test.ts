import { describe, expect, it } from 'vitest';
import { archivePlan } from '../salesforce/archive-plan.js';
import { plan } from '../salesforce/storage-plan.js';

describe('the storage and event plan', () => {
  it('counts 2 KB per history row and one event per 200 changed leads', () => {
    const result = plan(
      { historyRowsPerCycle: 1024 * 1024, cyclesPerDay: 1, changedLeadsPerCycle: 401 },
      [10],
    );
    expect(result.gbPerDay).toBe(2);
    expect(result.gbAtRetention[10]).toBe(20);
    expect(result.eventsPerDay).toBe(3);
  });
});

describe('the Big Object archive plan', () => {
  it('archives every purged row, counts the included allocation in days and the batch in executes', () => {
    const result = archivePlan(
      { historyRowsPerCycle: 250_000, cyclesPerDay: 2, changedLeadsPerCycle: 0 },
      [1],
    );
    expect(result.rowsPerDay).toBe(500_000);
    expect(result.recordsAfterYears[1]).toBe(500_000 * 365);
    expect(result.daysInIncludedAllocation).toBe(2);
    expect(result.batchExecutesPerDay).toBe(250);
  });
});
