// Calibration drift once labels exist: the scores a batch cycle exported one horizon ago (the day's Parquet
// export, `<exports>/<region>/<day>/scores.parquet`) joined with which of those leads Salesforce says converted
// within the horizon, as (probability, converted) pairs of model scores, recorded through the Monitor (history
// for the dashboard's calibration chart, the leadrank_calibration_ece gauge).
//
// Conversions are read with one Bulk API 2.0 query by ConvertedDate range, not by the exported Ids: an export
// holds every active lead of the region (millions), so Id chunks under SOQL's 100,000-character limit would take
// hundreds of query jobs, while the leads converted in a 30-day window are a few thousand rows in one job.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import type jsforce from 'jsforce';
import { bulkQuery, type BulkQueryOptions } from '../salesforce/index.js';
import type { CalibrationBin } from './drift.js';
import type { Monitor } from './monitor.js';

const DAY_MS = 86_400_000;

export interface CalibrationJobInput {
  region: 'US' | 'EU';
  /** When the labels are read; the scores judged are those exported `horizonDays` before. */
  asOf: Date;
  horizonDays: number;
  /** The batch exports root (config/batch.json output.exportsDir under the deployment root). */
  exportsDir: string;
  bulk?: BulkQueryOptions;
}

export type CalibrationJobResult =
  | { status: 'no_export'; region: string; scoredDay: string; file: string }
  | {
      status: 'recorded';
      region: string;
      /** The history day the measurement is kept under (the as-of day). */
      day: string;
      scoredDay: string;
      file: string;
      /** Rows in the export, and of those the model scores (rules scores have no probability). */
      exported: number;
      modelRows: number;
      /** Model-scored leads that converted within the horizon. */
      converted: number;
      /** Converted leads of the region in the window, as the org returned them (any lead, exported or not). */
      conversionsRead: number;
      ece: number;
      bins: CalibrationBin[];
      /** Enough labelled rows for the gauge (config calibration.minLabelledRows). */
      judged: boolean;
      /** judged and ECE above config calibration.maxEce (the alert threshold). */
      alerting: boolean;
    };

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The region's leads as the batch extract selects them: US also owns leads without a region. */
function regionFilter(region: 'US' | 'EU'): string {
  return region === 'US'
    ? "(Data_Region__c = 'US' OR Data_Region__c = null)"
    : `Data_Region__c = '${region}'`;
}

/** Lead Ids converted on a day in [fromDay, toDay] (ConvertedDate is a date: the horizon counts in days). */
export async function readConvertedLeads(
  conn: jsforce.Connection,
  region: 'US' | 'EU',
  fromDay: string,
  toDay: string,
  opts: BulkQueryOptions = {},
): Promise<Set<string>> {
  const soql =
    `SELECT Id FROM Lead WHERE IsConverted = true AND ConvertedDate >= ${fromDay} ` +
    `AND ConvertedDate <= ${toDay} AND ${regionFilter(region)}`;
  const ids = new Set<string>();
  for await (const row of bulkQuery(conn, soql, opts)) if (row.Id) ids.add(row.Id);
  return ids;
}

/** lead_id and probability of each exported row (exports from before the probability column: all null). */
export async function readExportedProbabilities(
  file: string,
): Promise<{ leadId: string; probability: number | null }[]> {
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  const names = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  const columns = names.has('probability') ? ['lead_id', 'probability'] : ['lead_id'];
  const rows = await parquetReadObjects({ file: buffer, metadata, columns });
  return rows.map((r) => ({
    leadId: String(r.lead_id),
    probability: typeof r.probability === 'number' ? r.probability : null,
  }));
}

/**
 * Joins the export of `asOf − horizon` with the conversions since, and records the calibration. `connect` is
 * called only when there is an export to judge.
 */
export async function runCalibrationJob(
  monitor: Monitor,
  connect: () => Promise<jsforce.Connection>,
  input: CalibrationJobInput,
): Promise<CalibrationJobResult> {
  const { region, horizonDays } = input;
  const scoredMs = input.asOf.getTime() - horizonDays * DAY_MS;
  const scoredDay = isoDay(scoredMs);
  // Only this region's directory: another region's exports are never opened.
  const file = join(input.exportsDir, region, scoredDay, 'scores.parquet');
  if (!existsSync(file)) return { status: 'no_export', region, scoredDay, file };
  const exported = await readExportedProbabilities(file);
  const model = exported.filter((r): r is { leadId: string; probability: number } => r.probability !== null);
  const converted = await readConvertedLeads(
    await connect(),
    region,
    scoredDay,
    isoDay(Date.parse(`${scoredDay}T00:00:00Z`) + horizonDays * DAY_MS),
    input.bulk,
  );
  const pairs = model.map((r) => ({ p: r.probability, converted: converted.has(r.leadId) }));
  const day = isoDay(input.asOf.getTime());
  const result = await monitor.recordCalibration(day, region, pairs);
  const judged = result.rows >= monitor.config.calibration.minLabelledRows;
  return {
    status: 'recorded',
    region,
    day,
    scoredDay,
    file,
    exported: exported.length,
    modelRows: model.length,
    converted: pairs.filter((x) => x.converted).length,
    conversionsRead: converted.size,
    ece: result.ece,
    bins: result.bins,
    judged,
    alerting: judged && result.ece > monitor.config.calibration.maxEce,
  };
}

/** The one-line summary the CLI prints. */
export function calibrationSummary(r: CalibrationJobResult): string {
  if (r.status === 'no_export')
    return `calibration ${r.region}: no export for ${r.scoredDay} (${r.file}); nothing to judge`;
  const deciles = r.bins
    .map((b) => `${b.decile}:${b.meanPredicted.toFixed(3)}/${b.observedRate.toFixed(3)}`)
    .join(' ');
  const verdict = !r.judged ? 'too few rows to judge' : r.alerting ? 'ALERT' : 'ok';
  return (
    `calibration ${r.region} ${r.scoredDay}→${r.day}: ${r.modelRows} model rows of ${r.exported}, ` +
    `${r.converted} converted; ECE ${r.ece.toFixed(4)} (${verdict}); deciles predicted/observed ${deciles}`
  );
}
