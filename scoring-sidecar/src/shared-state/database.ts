// The shared-state data-access layer: experiments and monitoring history on PostgreSQL when DATABASE_URL is
// set (every replica and process of a region shares one database), else on an embedded SQLite file per store.
//
// Why Kysely: one typed query builder that compiles the same queries to both dialects (upserts included), with
// a migrator that takes a lock while it runs (replicas starting together migrate once).
// Why not PGlite (PostgreSQL as WASM, in-process) for the embedded default, which would give one dialect: it is
// single-process, while the embedded stores are opened by several processes of one host at once (serve, the
// batch worker, the CLI), and its WASM start-up and memory are those of a database server, not of a file.
// SQLite (better-sqlite3, WAL) does both well, so the embedded default stays SQLite and Kysely hides the dialect.
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteAdapter, SqliteDialect, sql, type DialectAdapter } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import pg from 'pg';

export type Dialect = 'postgres' | 'sqlite';

export interface SharedStateOptions {
  /** postgres://… : the shared server. Else `sqliteFile` (':memory:' for tests). */
  databaseUrl?: string | undefined;
  sqliteFile?: string;
  /** Each store keeps its own migration history, so the two can live in one database or in two files. */
  migrationTable: string;
  migrations: Record<string, Migration>;
  /** An idle pooled connection failed (logged by the caller; the next query reconnects). */
  onIdleError?: (error: Error) => void;
}

export interface SharedDb<Schema> {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

export async function openSharedDb<Schema>(o: SharedStateOptions): Promise<SharedDb<Schema>> {
  const url = o.databaseUrl?.trim();
  let db: Kysely<Schema>;
  let dialect: Dialect;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new Error('DATABASE_URL must be a postgres:// URL');
    // Small pool: the hot paths batch their writes; reports and the dashboard read rarely.
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle connection the server ends (restart, failover) is an 'error' event on the pool: without a
    // listener it would crash the process; the pool replaces the connection on the next query.
    pool.on('error', (error) => o.onIdleError?.(error));
    db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
    dialect = 'postgres';
  } else {
    if (!o.sqliteFile) throw new Error('no DATABASE_URL and no SQLite file for the shared state');
    // Several processes of one host write the same file: wait for the lock rather than fail. The timeout is
    // set when the file is opened, before the first statement: switching a new file to WAL takes the lock too.
    const sqlite = new Database(o.sqliteFile, { timeout: 5000 });
    sqlite.pragma('journal_mode = WAL');
    db = new Kysely<Schema>({ dialect: new MigrationLockingSqliteDialect({ database: sqlite }) });
    dialect = 'sqlite';
  }
  try {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => o.migrations },
      migrationTableName: o.migrationTable,
      migrationLockTableName: `${o.migrationTable}_lock`,
    });
    // One migration at a time per file within this process too: a second connection waiting on SQLite's lock
    // would block the event loop the first needs to finish (better-sqlite3 is synchronous).
    const { error, results } = url
      ? await migrator.migrateToLatest()
      : await serialised(o.sqliteFile!, () => migrator.migrateToLatest());
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      // Where, without the credentials: the URL's host and database, or the SQLite file.
      const where = url ? redacted(url) : o.sqliteFile;
      throw new Error(
        `shared state ${where}: ${failed ? `migration ${failed} failed: ` : ''}${(error as Error).message}`,
      );
    }
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, dialect, close: () => db.destroy() };
}

// Kysely's SQLite adapter takes no migration lock: it assumes one connection, so one process. Here several
// processes open one file at once (the workers of `leadrank serve --workers N`, the batch worker, the CLI), and
// two of them migrating together both ran a migration and then both recorded it (UNIQUE constraint failed).
// SQLite's own write lock serialises them: the migration runs inside BEGIN IMMEDIATE, the next process waits
// for it (busy_timeout) and then finds nothing left to do.
class MigrationLockingSqliteAdapter extends SqliteAdapter {
  private locked = false;
  override async acquireMigrationLock(db: Kysely<unknown>): Promise<void> {
    await sql`begin immediate`.execute(db);
    this.locked = true;
  }
  override async releaseMigrationLock(db: Kysely<unknown>): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    await sql`commit`.execute(db);
  }
}

const migrating = new Map<string, Promise<unknown>>();
async function serialised<T>(file: string, task: () => Promise<T>): Promise<T> {
  const before = migrating.get(file) ?? Promise.resolve();
  const run = before.then(task, task);
  const settled = run.catch(() => undefined);
  migrating.set(file, settled);
  try {
    return await run;
  } finally {
    if (migrating.get(file) === settled) migrating.delete(file);
  }
}

class MigrationLockingSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new MigrationLockingSqliteAdapter();
  }
}

function redacted(url: string): string {
  const u = new URL(url);
  return `postgres://${u.host}${u.pathname}`;
}

/** The database a region's processes share, from the environment (DATABASE_URL), or null for embedded files. */
export function databaseUrlOf(env: Record<string, string | undefined>): string | undefined {
  return env.DATABASE_URL?.trim() || undefined;
}
