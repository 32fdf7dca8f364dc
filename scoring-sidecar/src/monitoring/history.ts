// Daily monitoring history through the shared-state layer (PostgreSQL when DATABASE_URL is set, else an
// embedded SQLite file): what the dashboard charts and the reports read. Small aggregates only (counts per
// day, region, band or feature); no lead ids, no record bodies. The tables are the reporting surface BI tools
// read: docs/reporting.md.
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { openSharedDb, type Dialect, type SharedDb } from '../shared-state/index.js';
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

export interface ExtractDeliveryRecord {
  extract: string;
  day: string;
  receivedAt: string;
  rows: number;
  invalidRows: number;
  /** Issue codes of the delivery's check (late, half_empty, schema, range…). */
  issues: string[];
}

interface HistorySchema {
  score_bands: { day: string; region: string; band: string; count: number };
  score_sources: { day: string; region: string; source: string; count: number };
  drift: {
    day: string;
    region: string;
    feature: string;
    psi: number;
    missing_rate: number;
    baseline_missing_rate: number;
    status: DriftStatus;
    reason: string | null;
  };
  calibration: {
    day: string;
    region: string;
    decile: number;
    rows: number;
    mean_predicted: number;
    observed_rate: number;
  };
  calibration_runs: { day: string; region: string; rows: number; ece: number };
  batch_cycles: {
    started_at: string;
    region: string;
    duration_s: number;
    ok: number;
    leads: number;
    written: number;
    error: string | null;
  };
  extract_deliveries: {
    extract: string;
    day: string;
    received_at: string;
    rows: number;
    invalid_rows: number;
    issues: string;
  };
}

const REAL = 'double precision';

/** Version 1: the tables of the SQLite files written before this layer (same names and columns). */
const MIGRATIONS: Record<string, Migration> = {
  '001_monitoring_history': {
    async up(db: Kysely<unknown>) {
      const s = db.schema;
      await s
        .createTable('score_bands')
        .ifNotExists()
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('band', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('score_bands_pk', ['day', 'region', 'band'])
        .execute();
      await s
        .createTable('score_sources')
        .ifNotExists()
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('score_sources_pk', ['day', 'region', 'source'])
        .execute();
      await s
        .createTable('drift')
        .ifNotExists()
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('feature', 'text', (c) => c.notNull())
        .addColumn('psi', REAL)
        .addColumn('missing_rate', REAL)
        .addColumn('baseline_missing_rate', REAL)
        .addColumn('status', 'text')
        .addColumn('reason', 'text')
        .addPrimaryKeyConstraint('drift_pk', ['day', 'region', 'feature'])
        .execute();
      await s
        .createTable('calibration')
        .ifNotExists()
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('decile', 'integer', (c) => c.notNull())
        .addColumn('rows', 'integer')
        .addColumn('mean_predicted', REAL)
        .addColumn('observed_rate', REAL)
        .addPrimaryKeyConstraint('calibration_pk', ['day', 'region', 'decile'])
        .execute();
      await s
        .createTable('calibration_runs')
        .ifNotExists()
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('rows', 'integer')
        .addColumn('ece', REAL)
        .addPrimaryKeyConstraint('calibration_runs_pk', ['day', 'region'])
        .execute();
      await s
        .createTable('batch_cycles')
        .ifNotExists()
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('duration_s', REAL)
        .addColumn('ok', 'integer')
        .addColumn('leads', 'integer')
        .addColumn('written', 'integer')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('batch_cycles_pk', ['started_at', 'region'])
        .execute();
      await s
        .createTable('extract_deliveries')
        .ifNotExists()
        .addColumn('extract', 'text', (c) => c.notNull())
        .addColumn('day', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('rows', 'integer')
        .addColumn('invalid_rows', 'integer')
        .addColumn('issues', 'text')
        .addPrimaryKeyConstraint('extract_deliveries_pk', ['extract', 'received_at'])
        .execute();
    },
  },
};

export interface MonitoringHistoryOptions {
  /** PostgreSQL (shared by replicas and processes) when set. */
  databaseUrl?: string | undefined;
  /** Else this SQLite file; ':memory:' for tests. */
  sqliteFile?: string;
}

export class MonitoringHistory {
  private constructor(private readonly shared: SharedDb<HistorySchema>) {}

  static async open(o: MonitoringHistoryOptions | string): Promise<MonitoringHistory> {
    const opts = typeof o === 'string' ? { sqliteFile: o } : o;
    return new MonitoringHistory(
      await openSharedDb<HistorySchema>({
        ...opts,
        migrationTable: 'monitoring_migrations',
        migrations: MIGRATIONS,
      }),
    );
  }

  get dialect(): Dialect {
    return this.shared.dialect;
  }

  private get db(): Kysely<HistorySchema> {
    return this.shared.db;
  }

  close(): Promise<void> {
    return this.shared.close();
  }

  /**
   * Retention (`leadrank retention run`): deletes the region's rows of days before `cutoffDay` (YYYY-MM-DD)
   * from every table (extract deliveries carry no region: theirs too). Returns the rows deleted per table;
   * `dryRun` counts them only.
   */
  async purgeBefore(region: string, cutoffDay: string, dryRun = false): Promise<Record<string, number>> {
    const cutoffAt = `${cutoffDay}T00:00:00.000Z`;
    const out: Record<string, number> = {};
    await this.db.transaction().execute(async (tx) => {
      const byDay = ['score_bands', 'score_sources', 'drift', 'calibration', 'calibration_runs'] as const;
      for (const table of byDay) {
        if (dryRun) {
          const row = await tx
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('region', '=', region)
            .where('day', '<', cutoffDay)
            .executeTakeFirst();
          out[table] = Number(row?.n ?? 0);
        } else {
          const r = await tx
            .deleteFrom(table)
            .where('region', '=', region)
            .where('day', '<', cutoffDay)
            .executeTakeFirst();
          out[table] = Number(r.numDeletedRows);
        }
      }
      const cycles = tx
        .deleteFrom('batch_cycles')
        .where('region', '=', region)
        .where('started_at', '<', cutoffAt);
      const deliveries = tx.deleteFrom('extract_deliveries').where('day', '<', cutoffDay);
      if (dryRun) {
        const c = await tx
          .selectFrom('batch_cycles')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('region', '=', region)
          .where('started_at', '<', cutoffAt)
          .executeTakeFirst();
        const d = await tx
          .selectFrom('extract_deliveries')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('day', '<', cutoffDay)
          .executeTakeFirst();
        out.batch_cycles = Number(c?.n ?? 0);
        out.extract_deliveries = Number(d?.n ?? 0);
      } else {
        out.batch_cycles = Number((await cycles.executeTakeFirst()).numDeletedRows);
        out.extract_deliveries = Number((await deliveries.executeTakeFirst()).numDeletedRows);
      }
    });
    return out;
  }

  /** Adds scores to the day's counts by band and by source (model, or rules fallback). */
  async addScores(
    day: string,
    region: string,
    bands: Record<string, number>,
    sources: Record<string, number>,
  ): Promise<void> {
    const bandRows = Object.entries(bands).map(([band, count]) => ({ day, region, band, count }));
    const sourceRows = Object.entries(sources).map(([source, count]) => ({ day, region, source, count }));
    await this.db.transaction().execute(async (tx) => {
      if (bandRows.length)
        await tx
          .insertInto('score_bands')
          .values(bandRows)
          .onConflict((oc) =>
            oc.columns(['day', 'region', 'band']).doUpdateSet({
              count: sql<number>`score_bands.count + excluded.count`,
            }),
          )
          .execute();
      if (sourceRows.length)
        await tx
          .insertInto('score_sources')
          .values(sourceRows)
          .onConflict((oc) =>
            oc.columns(['day', 'region', 'source']).doUpdateSet({
              count: sql<number>`score_sources.count + excluded.count`,
            }),
          )
          .execute();
    });
  }

  async recordDrift(slices: readonly DriftSlice[]): Promise<void> {
    const rows = new Map<string, HistorySchema['drift']>();
    for (const s of slices) {
      for (const f of [...s.features, ...(s.prediction ? [{ ...s.prediction, feature: '(score)' }] : [])])
        rows.set(`${s.day}\u0000${s.region}\u0000${f.feature}`, {
          day: s.day,
          region: s.region,
          feature: f.feature,
          psi: f.psi,
          missing_rate: f.missingRate,
          baseline_missing_rate: f.baselineMissingRate,
          status: f.status,
          reason: f.reason,
        });
    }
    const values = [...rows.values()];
    for (let i = 0; i < values.length; i += 500)
      await this.db
        .insertInto('drift')
        .values(values.slice(i, i + 500))
        .onConflict((oc) =>
          oc.columns(['day', 'region', 'feature']).doUpdateSet((eb) => ({
            psi: eb.ref('excluded.psi'),
            missing_rate: eb.ref('excluded.missing_rate'),
            baseline_missing_rate: eb.ref('excluded.baseline_missing_rate'),
            status: eb.ref('excluded.status'),
            reason: eb.ref('excluded.reason'),
          })),
        )
        .execute();
  }

  async recordCalibration(day: string, region: string, bins: readonly CalibrationBin[]): Promise<void> {
    if (bins.length === 0) return;
    const rows = [...new Map(bins.map((b) => [b.decile, b])).values()].map((b) => ({
      day,
      region,
      decile: b.decile,
      rows: b.rows,
      mean_predicted: b.meanPredicted,
      observed_rate: b.observedRate,
    }));
    await this.db
      .insertInto('calibration')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['day', 'region', 'decile']).doUpdateSet((eb) => ({
          rows: eb.ref('excluded.rows'),
          mean_predicted: eb.ref('excluded.mean_predicted'),
          observed_rate: eb.ref('excluded.observed_rate'),
        })),
      )
      .execute();
  }

  /** The ECE of one calibration measurement (its bins go to recordCalibration). */
  async recordCalibrationRun(day: string, region: string, rows: number, ece: number): Promise<void> {
    await this.db
      .insertInto('calibration_runs')
      .values({ day, region, rows, ece })
      .onConflict((oc) =>
        oc
          .columns(['day', 'region'])
          .doUpdateSet((eb) => ({ rows: eb.ref('excluded.rows'), ece: eb.ref('excluded.ece') })),
      )
      .execute();
  }

  /** Per region, the newest calibration measurement with at least `minRows` labelled rows. */
  async latestCalibrationRuns(
    minRows: number,
  ): Promise<{ day: string; region: string; rows: number; ece: number }[]> {
    const rows = await this.db
      .selectFrom('calibration_runs as c')
      .select(['c.day', 'c.region', 'c.rows', 'c.ece'])
      .where('c.rows', '>=', minRows)
      .where('c.day', '=', (eb) =>
        eb
          .selectFrom('calibration_runs as d')
          .select((e) => e.fn.max('d.day').as('day'))
          .whereRef('d.region', '=', 'c.region')
          .where('d.rows', '>=', minRows),
      )
      .orderBy('c.region')
      .execute();
    return rows.map((r) => ({ ...r, rows: Number(r.rows) }));
  }

  async recordBatchCycle(c: BatchCycleRecord): Promise<void> {
    const row = {
      started_at: c.startedAt,
      region: c.region,
      duration_s: c.durationSeconds,
      ok: c.ok ? 1 : 0,
      leads: c.leadsScored,
      written: c.changesWritten,
      error: c.error,
    };
    await this.db
      .insertInto('batch_cycles')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['started_at', 'region']).doUpdateSet((eb) => ({
          duration_s: eb.ref('excluded.duration_s'),
          ok: eb.ref('excluded.ok'),
          leads: eb.ref('excluded.leads'),
          written: eb.ref('excluded.written'),
          error: eb.ref('excluded.error'),
        })),
      )
      .execute();
  }

  async recordExtractDelivery(d: ExtractDeliveryRecord): Promise<void> {
    await this.db
      .insertInto('extract_deliveries')
      .values({
        extract: d.extract,
        day: d.day,
        received_at: d.receivedAt,
        rows: d.rows,
        invalid_rows: d.invalidRows,
        issues: JSON.stringify(d.issues),
      })
      .onConflict((oc) =>
        oc.columns(['extract', 'received_at']).doUpdateSet((eb) => ({
          day: eb.ref('excluded.day'),
          rows: eb.ref('excluded.rows'),
          invalid_rows: eb.ref('excluded.invalid_rows'),
          issues: eb.ref('excluded.issues'),
        })),
      )
      .execute();
  }

  /** Deliveries of one extract, newest first. */
  async extractDeliveries(extract: string, limit = 30): Promise<ExtractDeliveryRecord[]> {
    const rows = await this.db
      .selectFrom('extract_deliveries')
      .selectAll()
      .where('extract', '=', extract)
      .orderBy('received_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      extract: r.extract,
      day: r.day,
      receivedAt: r.received_at,
      rows: Number(r.rows),
      invalidRows: Number(r.invalid_rows),
      issues: JSON.parse(r.issues) as string[],
    }));
  }

  async scoreBands(since: string): Promise<{ day: string; region: string; band: string; count: number }[]> {
    const rows = await this.db
      .selectFrom('score_bands')
      .select(['day', 'region', 'band', 'count'])
      .where('day', '>=', since)
      .orderBy('day')
      .orderBy('region')
      .orderBy('band')
      .execute();
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }

  async scoreSources(
    since: string,
  ): Promise<{ day: string; region: string; source: string; count: number }[]> {
    const rows = await this.db
      .selectFrom('score_sources')
      .select(['day', 'region', 'source', 'count'])
      .where('day', '>=', since)
      .orderBy('day')
      .orderBy('region')
      .orderBy('source')
      .execute();
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }

  async drift(since: string): Promise<
    {
      day: string;
      region: string;
      feature: string;
      psi: number;
      missingRate: number;
      baselineMissingRate: number;
      status: DriftStatus;
      reason: string | null;
    }[]
  > {
    return this.db
      .selectFrom('drift')
      .select([
        'day',
        'region',
        'feature',
        'psi',
        'missing_rate as missingRate',
        'baseline_missing_rate as baselineMissingRate',
        'status',
        'reason',
      ])
      .where('day', '>=', since)
      .orderBy('day')
      .orderBy('region')
      .orderBy('feature')
      .execute();
  }

  async calibration(
    since: string,
  ): Promise<
    { region: string; decile: number; rows: number; meanPredicted: number; observedRate: number }[]
  > {
    // Rows-weighted over the days since `since`: a decile's curve point pools its days.
    const rows = await this.db
      .selectFrom('calibration')
      .select((eb) => [
        'region',
        'decile',
        eb.fn.sum<number>('rows').as('rows'),
        sql<number>`SUM(mean_predicted * rows) / SUM(rows)`.as('meanPredicted'),
        sql<number>`SUM(observed_rate * rows) / SUM(rows)`.as('observedRate'),
      ])
      .where('day', '>=', since)
      .groupBy(['region', 'decile'])
      .orderBy('region')
      .orderBy('decile')
      .execute();
    // PostgreSQL sums integers to bigint (a string through pg) and divides them as numeric: numbers here.
    return rows.map((r) => ({
      region: r.region,
      decile: Number(r.decile),
      rows: Number(r.rows),
      meanPredicted: Number(r.meanPredicted),
      observedRate: Number(r.observedRate),
    }));
  }

  async batchCycles(since: string): Promise<BatchCycleRecord[]> {
    const rows = await this.db
      .selectFrom('batch_cycles')
      .selectAll()
      .where('started_at', '>=', since)
      .orderBy('started_at')
      .execute();
    return rows.map((r) => ({
      startedAt: r.started_at,
      region: r.region,
      durationSeconds: r.duration_s,
      ok: Number(r.ok) === 1,
      leadsScored: Number(r.leads),
      changesWritten: Number(r.written),
      error: r.error,
    }));
  }
}
