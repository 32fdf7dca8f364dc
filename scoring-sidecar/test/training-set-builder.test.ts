// Training sets from an org: the snapshot design, labels and the horizon rule, checked against the
// generator's ground truth (which the builder never reads for features or labels).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, readNdjsonGz } from '@leadrank/crm-generator';
import {
  snapshotLabel,
  standardSnapshotTimes,
  type LeadGroundTruth,
} from '@leadrank/crm-generator/ground-truth';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { buildFromOrg } from '../src/commands/build-training-set.js';
import { labelAt, snapshotInstants, DEFAULT_SNAPSHOT_DESIGN } from '../src/features/training-set-builder.js';
import { connectToOrg } from '../src/salesforce/org-connection.js';

const DAY = 86_400_000;
const dataEnd = '2026-11-24T00:00:00Z';
const app = { clientId: 'builder-test', clientSecret: 'builder-test-secret' };
let root: string;
let sim: RunningOrgSimulator;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'leadrank-builder-'));
  await generateDataset({
    outDir: join(root, 'data'),
    seed: 11,
    active: 400,
    historical: 1600,
    dataEnd,
    euShare: 0.35,
    historyDays: 540,
  });
  sim = await startOrgSimulator({ port: 0, clients: [app], logger: pino({ level: 'silent' }) });
  await seedFromDirectory(sim.ctx.store, join(root, 'data'));
}, 120_000);
afterAll(async () => {
  await sim?.close();
  await rm(root, { recursive: true, force: true });
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
