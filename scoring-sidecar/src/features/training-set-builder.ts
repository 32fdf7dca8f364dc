// Point-in-time training sets from CRM history: leads, their Status history and conversions from Salesforce
// (a real org or the simulator, through the same client), engagement events and the daily extracts.
// Every feature value comes from `snapshotsOf` — the same definitions the online path computes. The target
// (outcome, time axis, horizon, schedule) is the spec's configuration (features/target.ts); events are optional.
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import type jsforce from 'jsforce';
import {
  DAY_MS,
  erpExtractRowSchema,
  EVENT_TYPES,
  LEAD_PROFILE_FIELDS,
  leadProfileFromRow,
  marketingExtractRowSchema,
  parseContextRow,
  parseSalesforceDateTime,
  type ContextDeclarations,
  type ContextRow,
  type ErpExtractRow,
  type EventType,
  type LeadProfile,
  type MarketingExtractRow,
} from '../inputs/index.js';
import { bulkQuery } from '../salesforce/index.js';
import type { FeatureDefinition } from './definitions.js';
import { contextDeclarations } from './interpreter.js';
import { ACTIVE_SPEC } from './lead-features.js';
import { customFieldsRead, objectFieldsRead, type ActiveSpec } from './servability.js';
import { buildFeatureSpec, CategoryCounter, encodeFeatures } from './feature-spec.js';
import { snapshotsOf, type LeadFieldChange, type LeadHistory } from './point-in-time.js';
import { DEFAULT_TARGET, trainingTarget, type OutcomeField, type SnapshotSchedule } from './target.js';
import { writeTrainingSet, type FeatureSpec, type TrainingRow } from './training-set-file.js';

export interface SnapshotDesign {
  /** Label: converted to an opportunity within this many days after the snapshot. */
  horizonDays: number;
  /** First snapshot this long after creation, then one every `intervalDays` while the lead is open. */
  firstAfterDays: number;
  intervalDays: number;
  /** At most this many snapshots per lead (none: every one while it is open and its label is known). */
  maxSnapshots?: number;
}

export const DEFAULT_SNAPSHOT_DESIGN: SnapshotDesign = {
  horizonDays: DEFAULT_TARGET.horizonDays,
  ...DEFAULT_TARGET.schedule,
};

export interface TrainingSetSources {
  conn: jsforce.Connection;
  /** Engagement events, NDJSON (optionally gzip); none = no events (a spec reading none needs none). */
  eventsFile?: string;
  /**
   * Folder with `erp/*.csv[.gz]` and `marketing/*.csv[.gz]` daily extracts, and `context/*.csv[.gz]` dated
   * context rows when the spec declares contexts.
   */
  extractsDir?: string;
  /** Extra SOQL condition on Lead, e.g. a region or a source. */
  leadFilter?: string;
}

/**
 * A lead's life as the builder sees it: when it stopped being open and whether and when the outcome happened
 * (converted, or the custom outcome field became positive).
 */
export interface LeadOutcome {
  closedAtMs: number | null;
  convertedAtMs: number | null;
}

/**
 * Snapshot instants of one lead, counted from `startMs` (its time axis, CreatedDate by default): strictly while
 * it is open (before it closed or the outcome happened), at most `maxSnapshots`, and only where the whole horizon
 * has elapsed by `dataEndMs` (a younger snapshot's label is not known yet; counting it as negative would bias
 * toward old leads).
 */
export function snapshotInstants(
  startMs: number,
  outcome: LeadOutcome,
  dataEndMs: number,
  design: SnapshotDesign,
): number[] {
  const instants: number[] = [];
  const lastLabelled = dataEndMs - design.horizonDays * DAY_MS;
  for (
    let t = startMs + design.firstAfterDays * DAY_MS;
    t <= lastLabelled;
    t += design.intervalDays * DAY_MS
  ) {
    if (outcome.closedAtMs !== null && t >= outcome.closedAtMs) break;
    if (design.maxSnapshots !== undefined && instants.length >= design.maxSnapshots) break;
    instants.push(t);
  }
  return instants;
}

function scheduleOf({ horizonDays: _, ...schedule }: SnapshotDesign): SnapshotSchedule {
  return schedule;
}

export function labelAt(outcome: LeadOutcome, t: number, horizonDays: number): 0 | 1 {
  const c = outcome.convertedAtMs;
  return c !== null && c > t && c <= t + horizonDays * DAY_MS ? 1 : 0;
}

function companySizeBand(employees: number | null): string | null {
  if (employees === null) return null;
  if (employees < 50) return '1-49';
  if (employees < 200) return '50-199';
  if (employees < 1000) return '200-999';
  return '1000+';
}

async function* ndjsonLines(file: string): AsyncGenerator<{ line: string; lineNo: number }> {
  const input = createReadStream(file);
  const lines = createInterface({
    input: file.endsWith('.gz') ? input.pipe(createGunzip()) : input,
    crlfDelay: Infinity,
  });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim()) yield { line, lineNo };
  }
}

const EVENT_TYPE_SET = new Set<string>(EVENT_TYPES);

/** Events grouped by lead as compact (type, time) pairs; bad lines fail naming file and line. */
export async function readEventsByLead(
  file: string,
): Promise<Map<string, { type: EventType; occurredAtMs: number }[]>> {
  const byLead = new Map<string, { type: EventType; occurredAtMs: number }[]>();
  for await (const { line, lineNo } of ndjsonLines(file)) {
    let e: { leadId?: unknown; type?: unknown; occurredAt?: unknown };
    try {
      e = JSON.parse(line);
    } catch (error) {
      throw new Error(`${file}:${lineNo}: not JSON: ${(error as Error).message}`);
    }
    const occurredAtMs = typeof e.occurredAt === 'string' ? Date.parse(e.occurredAt) : NaN;
    if (typeof e.leadId !== 'string' || !EVENT_TYPE_SET.has(String(e.type)) || Number.isNaN(occurredAtMs)) {
      throw new Error(`${file}:${lineNo}: an event needs leadId, a known type and an ISO occurredAt`);
    }
    let list = byLead.get(e.leadId);
    if (!list) byLead.set(e.leadId, (list = []));
    list.push({ type: e.type as EventType, occurredAtMs });
  }
  return byLead;
}

/** The CSV files of an extract folder (`.csv`, `.csv.gz`), in name order; none when the folder is missing. */
async function csvFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[]))
    .filter((f) => /\.csv(\.gz)?$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** A CSV file's bytes, gunzipped when its name ends in `.gz`. */
function openCsv(file: string): NodeJS.ReadableStream {
  const input = createReadStream(file);
  return file.endsWith('.gz') ? input.pipe(createGunzip()) : input;
}
/** Every row of a folder of daily extract files (dated file names, oldest first), grouped by key. */
export async function readExtractFolder<Row>(
  dir: string,
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: Row }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  keyOf: (row: Row) => string,
): Promise<Map<string, Row[]>> {
  const byKey = new Map<string, Row[]>();
  for (const file of await csvFilesIn(dir)) {
    const rows = openCsv(file).pipe(parse({ columns: true }));
    let lineNo = 1;
    for await (const raw of rows) {
      lineNo++;
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new Error(`${file}:${lineNo}: ${issue.path.join('.')}: ${issue.message}`);
      }
      const key = keyOf(parsed.data);
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push(parsed.data);
    }
  }
  return byKey;
}

/**
 * Every context row of a folder (files in name order; a later file's row for the same context, key and date
 * replaces an earlier one), checked against the spec's declared contexts; a bad row fails naming file, line and
 * column.
 */
export async function readContextFolder(dir: string, declared: ContextDeclarations): Promise<ContextRow[]> {
  const out: ContextRow[] = [];
  for (const file of await csvFilesIn(dir)) {
    const rows = openCsv(file).pipe(
      parse({ columns: true, bom: true, trim: true, skip_empty_lines: true, info: true }),
    );
    try {
      for await (const { record, info } of rows as AsyncIterable<{
        record: Record<string, string>;
        info: { lines: number };
      }>) {
        const parsed = parseContextRow(record, declared);
        if (!parsed.ok) throw new Error(`${file}:${info.lines}: ${parsed.field}: ${parsed.message}`);
        out.push(parsed.row);
      }
    } catch (error) {
      const e = error as { code?: string; lines?: number; message: string };
      if (e.code?.startsWith('CSV_')) throw new Error(`${file}:${e.lines ?? '?'}: malformed CSV (${e.code})`);
      throw error;
    }
  }
  return out;
}

export interface BuildResult {
  spec: FeatureSpec;
  leads: number;
  snapshots: number;
  positives: number;
  /** Leads without a labelled snapshot (too young, closed at once, no time-axis value, undated positive). */
  skippedLeads: number;
  /**
   * Of those, leads whose custom outcome is positive with no date (`positiveAtField` empty, or without one no
   * history row saying when it became positive): their label time is unknown.
   */
  undatedPositives: number;
}

/**
 * Builds the training set into `outDir`. `ceiling`, for simulated data only, adds the Bayes-optimal probability
 * of each snapshot as an evaluation column.
 */
export async function buildTrainingSet(
  sources: TrainingSetSources,
  outDir: string,
  opts: {
    dataEnd: Date;
    design?: SnapshotDesign;
    name?: string;
    /** Definitions to compute (tests); default the active spec's, recorded with its content. */
    features?: readonly FeatureDefinition[];
    /** The spec the features come from (default the active spec); recorded in feature-spec.json. */
    spec?: ActiveSpec;
    /** Only for the "converted" outcome (the generator's ground truth knows no other). */
    ceiling?: (
      leadId: string,
      events: readonly { type: EventType; occurredAtMs: number }[],
      t: number,
      horizonDays: number,
    ) => number | null;
    onProgress?: (done: number) => void;
  },
): Promise<BuildResult> {
  const active = opts.spec ?? ACTIVE_SPEC;
  // The target is configuration: the spec's outcome, time axis, schedule and horizon (features/target.ts), else
  // the defaults ("converted", CreatedDate, 1 / 7 / 30 days).
  const target = trainingTarget(active.source.config);
  if (target.builder !== 'snapshots')
    throw new Error(
      `spec ${active.source.config.name} has a record target (one snapshot per record): build it with recordTrainingSet`,
    );
  const design: SnapshotDesign = opts.design ?? { horizonDays: target.horizonDays, ...target.schedule };
  const outcomeField = target.outcome === 'converted' ? null : target.outcome;
  if (outcomeField && opts.ceiling)
    throw new Error('the Bayes ceiling (ground truth) is known only for the "converted" outcome');
  const features = opts.features ?? active.definitions;
  // Recorded only when the features are the spec's own (definitions passed by hand have no spec content).
  const source = opts.features === undefined ? active.source : undefined;
  const dataEndMs = opts.dataEnd.getTime();
  // The spec's fields beyond the fixed profile, read into the profile's custom bag as sync stores them.
  const custom = customFieldsRead(active.source.config);
  const { conn } = sources;
  const filter = sources.leadFilter ? ` WHERE ${sources.leadFilter}` : '';

  const conversionAt = new Map<string, number>();
  for await (const o of bulkQuery(conn, 'SELECT Id, CreatedDate FROM Opportunity')) {
    conversionAt.set(o.Id!, parseSalesforceDateTime(o.CreatedDate!));
  }
  // Field history (LeadHistory) of every field the profile holds: Status says when a lead closed, and each
  // tracked field's changes let a snapshot see the value it had then, not the value it has now.
  const closedAt = new Map<string, number>();
  const fieldHistory = new Map<string, FieldHistoryRow[]>();
  // The fields whose history a snapshot applies: the profile fields the spec's features read and the ones segments
  // are cut by, and its custom fields (a change to any other field, such as Status, changes no vector: it is
  // skipped, so that most leads need one parse). A custom outcome without a date field is dated by its history.
  const readFields = new Set(objectFieldsRead(active.source.config));
  const tracked = new Set([
    ...HISTORY_FIELDS.filter((f) => readFields.has(f) || SEGMENT_FIELDS.includes(f)),
    ...custom,
  ]);
  const outcomeHistory = outcomeField && !outcomeField.positiveAtField ? outcomeField.field : null;
  const historyFields = [...new Set(['Status', ...tracked, ...(outcomeHistory ? [outcomeHistory] : [])])];
  for await (const h of bulkQuery(
    conn,
    `SELECT LeadId, Field, OldValue, NewValue, CreatedDate FROM LeadHistory WHERE Field IN (${historyFields
      .map((f) => `'${f}'`)
      .join(', ')})`,
  )) {
    const at = parseSalesforceDateTime(h.CreatedDate!);
    if (h.Field === 'Status' && h.NewValue?.startsWith('Closed')) {
      const seen = closedAt.get(h.LeadId!);
      if (seen === undefined || at < seen) closedAt.set(h.LeadId!, at);
    }
    const rows = fieldHistory.get(h.LeadId!) ?? [];
    rows.push({ field: h.Field!, oldValue: h.OldValue ?? null, newValue: h.NewValue ?? null, atMs: at });
    fieldHistory.set(h.LeadId!, rows);
  }
  const erpNumberOfAccount = new Map<string, string>();
  for await (const a of bulkQuery(
    conn,
    'SELECT Id, ERP_Account_Number__c FROM Account WHERE ERP_Account_Number__c != null',
  )) {
    erpNumberOfAccount.set(a.Id!, a.ERP_Account_Number__c!);
  }
  const events = sources.eventsFile
    ? await readEventsByLead(sources.eventsFile)
    : new Map<string, { type: EventType; occurredAtMs: number }[]>();
  const erpRows = sources.extractsDir
    ? await readExtractFolder<ErpExtractRow>(
        join(sources.extractsDir, 'erp'),
        erpExtractRowSchema,
        (r) => r.erp_account_number,
      )
    : new Map<string, ErpExtractRow[]>();
  const marketingRows = sources.extractsDir
    ? await readExtractFolder<MarketingExtractRow>(
        join(sources.extractsDir, 'marketing'),
        marketingExtractRowSchema,
        (r) => r.lead_id,
      )
    : new Map<string, MarketingExtractRow[]>();
  // Context rows are shared by every lead (one array: snapshotsOf builds its table once).
  const declared = contextDeclarations(active.source.config);
  const contextRows =
    sources.extractsDir && Object.keys(declared).length > 0
      ? await readContextFolder(join(sources.extractsDir, 'context'), declared)
      : [];

  // Pass 1: the leads with at least one labelled snapshot, and the category lists. Only the categorical
  // features are computed here (cheap); full vectors are computed once, in pass 2, and streamed to disk, so
  // memory holds the inputs but never the training set.
  const categorical = features.filter((f) => f.kind === 'categorical');
  const categories = new CategoryCounter(categorical);
  const pending: { history: LeadHistory; outcome: LeadOutcome; instants: number[] }[] = [];
  let leads = 0;
  let skippedLeads = 0;
  let undatedPositives = 0;
  const selected = [...LEAD_PROFILE_FIELDS, ...custom, 'ConvertedOpportunityId', 'ConvertedDate'];
  const targetFields = [
    target.timeField,
    ...(outcomeField ? [outcomeField.field, outcomeField.positiveAtField ?? outcomeField.field] : []),
  ];
  for (const f of targetFields) if (!selected.includes(f)) selected.push(f);
  for await (const row of bulkQuery(conn, `SELECT ${selected.join(', ')} FROM Lead${filter}`)) {
    const { lead, fieldChanges } = profileHistoryOf(row, custom, tracked, fieldHistory.get(row.Id!) ?? []);
    const axis = row[target.timeField];
    const startMs = axis ? parseSalesforceDateTime(axis) : NaN;
    leads++;
    const opportunityAt = row.ConvertedOpportunityId
      ? conversionAt.get(row.ConvertedOpportunityId)
      : undefined;
    const convertedAtMs =
      opportunityAt ?? (row.ConvertedDate ? Date.parse(`${row.ConvertedDate}T00:00:00Z`) : null);
    let outcome: LeadOutcome = { convertedAtMs, closedAtMs: closedAt.get(lead.Id) ?? convertedAtMs };
    if (outcomeField) {
      // A custom outcome: positive now, and when it became so. The lead is open until it closed (LeadHistory,
      // conversion) or the outcome happened, whichever came first: no snapshot is taken once it is known.
      const positive = outcomeField.positive.includes(row[outcomeField.field] ?? '');
      const positiveAtMs = !positive
        ? null
        : outcomeField.positiveAtField
          ? row[outcomeField.positiveAtField]
            ? parseSalesforceDateTime(row[outcomeField.positiveAtField]!)
            : NaN
          : becamePositiveAt(fieldHistory.get(row.Id!) ?? [], outcomeField);
      if (positiveAtMs !== null && !Number.isFinite(positiveAtMs)) {
        undatedPositives++;
        skippedLeads++;
        continue;
      }
      const closed = outcome.closedAtMs;
      outcome = {
        convertedAtMs: positiveAtMs,
        closedAtMs:
          closed === null ? positiveAtMs : positiveAtMs === null ? closed : Math.min(closed, positiveAtMs),
      };
    }
    const instants = Number.isFinite(startMs) ? snapshotInstants(startMs, outcome, dataEndMs, design) : [];
    if (instants.length === 0) {
      skippedLeads++;
      continue;
    }
    const erpNumber = lead.Matched_Account__c ? erpNumberOfAccount.get(lead.Matched_Account__c) : undefined;
    const history: LeadHistory = {
      lead,
      fieldChanges,
      events: events.get(lead.Id) ?? [],
      erpRows: erpNumber ? (erpRows.get(erpNumber) ?? []) : [],
      marketingRows: marketingRows.get(lead.Id) ?? [],
      contextRows,
    };
    for (const snap of snapshotsOf(categorical, history, instants)) categories.add(snap.values);
    pending.push({ history, outcome, instants });
  }

  // Categories are fixed from what training saw; the spec carries them to serving.
  const spec = buildFeatureSpec(
    opts.name ?? active.source.config.name,
    features,
    (f) => categories.categories(f),
    design.horizonDays,
    source,
    opts.design ? { ...target, horizonDays: design.horizonDays, schedule: scheduleOf(design) } : target,
  );
  let snapshots = 0;
  let positives = 0;
  const rows = function* (): Generator<TrainingRow> {
    for (let i = 0; i < pending.length; i++) {
      const { history, outcome, instants } = pending[i]!;
      const { lead } = history;
      const segments = {
        region: lead.Data_Region__c,
        leadSource: lead.LeadSource,
        industry: lead.Industry,
        companySize: companySizeBand(lead.NumberOfEmployees),
      };
      for (const snap of snapshotsOf(features, history, instants)) {
        const label = labelAt(outcome, snap.asOfMs, design.horizonDays);
        snapshots++;
        positives += label;
        yield {
          leadId: lead.Id,
          snapshotAt: new Date(snap.asOfMs),
          label,
          segments,
          values: encodeFeatures(spec, snap.values),
          ceilingScore: opts.ceiling
            ? opts.ceiling(lead.Id, history.events, snap.asOfMs, design.horizonDays)
            : null,
        };
      }
      pending[i] = undefined as never; // done with this lead's inputs
      opts.onProgress?.(i + 1);
    }
  };
  await writeTrainingSet(outDir, spec, rows(), { withCeiling: opts.ceiling !== undefined });
  return { spec, leads, snapshots, positives, skippedLeads, undatedPositives };
}

/** Fields the snapshot builder cuts segments by (region, lead source, industry, company size). */
const SEGMENT_FIELDS: readonly string[] = ['Data_Region__c', 'LeadSource', 'Industry', 'NumberOfEmployees'];

/** The profile fields whose history a training set may read (Id and CreatedDate never change). */
const HISTORY_FIELDS: readonly string[] = LEAD_PROFILE_FIELDS.filter(
  (f) => f !== 'Id' && f !== 'CreatedDate',
);

interface FieldHistoryRow {
  field: string;
  oldValue: string | null;
  newValue: string | null;
  atMs: number;
}

/**
 * A lead's profile as it was created, and its tracked fields' changes since, from its Bulk row (the values now)
 * and its LeadHistory rows: a field's value before its first change is that change's OldValue. Every state is
 * parsed by the one row parser (leadProfileFromRow), so a value reads the same as when sync reads it; a change
 * of a custom field replaces the whole `custom` bag (profiles copied per snapshot share nothing mutable).
 * A field without history is read as the record holds it now.
 */
function profileHistoryOf(
  row: Readonly<Record<string, string | null | undefined>>,
  custom: readonly string[],
  tracked: ReadonlySet<string>,
  history: readonly FieldHistoryRow[],
): Pick<LeadHistory, 'lead' | 'fieldChanges'> {
  const customSet = new Set(custom);
  // Only the tracked fields (the history read also holds Status and a custom outcome's own changes).
  const changes = history.filter((h) => tracked.has(h.field)).sort((a, b) => a.atMs - b.atMs);
  if (changes.length === 0) return { lead: leadProfileFromRow(row, custom), fieldChanges: [] };
  const state: Record<string, string | null | undefined> = { ...row };
  const seen = new Set<string>();
  for (const c of changes) {
    if (seen.has(c.field)) continue;
    seen.add(c.field);
    state[c.field] = c.oldValue;
  }
  const lead = leadProfileFromRow(state, custom);
  const fieldChanges: LeadFieldChange[] = [];
  for (const c of changes) {
    state[c.field] = c.newValue;
    const now = leadProfileFromRow(state, custom);
    if (customSet.has(c.field))
      fieldChanges.push({ field: 'custom', value: now.custom, changedAtMs: c.atMs });
    else {
      const field = c.field as keyof LeadProfile;
      fieldChanges.push({ field, value: now[field], changedAtMs: c.atMs });
    }
  }
  return { lead, fieldChanges };
}

/** When a custom outcome field first changed to a positive value, from its history; NaN when none says. */
function becamePositiveAt(history: readonly FieldHistoryRow[], outcome: OutcomeField): number {
  let at = NaN;
  for (const h of history)
    if (h.field === outcome.field && outcome.positive.includes(h.newValue ?? '') && !(h.atMs >= at))
      at = h.atMs;
  return at;
}
