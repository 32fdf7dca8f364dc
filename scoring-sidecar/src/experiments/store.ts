// Experiment state on SQLite: definitions, mode changes (an append-only trail with who and why), stored
// assignments, exposures, outcomes joined from Salesforce and the pre-period covariate. Exposures keep one row
// per lead (its first exposure decides its arm) plus per unit-day counts, so a busy worklist costs no row per view.
import Database from 'better-sqlite3';
import type { ExperimentDefinition, SegmentDimension } from './definition.js';
import type { Arm } from './stats.js';

export type ExperimentMode = 'shadow' | 'canary' | 'full' | 'halted' | 'reverted';

export interface ExperimentState {
  id: string;
  definition: ExperimentDefinition;
  mode: ExperimentMode;
  /** Share of units shown the treatment now (0 in shadow, halted and reverted; 1 in full rollout). */
  share: number;
  startedAt: string;
  updatedAt: string;
}

export interface ExperimentEvent {
  at: string;
  action: string;
  fromMode: ExperimentMode | null;
  toMode: ExperimentMode;
  share: number;
  reason: string;
  actor: string;
}

export interface AssignmentRow {
  unitId: string;
  arm: Arm;
  bucket: number;
  share: number;
  firstSeenAt: string;
}

export interface LeadExposureRow {
  leadId: string;
  repId: string;
  unitId: string;
  arm: Arm;
  firstAt: string;
  /** Share in force when the unit first saw this lead. */
  share: number;
}

export interface UnitExposureRow {
  unitId: string;
  arm: Arm;
  leads: number;
  fallbackLeads: number;
  firstAt: string;
  share: number;
}

export interface OutcomeRow {
  leadId: string;
  ownerId: string | null;
  createdAt: string;
  converted: boolean;
  convertedAt: string | null;
  firstTouchAt: string | null;
  amount: number;
  segments: Record<SegmentDimension, string | null>;
}

export interface PrePeriodRow {
  unitId: string;
  leads: number;
  conversions: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS experiments (
  id TEXT PRIMARY KEY, definition TEXT NOT NULL, mode TEXT NOT NULL, share REAL NOT NULL,
  started_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiment_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, experiment_id TEXT NOT NULL, at TEXT NOT NULL, action TEXT NOT NULL,
  from_mode TEXT, to_mode TEXT NOT NULL, share REAL NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assignments (
  experiment_id TEXT NOT NULL, unit_id TEXT NOT NULL, arm TEXT NOT NULL, bucket REAL NOT NULL,
  share REAL NOT NULL, first_seen_at TEXT NOT NULL, PRIMARY KEY (experiment_id, unit_id));
CREATE TABLE IF NOT EXISTS rep_units (
  experiment_id TEXT NOT NULL, rep_id TEXT NOT NULL, unit_id TEXT NOT NULL, PRIMARY KEY (experiment_id, rep_id));
CREATE TABLE IF NOT EXISTS lead_exposures (
  experiment_id TEXT NOT NULL, lead_id TEXT NOT NULL, rep_id TEXT NOT NULL, unit_id TEXT NOT NULL,
  arm TEXT NOT NULL, share REAL NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL, times INTEGER NOT NULL,
  PRIMARY KEY (experiment_id, lead_id));
CREATE TABLE IF NOT EXISTS unit_exposures (
  experiment_id TEXT NOT NULL, unit_id TEXT NOT NULL, arm TEXT NOT NULL, share REAL NOT NULL,
  first_at TEXT NOT NULL, leads INTEGER NOT NULL, fallback_leads INTEGER NOT NULL,
  PRIMARY KEY (experiment_id, unit_id, arm));
CREATE TABLE IF NOT EXISTS outcomes (
  experiment_id TEXT NOT NULL, lead_id TEXT NOT NULL, owner_id TEXT, created_at TEXT NOT NULL,
  converted INTEGER NOT NULL, converted_at TEXT, first_touch_at TEXT, amount REAL NOT NULL,
  region TEXT, lead_source TEXT, industry TEXT, company_size TEXT, PRIMARY KEY (experiment_id, lead_id));
CREATE TABLE IF NOT EXISTS pre_period (
  experiment_id TEXT NOT NULL, unit_id TEXT NOT NULL, leads INTEGER NOT NULL, conversions INTEGER NOT NULL,
  PRIMARY KEY (experiment_id, unit_id));
`;

interface ExperimentRow {
  id: string;
  definition: string;
  mode: ExperimentMode;
  share: number;
  started_at: string;
  updated_at: string;
}

export class ExperimentStore {
  private readonly db: Database.Database;

  /** `file` is a SQLite path, or ':memory:' for tests. */
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  get(id: string): ExperimentState | null {
    const row = this.db.prepare('SELECT * FROM experiments WHERE id = ?').get(id) as
      ExperimentRow | undefined;
    return row ? toState(row) : null;
  }

  list(): ExperimentState[] {
    return (this.db.prepare('SELECT * FROM experiments ORDER BY id').all() as ExperimentRow[]).map(toState);
  }

  create(definition: ExperimentDefinition, at: string, actor: string): void {
    this.transaction(() => {
      this.db
        .prepare('INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?)')
        .run(definition.id, JSON.stringify(definition), 'shadow', 0, at, at);
      this.appendEvent(definition.id, {
        at,
        action: 'create',
        fromMode: null,
        toMode: 'shadow',
        share: 0,
        reason: 'created',
        actor,
      });
    });
  }

  setMode(id: string, event: Omit<ExperimentEvent, 'fromMode'>): void {
    this.transaction(() => {
      const current = this.get(id);
      if (!current) throw new Error(`no experiment ${id}`);
      this.db
        .prepare('UPDATE experiments SET mode = ?, share = ?, updated_at = ? WHERE id = ?')
        .run(event.toMode, event.share, event.at, id);
      this.appendEvent(id, { ...event, fromMode: current.mode });
    });
  }

  private appendEvent(id: string, e: ExperimentEvent): void {
    this.db
      .prepare(
        'INSERT INTO experiment_events (experiment_id, at, action, from_mode, to_mode, share, reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, e.at, e.action, e.fromMode, e.toMode, e.share, e.reason, e.actor);
  }

  events(id: string): ExperimentEvent[] {
    return (
      this.db
        .prepare(
          'SELECT at, action, from_mode AS fromMode, to_mode AS toMode, share, reason, actor FROM experiment_events WHERE experiment_id = ? ORDER BY seq',
        )
        .all(id) as ExperimentEvent[]
    ).map((e) => ({ ...e }));
  }

  /** Stores the first assignment seen for a unit; later calls keep the original row (the audit record). */
  recordAssignment(id: string, repId: string, row: AssignmentRow): void {
    this.db
      .prepare('INSERT OR IGNORE INTO assignments VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, row.unitId, row.arm, row.bucket, row.share, row.firstSeenAt);
    this.db.prepare('INSERT OR IGNORE INTO rep_units VALUES (?, ?, ?)').run(id, repId, row.unitId);
  }

  assignments(id: string): AssignmentRow[] {
    return this.db
      .prepare(
        'SELECT unit_id AS unitId, arm, bucket, share, first_seen_at AS firstSeenAt FROM assignments WHERE experiment_id = ? ORDER BY unit_id',
      )
      .all(id) as AssignmentRow[];
  }

  repUnits(id: string): Map<string, string> {
    const rows = this.db
      .prepare('SELECT rep_id AS repId, unit_id AS unitId FROM rep_units WHERE experiment_id = ?')
      .all(id) as { repId: string; unitId: string }[];
    return new Map(rows.map((r) => [r.repId, r.unitId]));
  }

  recordExposure(
    id: string,
    e: {
      repId: string;
      unitId: string;
      arm: Arm;
      share: number;
      at: string;
      leadIds: readonly string[];
      fallbackLeads: number;
    },
  ): void {
    this.transaction(() => {
      const lead = this.db.prepare(
        `INSERT INTO lead_exposures VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT (experiment_id, lead_id) DO UPDATE SET last_at = excluded.last_at, times = times + 1`,
      );
      for (const leadId of new Set(e.leadIds))
        lead.run(id, leadId, e.repId, e.unitId, e.arm, e.share, e.at, e.at);
      this.db
        .prepare(
          `INSERT INTO unit_exposures VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (experiment_id, unit_id, arm) DO UPDATE SET leads = leads + excluded.leads,
             fallback_leads = fallback_leads + excluded.fallback_leads`,
        )
        .run(id, e.unitId, e.arm, e.share, e.at, e.leadIds.length, e.fallbackLeads);
    });
  }

  leadExposures(id: string): LeadExposureRow[] {
    return this.db
      .prepare(
        'SELECT lead_id AS leadId, rep_id AS repId, unit_id AS unitId, arm, share, first_at AS firstAt FROM lead_exposures WHERE experiment_id = ?',
      )
      .all(id) as LeadExposureRow[];
  }

  unitExposures(id: string): UnitExposureRow[] {
    return this.db
      .prepare(
        'SELECT unit_id AS unitId, arm, leads, fallback_leads AS fallbackLeads, first_at AS firstAt, share FROM unit_exposures WHERE experiment_id = ?',
      )
      .all(id) as UnitExposureRow[];
  }

  upsertOutcomes(id: string, rows: readonly OutcomeRow[]): void {
    const stmt = this.db.prepare(
      'INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.transaction(() => {
      for (const r of rows) {
        stmt.run(
          id,
          r.leadId,
          r.ownerId,
          r.createdAt,
          r.converted ? 1 : 0,
          r.convertedAt,
          r.firstTouchAt,
          r.amount,
          r.segments.region,
          r.segments.lead_source,
          r.segments.industry,
          r.segments.company_size,
        );
      }
    });
  }

  outcomes(id: string): OutcomeRow[] {
    const rows = this.db.prepare('SELECT * FROM outcomes WHERE experiment_id = ?').all(id) as {
      lead_id: string;
      owner_id: string | null;
      created_at: string;
      converted: number;
      converted_at: string | null;
      first_touch_at: string | null;
      amount: number;
      region: string | null;
      lead_source: string | null;
      industry: string | null;
      company_size: string | null;
    }[];
    return rows.map((r) => ({
      leadId: r.lead_id,
      ownerId: r.owner_id,
      createdAt: r.created_at,
      converted: r.converted === 1,
      convertedAt: r.converted_at,
      firstTouchAt: r.first_touch_at,
      amount: r.amount,
      segments: {
        region: r.region,
        lead_source: r.lead_source,
        industry: r.industry,
        company_size: r.company_size,
      },
    }));
  }

  setPrePeriod(id: string, rows: readonly PrePeriodRow[]): void {
    const stmt = this.db.prepare('INSERT OR REPLACE INTO pre_period VALUES (?, ?, ?, ?)');
    this.transaction(() => {
      for (const r of rows) stmt.run(id, r.unitId, r.leads, r.conversions);
    });
  }

  prePeriod(id: string): PrePeriodRow[] {
    return this.db
      .prepare('SELECT unit_id AS unitId, leads, conversions FROM pre_period WHERE experiment_id = ?')
      .all(id) as PrePeriodRow[];
  }
}

function toState(row: ExperimentRow): ExperimentState {
  return {
    id: row.id,
    definition: JSON.parse(row.definition) as ExperimentDefinition,
    mode: row.mode,
    share: row.share,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  };
}
