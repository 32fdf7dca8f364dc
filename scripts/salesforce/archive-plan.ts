// The Big Object archive figures of docs/salesforce.md ("Archive"): what Score_History_Archive__b receives at the
// client's steady state once the retention window is full (every row the purge deletes is archived first), how
// long Salesforce's included Big Object allocation lasts, and the archive batch's Apex executions.
// Big Objects are counted in records, not data storage (Salesforce's Big Object guide: Enterprise, Performance,
// Unlimited and Developer Editions hold up to 1 million records; more capacity is an add-on license).
// Run: `npx tsx scripts/salesforce/archive-plan.ts [--json]`.
import { BYTES_PER_RECORD, CLIENT_VOLUME, type Volume } from './storage-plan.js';

export const INCLUDED_BIG_OBJECT_RECORDS = 1_000_000;
/** ScoreHistoryArchive.BATCH_SIZE: rows per batch execute (one Database.insertImmediate call each). */
export const ARCHIVE_BATCH_SIZE = 2000;

export interface ArchivePlan {
  rowsPerDay: number;
  /** Archive records after N years of archiving. */
  recordsAfterYears: Record<number, number>;
  /** Days of archiving the included allocation holds. */
  daysInIncludedAllocation: number;
  /** Data storage the same rows would take kept in Score_History__c instead (2 KB a record), per year. */
  dataStorageGbPerYearAvoided: number;
  batchExecutesPerDay: number;
}

export function archivePlan(volume: Volume, years: number[]): ArchivePlan {
  const rowsPerDay = volume.historyRowsPerCycle * volume.cyclesPerDay;
  return {
    rowsPerDay,
    recordsAfterYears: Object.fromEntries(years.map((y) => [y, rowsPerDay * Math.round(365.25 * y)])),
    daysInIncludedAllocation: Math.round((INCLUDED_BIG_OBJECT_RECORDS / rowsPerDay) * 100) / 100,
    dataStorageGbPerYearAvoided: Math.round(((rowsPerDay * 365.25 * BYTES_PER_RECORD) / 1024 ** 3) * 10) / 10,
    batchExecutesPerDay: Math.ceil(rowsPerDay / ARCHIVE_BATCH_SIZE),
  };
}

export const ARCHIVE_YEARS = [1, 3, 7];

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = archivePlan(CLIENT_VOLUME, ARCHIVE_YEARS);
  if (process.argv.includes('--json')) console.log(JSON.stringify({ volume: CLIENT_VOLUME, ...result }));
  else {
    console.log(
      `archive: ${result.rowsPerDay} rows/day into Score_History_Archive__b (once the retention window is full)`,
    );
    for (const [years, records] of Object.entries(result.recordsAfterYears))
      console.log(`  after ${years} year(s): ${records} records`);
    console.log(
      `  the included ${INCLUDED_BIG_OBJECT_RECORDS} Big Object records last ${result.daysInIncludedAllocation} days: buy the add-on capacity first`,
    );
    console.log(
      `  kept in Score_History__c instead: ${result.dataStorageGbPerYearAvoided} GB of data storage a year`,
    );
    console.log(`  archive batch: ${result.batchExecutesPerDay} executes/day of ${ARCHIVE_BATCH_SIZE} rows`);
  }
}
