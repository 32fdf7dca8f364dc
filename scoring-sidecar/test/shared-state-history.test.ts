// The monitoring history on each shared-state backend (embedded SQLite, PostgreSQL server): every write and
// read round-trips with the same values and types, upserts add or replace as documented, and a SQLite file
// written before the shared-state layer opens with its rows intact.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MonitoringHistory } from '../src/monitoring/history.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function open(backend: 'sqlite' | 'postgres'): Promise<MonitoringHistory> {
  let db: TestDatabase | null = null;
  if (backend === 'postgres') db = await createTestDatabase('history');
  const h = await MonitoringHistory.open(db ? { databaseUrl: db.url } : ':memory:');
  cleanup.push(async () => {
    await h.close();
    await db?.drop();
  });
  return h;
}

describe.each(['sqlite', 'postgres'] as const)('monitoring history on %s', (backend) => {
  it('adds score counts per day, region, band and source', async () => {
    const h = await open(backend);
    expect(h.dialect).toBe(backend);
    await h.addScores('2025-03-01', 'US', { A: 2, B: 3 }, { model: 4, rules: 1 });
    await h.addScores('2025-03-01', 'US', { A: 5 }, { model: 5 });
    await h.addScores('2025-03-02', 'EU', { C: 1 }, { rules: 1 });
    expect(await h.scoreBands('2025-03-01')).toEqual([
      { day: '2025-03-01', region: 'US', band: 'A', count: 7 },
      { day: '2025-03-01', region: 'US', band: 'B', count: 3 },
      { day: '2025-03-02', region: 'EU', band: 'C', count: 1 },
    ]);
    expect(await h.scoreSources('2025-03-02')).toEqual([
      { day: '2025-03-02', region: 'EU', source: 'rules', count: 1 },
    ]);
  });

  it('replaces drift of a day, pools calibration by rows, and finds the newest judged calibration run', async () => {
    const h = await open(backend);
    const slice = (psi: number) => ({
      day: '2025-03-01',
      region: 'US',
      rows: 100,
      features: [
        {
          feature: 'lead_source',
          psi,
          missingRate: 0.1,
          baselineMissingRate: 0.05,
          status: 'alert' as const,
          reason: 'moved',
        },
      ],
      prediction: null,
    });
    await h.recordDrift([slice(0.2)]);
    await h.recordDrift([slice(0.4)]);
    expect(await h.drift('2025-01-01')).toEqual([
      {
        day: '2025-03-01',
        region: 'US',
        feature: 'lead_source',
        psi: 0.4,
        missingRate: 0.1,
        baselineMissingRate: 0.05,
        status: 'alert',
        reason: 'moved',
      },
    ]);
    await h.recordCalibration('2025-03-01', 'US', [
      { decile: 1, rows: 100, meanPredicted: 0.1, observedRate: 0.2 },
    ]);
    await h.recordCalibration('2025-03-02', 'US', [
      { decile: 1, rows: 300, meanPredicted: 0.2, observedRate: 0.1 },
    ]);
    const [bin] = await h.calibration('2025-03-01');
    expect(bin).toMatchObject({ region: 'US', decile: 1, rows: 400 });
    expect(bin!.meanPredicted).toBeCloseTo(0.175, 10);
    expect(bin!.observedRate).toBeCloseTo(0.125, 10);
    await h.recordCalibrationRun('2025-03-01', 'US', 5000, 0.03);
    await h.recordCalibrationRun('2025-03-02', 'US', 10, 0.3); // too few rows to judge
    await h.recordCalibrationRun('2025-03-02', 'EU', 2000, 0.07);
    expect(await h.latestCalibrationRuns(100)).toEqual([
      { day: '2025-03-02', region: 'EU', rows: 2000, ece: 0.07 },
      { day: '2025-03-01', region: 'US', rows: 5000, ece: 0.03 },
    ]);
  });

  it('keeps batch cycles and extract deliveries, newest delivery first', async () => {
    const h = await open(backend);
    const cycle = {
      startedAt: '2025-03-01T04:00:00.000Z',
      region: 'US',
      durationSeconds: 12.5,
      ok: false,
      leadsScored: 0,
      changesWritten: 0,
      error: 'Bulk API job failed',
    };
    await h.recordBatchCycle(cycle);
    await h.recordBatchCycle({ ...cycle, ok: true, error: null, leadsScored: 10, changesWritten: 3 });
    expect(await h.batchCycles('2025-03-01')).toEqual([
      { ...cycle, ok: true, error: null, leadsScored: 10, changesWritten: 3 },
    ]);
    for (const [day, rows] of [
      ['2025-03-01', 100],
      ['2025-03-02', 50],
    ] as const)
      await h.recordExtractDelivery({
        extract: 'erp',
        day,
        receivedAt: `${day}T05:00:00.000Z`,
        rows,
        invalidRows: 1,
        issues: rows < 100 ? ['half_empty'] : [],
      });
    expect(await h.extractDeliveries('erp', 1)).toEqual([
      {
        extract: 'erp',
        day: '2025-03-02',
        receivedAt: '2025-03-02T05:00:00.000Z',
        rows: 50,
        invalidRows: 1,
        issues: ['half_empty'],
      },
    ]);
    expect(await h.extractDeliveries('marketing')).toEqual([]);
  });
});

describe('a shared state that cannot be opened', () => {
  it('says which database, without its password', async () => {
    const err = await MonitoringHistory.open({
      databaseUrl: 'postgres://leadrank:s3cret@127.0.0.1:1/leadrank_us',
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toContain('postgres://127.0.0.1:1/leadrank_us');
    expect(err?.message).not.toContain('s3cret');
    await expect(MonitoringHistory.open({ databaseUrl: 'mysql://x/y' })).rejects.toThrow(
      'DATABASE_URL must be a postgres:// URL',
    );
  });
});

describe('an embedded history written before the shared-state layer', () => {
  it('opens with its rows intact, and records its migration once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-legacy-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'monitoring.db');
    const legacy = new Database(file);
    legacy.exec(
      'CREATE TABLE score_bands (day TEXT, region TEXT, band TEXT, count INTEGER, PRIMARY KEY (day, region, band));',
    );
    legacy.prepare('INSERT INTO score_bands VALUES (?, ?, ?, ?)').run('2025-02-01', 'US', 'A', 42);
    legacy.close();
    for (let i = 0; i < 2; i++) {
      const h = await MonitoringHistory.open(file);
      await h.addScores('2025-02-01', 'US', { A: 1 }, {});
      await h.close();
    }
    const h = await MonitoringHistory.open(file);
    cleanup.push(() => h.close());
    expect(await h.scoreBands('2025-01-01')).toEqual([
      { day: '2025-02-01', region: 'US', band: 'A', count: 44 },
    ]);
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT name FROM monitoring_migrations').all()).toEqual([
      { name: '001_monitoring_history' },
    ]);
    check.close();
  });
});
