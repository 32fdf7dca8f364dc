// The org storage and event figures of docs/salesforce.md ("Storage and retention", "Live refresh"):
// Salesforce counts 2 KB of data storage per custom object record, whatever its fields hold, and a
// trigger on a Bulk API or sObject Collections write runs once per 200 records, so LeadScoreEvents
// publishes one event per 200 changed leads. Run: `npx tsx scripts/salesforce/storage-plan.ts [--json]`.
export const BYTES_PER_RECORD = 2 * 1024;
export const TRIGGER_CHUNK = 200;

export interface Volume {
  /** Score_History__c rows written per cycle (material changes only). */
  historyRowsPerCycle: number;
  cyclesPerDay: number;
  /** Leads whose score or band changes per cycle (all of them raise events, material or not). */
  changedLeadsPerCycle: number;
}

export interface Plan {
  gbPerDay: number;
  gbAtRetention: Record<number, number>;
  eventsPerDay: number;
}

export function plan(volume: Volume, retentionDays: number[]): Plan {
  const bytesPerDay = volume.historyRowsPerCycle * volume.cyclesPerDay * BYTES_PER_RECORD;
  const gb = (bytes: number) => Math.round((bytes / 1024 ** 3) * 10) / 10;
  return {
    gbPerDay: gb(bytesPerDay),
    gbAtRetention: Object.fromEntries(retentionDays.map((d) => [d, gb(bytesPerDay * d)])),
    eventsPerDay: Math.ceil(volume.changedLeadsPerCycle / TRIGGER_CHUNK) * volume.cyclesPerDay,
  };
}

/** The client's steady state (issue 16): ~210K history rows and changed leads per cycle, six cycles a day. */
export const CLIENT_VOLUME: Volume = {
  historyRowsPerCycle: 210_000,
  cyclesPerDay: 6,
  changedLeadsPerCycle: 210_000,
};
export const RETENTION_DAYS = [7, 30, 90];

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = plan(CLIENT_VOLUME, RETENTION_DAYS);
  if (process.argv.includes('--json')) console.log(JSON.stringify({ volume: CLIENT_VOLUME, ...result }));
  else {
    console.log(
      `history: ${result.gbPerDay} GB/day at ${CLIENT_VOLUME.historyRowsPerCycle} rows x ${CLIENT_VOLUME.cyclesPerDay} cycles`,
    );
    for (const [days, gb] of Object.entries(result.gbAtRetention))
      console.log(`  kept ${days} days: ${gb} GB`);
    console.log(
      `score events: ${result.eventsPerDay}/day (one per ${TRIGGER_CHUNK} changed leads), each delivered once per subscribed browser tab`,
    );
  }
}
