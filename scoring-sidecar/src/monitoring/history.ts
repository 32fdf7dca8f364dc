// Daily monitoring history on SQLite: what the dashboard charts and the reports read. Small aggregates only
// (counts per day, region, band or feature); no lead ids, no record bodies.
import Database from 'better-sqlite3';
import type { CalibrationBin, DriftSlice, DriftStatus } from './drift.js';

export interface BatchCycleRecord {
  startedAt: string;
  region: string;
  durationSeconds: number;
  ok: boolean;
  leadsScored: number;
  changesWritten: number;
  error: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS score_bands (day TEXT, region TEXT, band TEXT, count INTEGER, PRIMARY KEY (day, region, band));
CREATE TABLE IF NOT EXISTS score_sources (day TEXT, region TEXT, source TEXT, count INTEGER, PRIMARY KEY (day, region, source));
CREATE TABLE IF NOT EXISTS drift (day TEXT, region TEXT, feature TEXT, psi REAL, missing_rate REAL,
  baseline_missing_rate REAL, status TEXT, reason TEXT, PRIMARY KEY (day, region, feature));
CREATE TABLE IF NOT EXISTS calibration (day TEXT, region TEXT, decile INTEGER, rows INTEGER, mean_predicted REAL,
  observed_rate REAL, PRIMARY KEY (day, region, decile));
CREATE TABLE IF NOT EXISTS calibration_runs (day TEXT, region TEXT, rows INTEGER, ece REAL,
  PRIMARY KEY (day, region));
CREATE TABLE IF NOT EXISTS batch_cycles (started_at TEXT, region TEXT, duration_s REAL, ok INTEGER, leads INTEGER,
  written INTEGER, error TEXT, PRIMARY KEY (started_at, region));
CREATE TABLE IF NOT EXISTS extract_deliveries (extract TEXT, day TEXT, received_at TEXT, rows INTEGER,
  invalid_rows INTEGER, issues TEXT, PRIMARY KEY (extract, received_at));
`;

export interface ExtractDeliveryRecord {
  extract: string;
  day: string;
  receivedAt: string;
  rows: number;
  invalidRows: number;
  /** Issue codes of the delivery's check (late, half_empty, schema, range…). */
  issues: string[];
}

export class MonitoringHistory {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /** Adds scores to the day's counts by band and by source (model, or rules fallback). */
  addScores(
    day: string,
    region: string,
    bands: Record<string, number>,
    sources: Record<string, number>,
  ): void {
    const band = this.db.prepare(
      'INSERT INTO score_bands VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count',
    );
    const source = this.db.prepare(
      'INSERT INTO score_sources VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count',
    );
    this.db.transaction(() => {
      for (const [b, n] of Object.entries(bands)) band.run(day, region, b, n);
      for (const [s, n] of Object.entries(sources)) source.run(day, region, s, n);
    })();
  }

  recordDrift(slices: readonly DriftSlice[]): void {
    const stmt = this.db.prepare('INSERT OR REPLACE INTO drift VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const s of slices) {
        for (const f of [...s.features, ...(s.prediction ? [{ ...s.prediction, feature: '(score)' }] : [])])
          stmt.run(
            s.day,
            s.region,
            f.feature,
            f.psi,
            f.missingRate,
            f.baselineMissingRate,
            f.status,
            f.reason,
          );
      }
    })();
  }

  recordCalibration(day: string, region: string, bins: readonly CalibrationBin[]): void {
    const stmt = this.db.prepare('INSERT OR REPLACE INTO calibration VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const b of bins) stmt.run(day, region, b.decile, b.rows, b.meanPredicted, b.observedRate);
    })();
  }

  /** The ECE of one calibration measurement (its bins go to recordCalibration). */
  recordCalibrationRun(day: string, region: string, rows: number, ece: number): void {
    this.db
      .prepare('INSERT OR REPLACE INTO calibration_runs VALUES (?, ?, ?, ?)')
      .run(day, region, rows, ece);
  }

  /** Per region, the newest calibration measurement with at least `minRows` labelled rows. */
  latestCalibrationRuns(minRows: number): { day: string; region: string; rows: number; ece: number }[] {
    return this.db
      .prepare(
        `SELECT day, region, rows, ece FROM calibration_runs c WHERE rows >= ? AND day = (SELECT MAX(day)
           FROM calibration_runs WHERE region = c.region AND rows >= ?) ORDER BY region`,
      )
      .all(minRows, minRows) as { day: string; region: string; rows: number; ece: number }[];
  }

  recordBatchCycle(c: BatchCycleRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO batch_cycles VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(c.startedAt, c.region, c.durationSeconds, c.ok ? 1 : 0, c.leadsScored, c.changesWritten, c.error);
  }

  recordExtractDelivery(d: ExtractDeliveryRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO extract_deliveries VALUES (?, ?, ?, ?, ?, ?)')
      .run(d.extract, d.day, d.receivedAt, d.rows, d.invalidRows, JSON.stringify(d.issues));
  }

  /** Deliveries of one extract, newest first. */
  extractDeliveries(extract: string, limit = 30): ExtractDeliveryRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM extract_deliveries WHERE extract = ? ORDER BY received_at DESC LIMIT ?')
        .all(extract, limit) as {
        extract: string;
        day: string;
        received_at: string;
        rows: number;
        invalid_rows: number;
        issues: string;
      }[]
    ).map((r) => ({
      extract: r.extract,
      day: r.day,
      receivedAt: r.received_at,
      rows: r.rows,
      invalidRows: r.invalid_rows,
      issues: JSON.parse(r.issues) as string[],
    }));
  }

  scoreBands(since: string): { day: string; region: string; band: string; count: number }[] {
    return this.db
      .prepare('SELECT day, region, band, count FROM score_bands WHERE day >= ? ORDER BY day, region, band')
      .all(since) as { day: string; region: string; band: string; count: number }[];
  }

  scoreSources(since: string): { day: string; region: string; source: string; count: number }[] {
    return this.db
      .prepare(
        'SELECT day, region, source, count FROM score_sources WHERE day >= ? ORDER BY day, region, source',
      )
      .all(since) as { day: string; region: string; source: string; count: number }[];
  }

  drift(since: string): {
    day: string;
    region: string;
    feature: string;
    psi: number;
    missingRate: number;
    baselineMissingRate: number;
    status: DriftStatus;
    reason: string | null;
  }[] {
    return this.db
      .prepare(
        `SELECT day, region, feature, psi, missing_rate AS missingRate, baseline_missing_rate AS baselineMissingRate,
           status, reason FROM drift WHERE day >= ? ORDER BY day, region, feature`,
      )
      .all(since) as ReturnType<MonitoringHistory['drift']>;
  }

  calibration(
    since: string,
  ): { region: string; decile: number; rows: number; meanPredicted: number; observedRate: number }[] {
    // Rows-weighted over the days since `since`: a decile's curve point pools its days.
    return this.db
      .prepare(
        `SELECT region, decile, SUM(rows) AS rows, SUM(mean_predicted * rows) / SUM(rows) AS meanPredicted,
           SUM(observed_rate * rows) / SUM(rows) AS observedRate
         FROM calibration WHERE day >= ? GROUP BY region, decile ORDER BY region, decile`,
      )
      .all(since) as ReturnType<MonitoringHistory['calibration']>;
  }

  batchCycles(since: string): BatchCycleRecord[] {
    return (
      this.db.prepare('SELECT * FROM batch_cycles WHERE started_at >= ? ORDER BY started_at').all(since) as {
        started_at: string;
        region: string;
        duration_s: number;
        ok: number;
        leads: number;
        written: number;
        error: string | null;
      }[]
    ).map((r) => ({
      startedAt: r.started_at,
      region: r.region,
      durationSeconds: r.duration_s,
      ok: r.ok === 1,
      leadsScored: r.leads,
      changesWritten: r.written,
      error: r.error,
    }));
  }
}
