// Training sets from an org: the snapshot design, labels and the horizon rule, checked against the
// generator's ground truth (which the builder never reads for features or labels); the target as the spec's
// configuration: the defaults unchanged byte for byte, a schedule, a time axis and a custom outcome field.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOM_FIELDS_METADATA_DIR, readNdjsonGz } from '@leadrank/crm-generator';
import {
  snapshotLabel,
  standardSnapshotTimes,
  type LeadGroundTruth,
} from '@leadrank/crm-generator/ground-truth';
import type { RunningOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import { buildFromOrg } from '../src/commands/build-training-set.js';
import {
  activeSpecFrom,
  buildTrainingSet,
  LEAD_SPEC_FILE,
  parseFeatureConfig,
  type BuildResult,
} from '../src/features/index.js';
import { labelAt, snapshotInstants, DEFAULT_SNAPSHOT_DESIGN } from '../src/features/training-set-builder.js';
import { connectToOrg } from '../src/salesforce/org-connection.js';
import { queryStore } from './batch-kit.js';
import { startGeneratedOrg, type GeneratedOrg } from './support/generated-org.js';

const DAY = 86_400_000;
const dataEnd = '2026-11-24T00:00:00Z';
const app = { clientId: 'builder-test', clientSecret: 'builder-test-secret' };
/** Two DateTime fields the client's org adds: when a demo was requested, and the first sales touch. */
const targetMetadata = fileURLToPath(new URL('./fixtures/target-metadata', import.meta.url));
let org: GeneratedOrg;
let root: string;
let sim: RunningOrgSimulator;

beforeAll(async () => {
  org = await startGeneratedOrg(
    'leadrank-builder',
    app,
    {
      seed: 11,
      active: 400,
      historical: 1600,
      dataEnd,
      euShare: 0.35,
      historyDays: 540,
      // The client's own Lead fields (crm-generator/src/custom-fields.ts): Demo_Requested__c, Budget_Band__c, …
      customFields: true,
    },
    loadOrgSchema({ extraMetadataDirs: [CUSTOM_FIELDS_METADATA_DIR, targetMetadata] }),
  );
  ({ root, sim } = org);
}, 120_000);
afterAll(async () => {
  await org?.close();
});

describe('the snapshot design', () => {
  const created = Date.parse('2026-01-01T10:00:00Z');
  const end = Date.parse('2026-03-01T00:00:00Z');

  it('leaves out snapshots whose horizon has not elapsed by the end of the data', () => {
    const instants = snapshotInstants(
      created,
      { closedAtMs: null, convertedAtMs: null },
      end,
      DEFAULT_SNAPSHOT_DESIGN,
    );
    expect(instants.length).toBeGreaterThan(0);
    for (const t of instants) expect(t + 30 * DAY).toBeLessThanOrEqual(end);
    // The next instant of the design would have an unknown label.
    expect(instants.at(-1)! + 7 * DAY + 30 * DAY).toBeGreaterThan(end);
  });

  it('stops when the lead closes, and labels conversions inside (t, t + horizon] only', () => {
    const convertedAtMs = created + 20 * DAY;
    const outcome = { closedAtMs: convertedAtMs, convertedAtMs };
    const instants = snapshotInstants(created, outcome, end, DEFAULT_SNAPSHOT_DESIGN);
    expect(instants.every((t) => t < convertedAtMs)).toBe(true);
    expect(instants.map((t) => labelAt(outcome, t, 30))).toEqual(instants.map(() => 1));
    expect(labelAt(outcome, convertedAtMs, 30)).toBe(0);
    expect(labelAt(outcome, convertedAtMs - 31 * DAY, 30)).toBe(0);
  });
});

describe('building from the org simulator', () => {
  it('writes exactly the ground truth’s snapshots and labels, with features computed as of each instant', async () => {
    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const out = join(root, 'training-set');
    const data = join(root, 'data');
    const result = await buildFromOrg(conn, {
      out,
      events: join(data, 'events.ndjson.gz'),
      extracts: join(data, 'extracts'),
      dataEnd: new Date(dataEnd),
      groundTruth: data,
    });

    const expected = new Map<string, number>();
    const endMs = Date.parse(dataEnd);
    for await (const truth of readNdjsonGz<LeadGroundTruth>(join(data, 'ground-truth.ndjson.gz'))) {
      const outcomeAtMs = truth.outcomeAt ? Date.parse(truth.outcomeAt) : null;
      for (const t of standardSnapshotTimes(Date.parse(truth.createdAt), outcomeAtMs, endMs, 30)) {
        expected.set(`${truth.leadId}@${t}`, snapshotLabel(truth.outcome, outcomeAtMs, t, 30) ? 1 : 0);
      }
    }
    expect(result.snapshots).toBe(expected.size);

    const rows = await parquetReadObjects({
      file: await asyncBufferFromFile(join(out, 'training-set.parquet')),
    });
    expect(rows).toHaveLength(expected.size);
    const spec = result.spec;
    const age = spec.features.findIndex((f) => f.name === 'lead_age_days');
    for (const row of rows) {
      const t = Number(row.snapshot_at instanceof Date ? row.snapshot_at.getTime() : row.snapshot_at);
      expect(expected.get(`${row.lead_id}@${t}`)).toBe(row.label);
      expect(row[spec.features[age]!.name]).toBeGreaterThan(0);
      expect(row.ceiling_score).toBeGreaterThan(0);
      expect(row.ceiling_score).toBeLessThan(1);
    }
    expect(result.positives).toBe([...expected.values()].filter((l) => l === 1).length);
  }, 120_000);
});

/** The shipped lead spec with another `training` block (or none): what a client's spec would say. */
function leadSpecWith(training: Record<string, unknown> | null, extraFeatures: unknown[] = []) {
  const config = JSON.parse(readFileSync(LEAD_SPEC_FILE, 'utf8')) as Record<string, unknown>;
  delete config.training;
  delete config.snapshots;
  if (training) config.training = training;
  config.features = [...(config.features as unknown[]), ...extraFeatures];
  return activeSpecFrom(LEAD_SPEC_FILE, parseFeatureConfig(JSON.stringify(config), 'client.json'));
}

async function rowsOf(dir: string): Promise<(Record<string, unknown> & { t: number })[]> {
  const rows: Record<string, unknown>[] = await parquetReadObjects({
    file: await asyncBufferFromFile(join(root, dir, 'training-set.parquet')),
  });
  return rows.map((r) => ({
    ...r,
    t: Number(r.snapshot_at instanceof Date ? r.snapshot_at.getTime() : r.snapshot_at),
  }));
}

/**
 * The snapshots and labels of the "demo requested" target (first snapshot 2 days after the time axis, then every
 * 10, at most 6, horizon 21 days), computed from the generator's ground truth (when each lead closed) and when
 * each lead's demo happened (null: never; NaN: positive without a date, left out and counted as undated).
 */
async function expectedDemoLabels(
  startOf: (leadId: string) => number | null,
  demoAt: ReadonlyMap<string, number | null>,
): Promise<{ expected: Map<string, number>; undated: number }> {
  const endMs = Date.parse(dataEnd);
  const expected = new Map<string, number>();
  let undated = 0;
  for await (const truth of readNdjsonGz<LeadGroundTruth>(join(root, 'data', 'ground-truth.ndjson.gz'))) {
    const demo = demoAt.get(truth.leadId) ?? null;
    if (demo !== null && Number.isNaN(demo)) {
      undated++;
      continue;
    }
    const start = startOf(truth.leadId);
    if (start === null) continue;
    const closedAt = truth.outcomeAt ? Date.parse(truth.outcomeAt) : null;
    const open = (t: number) => (closedAt === null || t < closedAt) && (demo === null || t < demo);
    let n = 0;
    for (let t = start + 2 * DAY; t + 21 * DAY <= endMs && n < 6 && open(t); t += 10 * DAY, n++)
      expected.set(`${truth.leadId}@${t}`, demo !== null && demo > t && demo <= t + 21 * DAY ? 1 : 0);
  }
  return { expected, undated };
}

describe('the target as configuration', () => {
  const build = async (out: string, spec: ReturnType<typeof leadSpecWith>, events = true) => {
    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const data = join(root, 'data');
    return buildTrainingSet(
      {
        conn,
        ...(events ? { eventsFile: join(data, 'events.ndjson.gz') } : {}),
        extractsDir: join(data, 'extracts'),
      },
      join(root, out),
      { dataEnd: new Date(dataEnd), spec },
    );
  };

  it('reproduces the built-in lead-conversion training set byte for byte when the defaults are spelled out', async () => {
    const implicit = await build('implicit', leadSpecWith(null));
    const explicit = await build(
      'explicit',
      leadSpecWith({
        outcome: 'converted',
        timeField: 'CreatedDate',
        horizonDays: 30,
        snapshots: { firstAfterDays: 1, intervalDays: 7 },
      }),
    );
    expect(implicit.snapshots).toBeGreaterThan(1000);
    expect(explicit.snapshots).toBe(implicit.snapshots);
    const parquet = (dir: string) => readFile(join(root, dir, 'training-set.parquet'));
    expect((await parquet('explicit')).equals(await parquet('implicit'))).toBe(true);
    // Same fitted features, same recorded target; only the spec's own content (and so its hash) differs.
    expect(explicit.spec.hash).toBe(implicit.spec.hash);
    expect(explicit.spec.target).toEqual(implicit.spec.target);
    expect(implicit.spec.target).toEqual({
      builder: 'snapshots',
      timeField: 'CreatedDate',
      outcome: 'converted',
      horizonDays: 30,
      schedule: { firstAfterDays: 1, intervalDays: 7 },
    });
    const written = JSON.parse(await readFile(join(root, 'implicit', 'feature-spec.json'), 'utf8'));
    expect(written.target).toEqual(implicit.spec.target);
  }, 120_000);

  it('takes the snapshots the schedule says: first after N days, then every M, at most K', async () => {
    const schedule = { firstAfterDays: 3, intervalDays: 14, maxSnapshots: 2 };
    const result = await build(
      'schedule',
      leadSpecWith({ outcome: 'converted', horizonDays: 45, snapshots: schedule }),
    );
    const data = join(root, 'data');
    const endMs = Date.parse(dataEnd);
    const expected = new Map<string, number>();
    for await (const truth of readNdjsonGz<LeadGroundTruth>(join(data, 'ground-truth.ndjson.gz'))) {
      const outcomeAtMs = truth.outcomeAt ? Date.parse(truth.outcomeAt) : null;
      const created = Date.parse(truth.createdAt);
      let n = 0;
      for (let t = created + 3 * DAY; t + 45 * DAY <= endMs && n < 2; t += 14 * DAY, n++) {
        if (outcomeAtMs !== null && outcomeAtMs <= t) break;
        expected.set(`${truth.leadId}@${t}`, snapshotLabel(truth.outcome, outcomeAtMs, t, 45) ? 1 : 0);
      }
    }
    const rows = await rowsOf('schedule');
    expect(result.snapshots).toBe(expected.size);
    expect(rows).toHaveLength(expected.size);
    for (const row of rows) expect(expected.get(`${row.lead_id}@${row.t}`)).toBe(row.label);
    expect(result.spec.label.horizonDays).toBe(45);
    expect(result.spec.target).toMatchObject({ horizonDays: 45, schedule });
    // Fewer, sparser snapshots than the default design's.
    const defaults = await rowsOf('implicit');
    expect(rows.length).toBeLessThan(defaults.length / 2);
  }, 120_000);

  it('dates a custom outcome from its field history when the spec names no date field', async () => {
    // Demo_Requested__c with no date field: LeadHistory says when it turned true, for most of the leads that hold
    // it now; the others have no such row, so their label time is unknown and they are left out.
    const leads = queryStore(sim, 'SELECT Id, CreatedDate, Demo_Requested__c FROM Lead');
    const demoAt = new Map<string, number | null>();
    const createdAt = new Map<string, number>();
    const rows: Record<string, unknown>[] = [];
    leads.forEach((l, i) => {
      const created = Date.parse(String(l.CreatedDate).replace(/\+0000$/, 'Z'));
      createdAt.set(String(l.Id), created);
      const demo = l.Demo_Requested__c !== true ? null : i % 8 === 0 ? NaN : created + ((i * 37) % 90) * DAY;
      demoAt.set(String(l.Id), demo);
      if (demo !== null && !Number.isNaN(demo))
        rows.push({
          Id: `017DEMO${String(i).padStart(8, '0')}`,
          LeadId: l.Id,
          Field: 'Demo_Requested__c',
          DataType: 'Boolean',
          OldValue: 'false',
          NewValue: 'true',
          CreatedDate: new Date(demo).toISOString(),
        });
    });
    const saved = sim.ctx.store.insert('LeadHistory', rows as never, { keepIds: true });
    expect(saved.filter((r) => !r.success)).toEqual([]);

    const schedule = { firstAfterDays: 2, intervalDays: 10, maxSnapshots: 6 };
    const spec = leadSpecWith({
      outcome: { field: 'Demo_Requested__c', positive: ['true'] },
      horizonDays: 21,
      snapshots: schedule,
    });
    const result: BuildResult = await build('outcome-history', spec, false);

    // Expected, independently: CreatedDate as the time axis, the ground truth's close, the demo's history.
    const { expected, undated } = await expectedDemoLabels((id) => createdAt.get(id) ?? null, demoAt);
    expect(result.undatedPositives).toBe(undated);
    expect(undated).toBeGreaterThan(0);
    const built = await rowsOf('outcome-history');
    expect(built).toHaveLength(expected.size);
    expect(result.positives).toBe([...expected.values()].filter((l) => l === 1).length);
    expect(result.positives).toBeGreaterThan(20);
    for (const row of built) expect(expected.get(`${row.lead_id}@${row.t}`)).toBe(row.label);
  }, 120_000);

  it('reads a tracked field as it was at each snapshot (LeadHistory), never as the record holds it now', async () => {
    // Open leads old enough for five weekly snapshots: their Budget_Band__c is 'Over 250k' now, and
    // their field history says it was 'Under 10k' until 15.5 days after creation (between the snapshots at 15
    // and 22 days). Every snapshot before the change must see 'Under 10k', every later one 'Over 250k'.
    const endMs = Date.parse(dataEnd);
    const leads = queryStore(sim, 'SELECT Id, CreatedDate, Status, IsConverted FROM Lead')
      .filter((l) => l.IsConverted !== true && !String(l.Status).startsWith('Closed'))
      .map((l) => ({ id: String(l.Id), created: Date.parse(String(l.CreatedDate).replace(/\+0000$/, 'Z')) }))
      .filter((l) => l.created < endMs - 60 * DAY)
      .slice(0, 20);
    expect(leads.length).toBeGreaterThanOrEqual(10);
    const changedAt = new Map(leads.map((l) => [l.id, l.created + 15.5 * DAY]));
    const saved = sim.ctx.store.update(
      'Lead',
      leads.map((l) => ({ Id: l.id, Budget_Band__c: 'Over 250k' })) as never,
      { system: true },
    );
    expect(saved.filter((r) => !r.success)).toEqual([]);
    const history = sim.ctx.store.insert(
      'LeadHistory',
      leads.map((l, i) => ({
        Id: `017TEST${String(i).padStart(8, '0')}`,
        LeadId: l.id,
        Field: 'Budget_Band__c',
        DataType: 'Text',
        OldValue: 'Under 10k',
        NewValue: 'Over 250k',
        CreatedDate: new Date(changedAt.get(l.id)!).toISOString(),
      })) as never,
      { keepIds: true },
    );
    expect(history.filter((r) => !r.success)).toEqual([]);

    const spec = leadSpecWith(null, [
      {
        name: 'budget_band',
        description: "the lead's stated budget band",
        source: { field: 'Budget_Band__c' },
        transform: { kind: 'categorical', minCount: 1 },
      },
    ]);
    const result = await build('tracked', spec);
    const entry = result.spec.features.find((f) => f.name === 'budget_band')!;
    const code = (band: string) => entry.categories!.indexOf(band);
    const rows = (await rowsOf('tracked')).filter((r) => changedAt.has(String(r.lead_id)));
    let before = 0;
    let after = 0;
    for (const row of rows) {
      const at = changedAt.get(String(row.lead_id))!;
      if (row.t < at) before++;
      else after++;
      expect(row.budget_band, `${String(row.lead_id)} at ${new Date(row.t).toISOString()}`).toBe(
        code(row.t < at ? 'Under 10k' : 'Over 250k'),
      );
    }
    expect(before).toBeGreaterThanOrEqual(leads.length * 3); // snapshots at 1, 8 and 15 days
    expect(after).toBeGreaterThanOrEqual(leads.length); // and at 22 days at least
  }, 120_000);

  it('labels a custom outcome field "became positive within the horizon", from its own time axis, never after the outcome', async () => {
    // The client's fields: Demo_Requested__c (generated) and when it happened; the first sales touch as the
    // time axis. Some requested demos carry no date: their label time is unknown, so the lead is left out.
    const leads = queryStore(sim, 'SELECT Id, CreatedDate, Demo_Requested__c FROM Lead');
    const demoAt = new Map<string, number | null>();
    const touchAt = new Map<string, number | null>();
    const updates = leads.map((l, i) => {
      const created = Date.parse(String(l.CreatedDate).replace(/\+0000$/, 'Z'));
      const touch = i % 50 === 0 ? null : created + 3 * DAY + (i % 24) * 3_600_000;
      const demo = l.Demo_Requested__c !== true ? null : i % 8 === 0 ? NaN : created + ((i * 37) % 90) * DAY;
      demoAt.set(String(l.Id), demo);
      touchAt.set(String(l.Id), touch);
      return {
        Id: l.Id,
        First_Touch_At__c: touch === null ? null : new Date(touch).toISOString(),
        Demo_Requested_At__c: demo === null || Number.isNaN(demo) ? null : new Date(demo).toISOString(),
      };
    });
    const saved = sim.ctx.store.update('Lead', updates as never, { system: true });
    expect(saved.filter((r) => !r.success)).toEqual([]);

    const schedule = { firstAfterDays: 2, intervalDays: 10, maxSnapshots: 6 };
    const spec = leadSpecWith(
      {
        outcome: {
          field: 'Demo_Requested__c',
          positive: ['true'],
          positiveAtField: 'Demo_Requested_At__c',
        },
        timeField: 'First_Touch_At__c',
        horizonDays: 21,
        snapshots: schedule,
      },
      [
        {
          name: 'budget_band',
          description: "the lead's stated budget band",
          source: { field: 'Budget_Band__c' },
          transform: { kind: 'categorical', minCount: 1 },
        },
      ],
    );
    const result: BuildResult = await build('custom', spec, false); // no events file: events are optional

    // Expected, independently: the generator's ground truth says when each lead closed or converted.
    const { expected, undated } = await expectedDemoLabels((id) => touchAt.get(id) ?? null, demoAt);
    expect(result.undatedPositives).toBe(undated);
    expect(undated).toBeGreaterThan(0);
    const rows = await rowsOf('custom');
    expect(rows).toHaveLength(expected.size);
    expect(result.positives).toBe([...expected.values()].filter((l) => l === 1).length);
    expect(result.positives).toBeGreaterThan(20);
    const budget = result.spec.features.findIndex((f) => f.name === 'budget_band');
    const bands = new Set<unknown>();
    for (const row of rows) {
      expect(expected.get(`${row.lead_id}@${row.t}`)).toBe(row.label);
      // No leakage: no snapshot at or after the outcome; the label looks only at (t, t + horizon].
      const demo = demoAt.get(String(row.lead_id));
      if (demo !== null && demo !== undefined) expect(row.t).toBeLessThan(demo);
      bands.add(row[result.spec.features[budget]!.name]);
    }
    expect(bands.size).toBeGreaterThan(2); // the custom feature is read from the org's field
    expect(result.spec.target).toEqual({
      builder: 'snapshots',
      timeField: 'First_Touch_At__c',
      outcome: { field: 'Demo_Requested__c', positive: ['true'], positiveAtField: 'Demo_Requested_At__c' },
      horizonDays: 21,
      schedule,
    });
  }, 120_000);
});
