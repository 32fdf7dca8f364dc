// Experiment state through the shared-state layer (PostgreSQL when DATABASE_URL is set, else an embedded SQLite
// file): definitions, mode changes (an append-only trail with who and why), stored assignments, exposures,
// outcomes joined from Salesforce and the pre-period covariate. Exposures keep one row per lead (its first
// exposure decides its arm) plus per unit-day counts, so a busy worklist costs no row per view.
// The tables are the reporting surface BI tools read: docs/reporting.md.
import { sql, type Generated, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { openSharedDb, type Dialect, type SharedDb } from '../shared-state/index.js';
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

interface ExperimentsSchema {
  experiments: {
    id: string;
    definition: string;
    mode: ExperimentMode;
    share: number;
    started_at: string;
    updated_at: string;
  };
  experiment_events: {
    seq: GeneratedSeq;
    experiment_id: string;
    at: string;
    action: string;
    from_mode: ExperimentMode | null;
    to_mode: ExperimentMode;
    share: number;
    reason: string;
    actor: string;
  };
  assignments: {
    experiment_id: string;
    unit_id: string;
    arm: Arm;
    bucket: number;
    share: number;
    first_seen_at: string;
  };
  rep_units: { experiment_id: string; rep_id: string; unit_id: string };
  lead_exposures: {
    experiment_id: string;
    lead_id: string;
    rep_id: string;
    unit_id: string;
    arm: Arm;
    share: number;
    first_at: string;
    last_at: string;
    times: number;
  };
  unit_exposures: {
    experiment_id: string;
    unit_id: string;
    arm: Arm;
    share: number;
    first_at: string;
    leads: number;
    fallback_leads: number;
  };
  outcomes: {
    experiment_id: string;
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
  };
  pre_period: { experiment_id: string; unit_id: string; leads: number; conversions: number };
}

/** Inserted by the database (never written by the store). */
type GeneratedSeq = Generated<number>;

const REAL = 'double precision'; // REAL affinity in SQLite, float8 in PostgreSQL

/** The schema, version 1: the tables of the SQLite files written before this layer, unchanged. */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001_experiments': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('experiments')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('definition', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('share', REAL, (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('experiment_events')
          .ifNotExists()
          .addColumn('seq', dialect === 'postgres' ? 'serial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('from_mode', 'text')
          .addColumn('to_mode', 'text', (c) => c.notNull())
          .addColumn('share', REAL, (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('assignments')
          .ifNotExists()
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('unit_id', 'text', (c) => c.notNull())
          .addColumn('arm', 'text', (c) => c.notNull())
          .addColumn('bucket', REAL, (c) => c.notNull())
          .addColumn('share', REAL, (c) => c.notNull())
          .addColumn('first_seen_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('assignments_pk', ['experiment_id', 'unit_id'])
          .execute();
        await db.schema
          .createTable('rep_units')
          .ifNotExists()
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('rep_id', 'text', (c) => c.notNull())
          .addColumn('unit_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('rep_units_pk', ['experiment_id', 'rep_id'])
          .execute();
        await db.schema
          .createTable('lead_exposures')
          .ifNotExists()
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('lead_id', 'text', (c) => c.notNull())
          .addColumn('rep_id', 'text', (c) => c.notNull())
          .addColumn('unit_id', 'text', (c) => c.notNull())
          .addColumn('arm', 'text', (c) => c.notNull())
          .addColumn('share', REAL, (c) => c.notNull())
          .addColumn('first_at', 'text', (c) => c.notNull())
          .addColumn('last_at', 'text', (c) => c.notNull())
          .addColumn('times', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('lead_exposures_pk', ['experiment_id', 'lead_id'])
          .execute();
        await db.schema
          .createTable('unit_exposures')
          .ifNotExists()
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('unit_id', 'text', (c) => c.notNull())
          .addColumn('arm', 'text', (c) => c.notNull())
          .addColumn('share', REAL, (c) => c.notNull())
          .addColumn('first_at', 'text', (c) => c.notNull())
          .addColumn('leads', 'integer', (c) => c.notNull())
          .addColumn('fallback_leads', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('unit_exposures_pk', ['experiment_id', 'unit_id', 'arm'])
          .execute();
        await db.schema
          .createTable('outcomes')
          .ifNotExists()
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('lead_id', 'text', (c) => c.notNull())
          .addColumn('owner_id', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('converted', 'integer', (c) => c.notNull())
          .addColumn('converted_at', 'text')
          .addColumn('first_touch_at', 'text')
          .addColumn('amount', REAL, (c) => c.notNull())
          .addColumn('region', 'text')
          .addColumn('lead_source', 'text')
          .addColumn('industry', 'text')
          .addColumn('company_size', 'text')
          .addPrimaryKeyConstraint('outcomes_pk', ['experiment_id', 'lead_id'])
          .execute();
        await db.schema
          .createTable('pre_period')
          .ifNotExists()
          .addColumn('experiment_id', 'text', (c) => c.notNull())
          .addColumn('unit_id', 'text', (c) => c.notNull())
          .addColumn('leads', 'integer', (c) => c.notNull())
          .addColumn('conversions', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('pre_period_pk', ['experiment_id', 'unit_id'])
          .execute();
      },
    },
  };
}

/** One exposure as the service queues it (written in batches, see ExperimentService). */
export interface ExposureWrite {
  repId: string;
  unitId: string;
  arm: Arm;
  share: number;
  at: string;
  leadIds: readonly string[];
  fallbackLeads: number;
}

/** A mode change refused because another process changed the mode first (the compare-and-set lost). */
export class ModeChangedError extends Error {}

export interface ExperimentStoreOptions {
  /** PostgreSQL (shared by replicas) when set. */
  databaseUrl?: string | undefined;
  /** Else this SQLite file; ':memory:' for tests. */
  sqliteFile?: string;
}

export class ExperimentStore {
  private constructor(private readonly shared: SharedDb<ExperimentsSchema>) {}

  static async open(o: ExperimentStoreOptions | string): Promise<ExperimentStore> {
    const opts = typeof o === 'string' ? { sqliteFile: o } : o;
    const dialect: Dialect = opts.databaseUrl ? 'postgres' : 'sqlite';
    return new ExperimentStore(
      await openSharedDb<ExperimentsSchema>({
        ...opts,
        migrationTable: 'experiments_migrations',
        migrations: migrations(dialect),
      }),
    );
  }

  get dialect(): Dialect {
    return this.shared.dialect;
  }

  private get db(): Kysely<ExperimentsSchema> {
    return this.shared.db;
  }

  close(): Promise<void> {
    return this.shared.close();
  }

  /**
   * Retention (`leadrank retention run`): deletes the per-lead rows older than `cutoffAt` (ISO instant): lead
   * exposures last seen before it and outcomes of leads created before it. Definitions, events, unit
   * assignments and exposures (no lead id) stay with the experiment's record. `dryRun` counts only.
   */
  async purgeLeadRowsBefore(cutoffAt: string, dryRun = false): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    await this.db.transaction().execute(async (tx) => {
      const targets = [
        ['lead_exposures', 'last_at'],
        ['outcomes', 'created_at'],
      ] as const;
      for (const [table, column] of targets) {
        if (dryRun) {
          const row = await tx
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where(column, '<', cutoffAt)
            .executeTakeFirst();
          out[table] = Number(row?.n ?? 0);
        } else {
          const r = await tx.deleteFrom(table).where(column, '<', cutoffAt).executeTakeFirst();
          out[table] = Number(r.numDeletedRows);
        }
      }
    });
    return out;
  }

  /**
   * Erasure: removes the lead's exposures and outcomes in every experiment (analyses computed afterwards no longer
   * count it); the number of rows removed. Assignments and pre-period counts are per rep or team, not per lead.
   */
  async forgetLead(leadId: string): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const exposures = await tx
        .deleteFrom('lead_exposures')
        .where('lead_id', '=', leadId)
        .executeTakeFirst();
      const outcomes = await tx.deleteFrom('outcomes').where('lead_id', '=', leadId).executeTakeFirst();
      return Number(exposures.numDeletedRows) + Number(outcomes.numDeletedRows);
    });
  }

  async get(id: string): Promise<ExperimentState | null> {
    const row = await this.db.selectFrom('experiments').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toState(row) : null;
  }

  async list(): Promise<ExperimentState[]> {
    return (await this.db.selectFrom('experiments').selectAll().orderBy('id').execute()).map(toState);
  }

  async create(definition: ExperimentDefinition, at: string, actor: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('experiments')
        .values({
          id: definition.id,
          definition: JSON.stringify(definition),
          mode: 'shadow',
          share: 0,
          started_at: at,
          updated_at: at,
        })
        .execute();
      await appendEvent(tx, definition.id, {
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

  /**
   * Changes the mode if it is still `expected` (mode and share): a compare-and-set in one transaction, so of
   * several replicas deciding the same change at once exactly one succeeds and appends the event; the others
   * get ModeChangedError. This is what makes one guardrail decision per experiment however many replicas run.
   */
  async setMode(
    id: string,
    expected: { mode: ExperimentMode; share: number },
    event: Omit<ExperimentEvent, 'fromMode'>,
  ): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable('experiments')
        .set({ mode: event.toMode, share: event.share, updated_at: event.at })
        .where('id', '=', id)
        .where('mode', '=', expected.mode)
        .where('share', '=', expected.share)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) {
        const now = await tx
          .selectFrom('experiments')
          .select(['mode', 'share'])
          .where('id', '=', id)
          .executeTakeFirst();
        if (!now) throw new Error(`no experiment ${id}`);
        throw new ModeChangedError(
          `experiment ${id} is ${now.mode} at ${now.share}, no longer ${expected.mode} at ${expected.share}: changed meanwhile`,
        );
      }
      await appendEvent(tx, id, { ...event, fromMode: expected.mode });
    });
  }

  async events(id: string): Promise<ExperimentEvent[]> {
    return this.db
      .selectFrom('experiment_events')
      .select(['at', 'action', 'from_mode as fromMode', 'to_mode as toMode', 'share', 'reason', 'actor'])
      .where('experiment_id', '=', id)
      .orderBy('seq')
      .execute();
  }

  /** Stores the first assignment seen for each unit; later calls keep the original row (the audit record). */
  async recordAssignments(id: string, rows: readonly (AssignmentRow & { repId: string })[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('assignments')
        .values(
          dedupe(rows, (r) => r.unitId).map((r) => ({
            experiment_id: id,
            unit_id: r.unitId,
            arm: r.arm,
            bucket: r.bucket,
            share: r.share,
            first_seen_at: r.firstSeenAt,
          })),
        )
        .onConflict((oc) => oc.columns(['experiment_id', 'unit_id']).doNothing())
        .execute();
      await tx
        .insertInto('rep_units')
        .values(
          dedupe(rows, (r) => r.repId).map((r) => ({
            experiment_id: id,
            rep_id: r.repId,
            unit_id: r.unitId,
          })),
        )
        .onConflict((oc) => oc.columns(['experiment_id', 'rep_id']).doNothing())
        .execute();
    });
  }

  async assignments(id: string): Promise<AssignmentRow[]> {
    return this.db
      .selectFrom('assignments')
      .select(['unit_id as unitId', 'arm', 'bucket', 'share', 'first_seen_at as firstSeenAt'])
      .where('experiment_id', '=', id)
      .orderBy('unit_id')
      .execute();
  }

  async repUnits(id: string): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('rep_units')
      .select(['rep_id as repId', 'unit_id as unitId'])
      .where('experiment_id', '=', id)
      .execute();
    return new Map(rows.map((r) => [r.repId, r.unitId]));
  }

  /** Writes queued exposures of one experiment in one transaction (the service batches the worklist's calls). */
  async recordExposures(id: string, exposures: readonly ExposureWrite[]): Promise<void> {
    if (exposures.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      for (const e of exposures) {
        const leads = [...new Set(e.leadIds)];
        if (leads.length > 0)
          await tx
            .insertInto('lead_exposures')
            .values(
              leads.map((leadId) => ({
                experiment_id: id,
                lead_id: leadId,
                rep_id: e.repId,
                unit_id: e.unitId,
                arm: e.arm,
                share: e.share,
                first_at: e.at,
                last_at: e.at,
                times: 1,
              })),
            )
            .onConflict((oc) =>
              oc.columns(['experiment_id', 'lead_id']).doUpdateSet((eb) => ({
                last_at: eb.ref('excluded.last_at'),
                times: sql<number>`lead_exposures.times + 1`,
              })),
            )
            .execute();
        await tx
          .insertInto('unit_exposures')
          .values({
            experiment_id: id,
            unit_id: e.unitId,
            arm: e.arm,
            share: e.share,
            first_at: e.at,
            leads: e.leadIds.length,
            fallback_leads: e.fallbackLeads,
          })
          .onConflict((oc) =>
            oc.columns(['experiment_id', 'unit_id', 'arm']).doUpdateSet({
              leads: sql<number>`unit_exposures.leads + excluded.leads`,
              fallback_leads: sql<number>`unit_exposures.fallback_leads + excluded.fallback_leads`,
            }),
          )
          .execute();
      }
    });
  }

  async leadExposures(id: string): Promise<LeadExposureRow[]> {
    return this.db
      .selectFrom('lead_exposures')
      .select([
        'lead_id as leadId',
        'rep_id as repId',
        'unit_id as unitId',
        'arm',
        'share',
        'first_at as firstAt',
      ])
      .where('experiment_id', '=', id)
      .execute();
  }

  async unitExposures(id: string): Promise<UnitExposureRow[]> {
    return (
      await this.db
        .selectFrom('unit_exposures')
        .select([
          'unit_id as unitId',
          'arm',
          'leads',
          'fallback_leads as fallbackLeads',
          'first_at as firstAt',
          'share',
        ])
        .where('experiment_id', '=', id)
        .execute()
    ).map((r) => ({ ...r, leads: Number(r.leads), fallbackLeads: Number(r.fallbackLeads) }));
  }

  async upsertOutcomes(id: string, rows: readonly OutcomeRow[]): Promise<void> {
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      await this.db
        .insertInto('outcomes')
        .values(
          dedupe(chunk, (r) => r.leadId).map((r) => ({
            experiment_id: id,
            lead_id: r.leadId,
            owner_id: r.ownerId,
            created_at: r.createdAt,
            converted: r.converted ? 1 : 0,
            converted_at: r.convertedAt,
            first_touch_at: r.firstTouchAt,
            amount: r.amount,
            region: r.segments.region,
            lead_source: r.segments.lead_source,
            industry: r.segments.industry,
            company_size: r.segments.company_size,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['experiment_id', 'lead_id']).doUpdateSet((eb) => ({
            owner_id: eb.ref('excluded.owner_id'),
            created_at: eb.ref('excluded.created_at'),
            converted: eb.ref('excluded.converted'),
            converted_at: eb.ref('excluded.converted_at'),
            first_touch_at: eb.ref('excluded.first_touch_at'),
            amount: eb.ref('excluded.amount'),
            region: eb.ref('excluded.region'),
            lead_source: eb.ref('excluded.lead_source'),
            industry: eb.ref('excluded.industry'),
            company_size: eb.ref('excluded.company_size'),
          })),
        )
        .execute();
    }
  }

  async outcomes(id: string): Promise<OutcomeRow[]> {
    const rows = await this.db.selectFrom('outcomes').selectAll().where('experiment_id', '=', id).execute();
    return rows.map((r) => ({
      leadId: r.lead_id,
      ownerId: r.owner_id,
      createdAt: r.created_at,
      converted: Number(r.converted) === 1,
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

  async setPrePeriod(id: string, rows: readonly PrePeriodRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = dedupe(rows.slice(i, i + 500), (r) => r.unitId);
      await this.db
        .insertInto('pre_period')
        .values(
          chunk.map((r) => ({
            experiment_id: id,
            unit_id: r.unitId,
            leads: r.leads,
            conversions: r.conversions,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['experiment_id', 'unit_id']).doUpdateSet((eb) => ({
            leads: eb.ref('excluded.leads'),
            conversions: eb.ref('excluded.conversions'),
          })),
        )
        .execute();
    }
  }

  async prePeriod(id: string): Promise<PrePeriodRow[]> {
    return (
      await this.db
        .selectFrom('pre_period')
        .select(['unit_id as unitId', 'leads', 'conversions'])
        .where('experiment_id', '=', id)
        .execute()
    ).map((r) => ({ unitId: r.unitId, leads: Number(r.leads), conversions: Number(r.conversions) }));
  }
}

/** The last row per key (one multi-row upsert may not name a key twice in PostgreSQL). */
function dedupe<T>(rows: readonly T[], key: (r: T) => string): T[] {
  return [...new Map(rows.map((r) => [key(r), r])).values()];
}

async function appendEvent(tx: Kysely<ExperimentsSchema>, id: string, e: ExperimentEvent): Promise<void> {
  await tx
    .insertInto('experiment_events')
    .values({
      experiment_id: id,
      at: e.at,
      action: e.action,
      from_mode: e.fromMode,
      to_mode: e.toMode,
      share: e.share,
      reason: e.reason,
      actor: e.actor,
    })
    .execute();
}

function toState(row: ExperimentsSchema['experiments']): ExperimentState {
  return {
    id: row.id,
    definition: JSON.parse(row.definition) as ExperimentDefinition,
    mode: row.mode,
    share: row.share,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  };
}
