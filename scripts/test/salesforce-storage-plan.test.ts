import { describe, expect, it } from 'vitest';
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
