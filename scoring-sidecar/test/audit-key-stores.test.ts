// The subjects' key stores behind the audit log's crypto-shredding: the directory (default) and PostgreSQL
// (LEADRANK_AUDIT_KEY_STORE=postgres: durable keys, one store for every host of a region). Both keep the same
// contract; the database store also coalesces a batch's key requests, and an operator moves a deployment from
// the directory to the database with `leadrank audit import-keys` without losing a readable line.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditErasure,
  auditHistory,
  defaultKeyDir,
  keyDatabaseUrlOf,
  openAuditLog,
  openDatabaseKeyStore,
  openDirectoryKeyStore,
  subjectKeyStoreFromEnv,
  verifyAuditLog,
  type SubjectKeyStore,
} from '../src/audit/index.js';
import { auditEntries, runAuditCommand } from './support/audit-kit.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-keys-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase('audit_keys');
  cleanup.push(() => db.drop());
  return db;
}

/** A store of the kind, and a second handle on the same store (another process, another pool). */
async function stores(kind: 'directory' | 'postgres'): Promise<[SubjectKeyStore, SubjectKeyStore]> {
  if (kind === 'directory') {
    const dir = await tempDir();
    return [openDirectoryKeyStore(dir), openDirectoryKeyStore(dir)];
  }
  const db = await database();
  const a = await openDatabaseKeyStore(db.url);
  const b = await openDatabaseKeyStore(db.url);
  cleanup.push(() => a.close());
  cleanup.push(() => b.close());
  return [a, b];
}

const LEADS = Array.from({ length: 150 }, (_, i) => `00Q${String(i).padStart(15, '0')}`);

describe.each(['directory', 'postgres'] as const)('the %s key store', (kind) => {
  it('gives one pseudonym and one key per subject to every handle, however many ask at once', async () => {
    const [a, b] = await stores(kind);
    const subjectsA = await Promise.all(LEADS.map((l) => a.subjectOf(l)));
    const subjectsB = await Promise.all(LEADS.map((l) => b.subjectOf(l)));
    expect(subjectsB).toEqual(subjectsA);
    expect(subjectsA.every((s) => /^[0-9a-f]{64}$/.test(s))).toBe(true);
    expect(new Set(subjectsA).size).toBe(LEADS.length);
    // Each subject asked for three times, from both handles, in one burst.
    const asked = await Promise.all(
      [...subjectsA, ...subjectsA, ...subjectsA].map((s, i) => (i % 2 ? a : b).keyFor(s)),
    );
    for (let i = 0; i < subjectsA.length; i++) {
      const ids = new Set([asked[i]!.id, asked[i + LEADS.length]!.id, asked[i + 2 * LEADS.length]!.id]);
      expect(ids.size).toBe(1);
      const held = await a.existingKey(subjectsA[i]!);
      expect(held!.id).toBe(asked[i]!.id);
      expect(held!.key.equals(asked[i]!.key)).toBe(true);
    }
  });

  it('destroys a key with a tombstone, and a subject scored again gets a new key', async () => {
    const [a, b] = await stores(kind);
    const subject = await a.subjectOf(LEADS[0]!);
    const first = await a.keyFor(subject);
    expect(await b.tombstone(subject)).toBeNull();
    const tomb = await b.destroy(subject, 'er_000000000000000000000001', new Date('2026-12-01T00:00:00Z'));
    expect(tomb).toEqual({
      keyIds: [first.id],
      erasedAt: '2026-12-01T00:00:00.000Z',
      receipt: 'er_000000000000000000000001',
    });
    expect(await a.existingKey(subject)).toBeNull();
    // A second erasure of a subject without a key changes nothing.
    expect(await a.destroy(subject, 'er_000000000000000000000009', new Date())).toEqual(tomb);
    const second = await a.keyFor(subject);
    expect(second.id).not.toBe(first.id);
    await a.destroy(subject, 'er_000000000000000000000002', new Date('2026-12-02T00:00:00Z'));
    expect(await b.tombstone(subject)).toMatchObject({
      keyIds: [first.id, second.id],
      receipt: 'er_000000000000000000000002',
    });
  });

  it('refuses what is not a subject pseudonym', async () => {
    const [a] = await stores(kind);
    await expect(a.keyFor('00Q000000000000001')).rejects.toThrow(/not a subject pseudonym/);
  });
});

describe('LEADRANK_AUDIT_KEY_STORE', () => {
  it('names the variable when the setting is wrong', () => {
    expect(() => keyDatabaseUrlOf({ LEADRANK_AUDIT_KEY_STORE: 'kms' })).toThrow(
      'LEADRANK_AUDIT_KEY_STORE must be one of directory, postgres, not "kms"',
    );
    expect(() => keyDatabaseUrlOf({ LEADRANK_AUDIT_KEY_STORE: 'postgres' })).toThrow(
      /needs LEADRANK_AUDIT_KEY_DATABASE_URL or DATABASE_URL/,
    );
    expect(() =>
      keyDatabaseUrlOf({ LEADRANK_AUDIT_KEY_STORE: 'postgres', DATABASE_URL: 'mysql://x/y' }),
    ).toThrow(/must be a postgres:\/\/ URL/);
    expect(keyDatabaseUrlOf({})).toBeNull();
    expect(
      keyDatabaseUrlOf({
        LEADRANK_AUDIT_KEY_STORE: 'postgres',
        DATABASE_URL: 'postgres://a/b',
        LEADRANK_AUDIT_KEY_DATABASE_URL: 'postgres://keys/k',
      }),
    ).toBe('postgres://keys/k');
  });

  it('with postgres, the log seals with keys from the database and none lands beside the log', async () => {
    const db = await database();
    const dir = await tempDir();
    const env = { LEADRANK_AUDIT_KEY_STORE: 'postgres', DATABASE_URL: db.url };
    const log = await openAuditLog({ dir, region: 'EU', env, fsync: 'none' });
    await log.append(auditEntries(0, 20));
    await log.close();
    expect(existsSync(defaultKeyDir(dir, {}))).toBe(false);
    const keys = subjectKeyStoreFromEnv(dir, env);
    cleanup.push(() => keys.close!());
    const history = [];
    for await (const e of auditHistory(dir, '00Q000000000002AAA', { keys })) history.push(e.requestId);
    expect(history).toEqual(['req-2', 'req-7', 'req-12', 'req-17']);
    // The rows hold pseudonyms and random keys, never a lead id.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = await client.query('select subject, key_id from audit_subject_keys');
      expect(rows.rowCount).toBe(5);
      expect(JSON.stringify(rows.rows)).not.toMatch(/00Q/);
    } finally {
      await client.end();
    }
    // Erasure shreds the subject's entries; the chain still verifies.
    const subject = await keys.subjectOf('00Q000000000002AAA');
    await keys.destroy(subject, 'er_000000000000000000000003', new Date('2026-12-03T00:00:00Z'));
    const after = [];
    for await (const e of auditHistory(dir, '00Q000000000002AAA', { keys })) after.push(e);
    expect(after).toEqual([]);
    expect(await auditErasure(dir, '00Q000000000002AAA', { keys })).toMatchObject({ unreadable: 4 });
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 20 });
  });
});

describe('leadrank audit import-keys', () => {
  it('moves a deployment from the directory store to the database: every line stays readable', async () => {
    const db = await database();
    const dir = await tempDir();
    const log = await openAuditLog({ dir, region: 'EU', env: {}, fsync: 'none' });
    await log.append(auditEntries(0, 10));
    await log.close();
    const directory = openDirectoryKeyStore(defaultKeyDir(dir, {}));
    await directory.destroy(
      await directory.subjectOf('00Q000000000004AAA'),
      'er_000000000000000000000004',
      new Date('2026-12-04T00:00:00Z'),
    );

    const saved = { DATABASE_URL: process.env.DATABASE_URL, KEY_DIR: process.env.LEADRANK_AUDIT_KEY_DIR };
    process.env.DATABASE_URL = db.url;
    delete process.env.LEADRANK_AUDIT_KEY_DIR;
    try {
      const first = await runAuditCommand(['audit', 'import-keys', '--dir', dir]);
      expect(first.exitCode).toBeUndefined();
      expect(JSON.parse(first.out.split('\n').pop()!)).toMatchObject({ keys: 4, tombstones: 1 });
      // Again: nothing new, nothing changed.
      const again = await runAuditCommand(['audit', 'import-keys', '--dir', dir]);
      expect(JSON.parse(again.out.split('\n').pop()!)).toMatchObject({ keys: 0, tombstones: 0 });
      // Another deployment's keys are refused: their secret differs.
      const other = await tempDir();
      await openDirectoryKeyStore(join(other, 'keys-dir')).subjectOf('00Q000000000000001');
      const refused = await runAuditCommand([
        'audit',
        'import-keys',
        '--dir',
        dir,
        '--key-dir',
        join(other, 'keys-dir'),
      ]);
      expect(refused.exitCode).toBe(1);
      expect(refused.err).toMatch(/already holds another pseudonym secret/);
      const missing = await runAuditCommand(['audit', 'import-keys', '--dir', dir, '--key-dir', other]);
      expect(missing.err).toMatch(/no directory key store here/);
    } finally {
      process.env.DATABASE_URL = saved.DATABASE_URL;
      if (saved.KEY_DIR !== undefined) process.env.LEADRANK_AUDIT_KEY_DIR = saved.KEY_DIR;
    }

    const keys = await openDatabaseKeyStore(db.url);
    cleanup.push(() => keys.close());
    for (const lead of ['00Q000000000000AAA', '00Q000000000001AAA', '00Q000000000003AAA']) {
      const fromDb = [];
      for await (const e of auditHistory(dir, lead, { keys })) fromDb.push(e.requestId);
      const fromDir = [];
      for await (const e of auditHistory(dir, lead, { keys: directory })) fromDir.push(e.requestId);
      expect(fromDb).toHaveLength(2);
      expect(fromDb).toEqual(fromDir);
    }
    expect(await auditErasure(dir, '00Q000000000004AAA', { keys })).toMatchObject({
      receipt: 'er_000000000000000000000004',
      unreadable: 2,
    });
  });
});
