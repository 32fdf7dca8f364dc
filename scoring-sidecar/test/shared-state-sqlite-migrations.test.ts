// Several processes of one host open the same embedded SQLite file at once (the workers of `leadrank serve
// --workers N`, the batch worker, the CLI). They must migrate it once between them: before the migration ran
// under SQLite's write lock, two workers starting together both ran the first migration and one failed on
// "UNIQUE constraint failed: monitoring_migrations.name" (and the primary re-forked it in a loop).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ExperimentStore } from '../src/experiments/store.js';
import { MonitoringHistory } from '../src/monitoring/history.js';
import { repoRoot } from './api-test-kit.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function freshFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-migrate-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}

/** One process that opens both stores on `file` and reports how it went. */
function openInChild(file: string): Promise<{ code: number | null; output: string }> {
  const script = `
    const { MonitoringHistory } = await import(${JSON.stringify(join(repoRoot, 'scoring-sidecar/src/monitoring/history.ts'))});
    const { ExperimentStore } = await import(${JSON.stringify(join(repoRoot, 'scoring-sidecar/src/experiments/store.ts'))});
    const h = await MonitoringHistory.open(${JSON.stringify(file)});
    const e = await ExperimentStore.open({ sqliteFile: ${JSON.stringify(file)} });
    await h.close();
    await e.close();
    console.log('opened');
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

function migrationsRecorded(file: string): { table: string; count: number }[] {
  const db = new Database(file, { readonly: true });
  try {
    return (['monitoring_migrations', 'experiments_migrations'] as const)
      .filter((table) =>
        db.prepare(`select 1 from sqlite_master where type = 'table' and name = ?`).get(table),
      )
      .map((table) => ({
        table,
        count: (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n,
      }));
  } finally {
    db.close();
  }
}

describe('embedded shared state: one migration for many openers', () => {
  it('four processes opening a new file together all start, and each migration is recorded once', async () => {
    const file = freshFile();
    const results = await Promise.all(Array.from({ length: 4 }, () => openInChild(file)));
    for (const r of results)
      expect({ code: r.code, output: r.output.trim() }).toEqual({ code: 0, output: 'opened' });
    const recorded = migrationsRecorded(file);
    expect(recorded.map((r) => r.table).sort()).toEqual(['experiments_migrations', 'monitoring_migrations']);
    // Opening again (a restart) finds nothing to do and leaves the records as they are.
    const again = await MonitoringHistory.open(file);
    await again.close();
    expect(migrationsRecorded(file)).toEqual(recorded);
  }, 120_000);

  it('one process opening the same new file twice at once does not stall on its own lock', async () => {
    const file = freshFile();
    const opened = await Promise.all([
      MonitoringHistory.open(file),
      MonitoringHistory.open(file),
      ExperimentStore.open({ sqliteFile: file }),
    ]);
    // A connection waiting on its own process's migration would block the event loop for busy_timeout, then
    // fail with SQLITE_BUSY: all three open.
    expect(opened).toHaveLength(3);
    for (const o of opened) await o.close();
  });
});
