// The soak at CI size (bench/soak.ts runs it at full size): a scaled day — six 4-hour cycles — of org churn,
// engagement events, an extract and chaos (worker SIGKILL, Redis restart, org outage) against `leadrank serve` and
// `leadrank worker --roles sync,writeback,batch,scheduler,privacy` started as child processes. After settling, the org
// holds what the API answers for every open lead, removed leads are in no worklist, no write-back is lost or
// duplicated.
import { describe, expect, it } from 'vitest';
import { runSoak } from './support/soak.js';

describe('soak (CI size)', () => {
  it('keeps the org, the store and the worklists consistent through churn and chaos', async () => {
    const r = await runSoak({
      leads: 120,
      cycleMs: 16_000,
      hours: 24,
      churnPerHour: 3,
      eventLeadsPerHour: 2,
      log: process.env.SOAK_VERBOSE ? (l) => console.log(l) : undefined,
    });
    if (process.env.SOAK_VERBOSE)
      console.log(
        JSON.stringify({
          ...r,
          mismatched: r.mismatched.length,
          profileDiffers: r.profileDiffers.length,
        }),
      );
    expect(r.cycles.length).toBeGreaterThanOrEqual(6);
    expect(r.churn.converted ?? 0).toBeGreaterThan(0);
    expect(r.churn.deleted ?? 0).toBeGreaterThan(0);
    expect(r.churn.merged ?? 0).toBeGreaterThan(0);
    expect(r.chaos).toHaveLength(4);
    expect(r.mismatched).toEqual([]);
    // The event rescore (by Id, from the store's profile) and the Apex/batch score (with the Lead's fields) agree.
    expect(r.profileDiffers).toEqual([]);
    expect(r.removedInWorklist).toEqual([]);
    expect(r.syncMissed).toEqual([]);
    expect(r.lostWritebacks).toEqual([]);
    expect(r.duplicatedWritebacks).toEqual([]);
    expect(r.eventToOrgMs.n).toBeGreaterThan(0);
    expect(r.syncLagMs.n).toBeGreaterThan(0);
  }, 300_000);
});
