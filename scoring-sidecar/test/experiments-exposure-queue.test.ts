// Exposures are queued off the request path and written in one transaction per flush: while the database
// refuses the write, nothing is lost or half-written, and the next flush writes each exposure exactly once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experimentDefinitionSchema } from '../src/experiments/definition.js';
import { ExperimentService } from '../src/experiments/service.js';
import { ExperimentStore } from '../src/experiments/store.js';
import { repoRoot } from './api-test-kit.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

const definition = experimentDefinitionSchema.parse(
  JSON.parse(readFileSync(join(repoRoot, 'config', 'experiments', 'model-vs-rules.json'), 'utf8')),
);
const NOW = new Date('2025-03-01T00:00:00Z');

let db: TestDatabase;
let store: ExperimentStore;
let svc: ExperimentService;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('exposure_queue');
  store = await ExperimentStore.open({ databaseUrl: db.url });
  svc = await ExperimentService.open(store, { now: () => NOW, flushIntervalMs: 3_600_000 });
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await svc?.close().catch(() => {});
  await store?.close();
  await db?.drop();
});

describe('queued exposures', () => {
  it('survive a refused write and are written exactly once when the database takes them again', async () => {
    await svc.create(definition, 'test');
    await svc.startCanary(definition.id, 'test');
    await svc.flush();
    // A table disappears mid-flight: the assignment transaction fails after its first insert, before the
    // exposures are even tried; then the exposure transaction fails after its lead rows.
    await admin.query('ALTER TABLE rep_units RENAME TO rep_units_away');
    const reps = ['005000000000000001', '005000000000000002', '005000000000000003'];
    reps.forEach((repId, i) =>
      svc.recordExposure({
        experimentId: definition.id,
        repId,
        leadIds: [`00Q00000000000000${i}`],
        at: NOW,
      }),
    );
    await expect(svc.flush()).rejects.toThrow(/rep_units/);
    await admin.query('ALTER TABLE rep_units_away RENAME TO rep_units');
    await admin.query('ALTER TABLE unit_exposures RENAME TO unit_exposures_away');
    await expect(svc.flush()).rejects.toThrow(/unit_exposures/);
    await admin.query('ALTER TABLE unit_exposures_away RENAME TO unit_exposures');
    expect(await store.leadExposures(definition.id)).toEqual([]); // rolled back, not half-written
    expect((await store.assignments(definition.id)).map((a) => a.unitId).sort()).toEqual(reps);

    await svc.flush();
    const leads = await store.leadExposures(definition.id);
    expect(leads.map((l) => l.repId).sort()).toEqual(reps);
    const times = await admin.query<{ times: number }>('SELECT times FROM lead_exposures');
    expect(times.rows.map((r) => r.times)).toEqual([1, 1, 1]);
    expect((await store.unitExposures(definition.id)).map((u) => u.leads)).toEqual([1, 1, 1]);
  });
});
