// The subjects' key store on PostgreSQL: what a deployment with 45M subjects and more than one host needs, and
// what makes a new key durable before the log line sealed with it (a committed row, where the directory store
// writes a file without fsync). Same contract as the directory store (subject-keys.ts): the pseudonym secret,
// one AES-256 key per subject (the first writer wins), tombstones. The tables live in the database the region's
// processes share (DATABASE_URL, or LEADRANK_AUDIT_KEY_DATABASE_URL to keep keys apart from the shared state),
// never in the audit log's storage.
//
// A batch cycle asks for hundreds of thousands of keys: requests made in the same tick are coalesced into one
// statement, INSERT … ON CONFLICT DO NOTHING RETURNING in a CTE beside a SELECT of the keys held (written by hand: dataloader would do the coalescing, but it is
// one more dependency for thirty lines).
import { createHmac, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { openSharedDb, type SharedDb } from '../shared-state/index.js';
import type { ErasureTombstone, SubjectKey, SubjectKeyStore } from './subject-keys.js';

interface KeySchema {
  audit_pseudonym_secret: { id: number; secret: string };
  audit_subject_keys: { subject: string; key_id: string; key: string; created_at: string };
  audit_tombstones: { subject: string; key_ids: string; erased_at: string; receipt: string };
}

const MIGRATIONS: Record<string, Migration> = {
  '001_audit_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_pseudonym_secret')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('secret', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_subject_keys')
        .addColumn('subject', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_tombstones')
        .addColumn('subject', 'text', (c) => c.primaryKey())
        .addColumn('key_ids', 'text', (c) => c.notNull())
        .addColumn('erased_at', 'text', (c) => c.notNull())
        .addColumn('receipt', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

const SUBJECT = /^[0-9a-f]{64}$/;
const MAX_BATCH = 1_000;

interface Waiter {
  resolve: (key: SubjectKey) => void;
  reject: (error: Error) => void;
}

export interface DatabaseKeyStore extends SubjectKeyStore {
  close(): Promise<void>;
  /**
   * Copies a directory store's secret, keys and tombstones in (an operator moving a deployment from the
   * directory to the database). Rows already held are kept; a different secret already held is refused, since
   * the pseudonyms of every line would no longer match.
   */
  importDirectory(dir: string): Promise<{ keys: number; tombstones: number }>;
}

export async function openDatabaseKeyStore(databaseUrl: string): Promise<DatabaseKeyStore> {
  const shared = await openSharedDb<KeySchema>({
    databaseUrl,
    migrationTable: 'audit_keys_migrations',
    migrations: MIGRATIONS,
  });
  return new PostgresKeyStore(shared, new URL(databaseUrl).host);
}

class PostgresKeyStore implements DatabaseKeyStore {
  private secret: Promise<Buffer> | null = null;
  private pending = new Map<string, Waiter[]>();
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly shared: SharedDb<KeySchema>,
    private readonly host: string,
  ) {}

  get description(): string {
    return `key database postgres://${this.host}`;
  }

  private get db(): Kysely<KeySchema> {
    return this.shared.db;
  }

  private pepper(): Promise<Buffer> {
    this.secret ??= (async () => {
      await this.db
        .insertInto('audit_pseudonym_secret')
        .values({ id: 1, secret: randomBytes(32).toString('base64') })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      const row = await this.db
        .selectFrom('audit_pseudonym_secret')
        .select('secret')
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      return Buffer.from(row.secret, 'base64');
    })().catch((error: unknown) => {
      this.secret = null;
      throw error;
    });
    return this.secret;
  }

  async subjectOf(leadId: string): Promise<string> {
    return createHmac('sha256', await this.pepper())
      .update(leadId)
      .digest('hex');
  }

  async existingKey(subject: string): Promise<SubjectKey | null> {
    check(subject);
    const row = await this.db
      .selectFrom('audit_subject_keys')
      .select(['key_id', 'key'])
      .where('subject', '=', subject)
      .executeTakeFirst();
    return row ? { id: row.key_id, key: Buffer.from(row.key, 'base64') } : null;
  }

  keyFor(subject: string): Promise<SubjectKey> {
    return new Promise((resolve, reject) => {
      check(subject); // a throw here rejects the promise
      const waiting = this.pending.get(subject);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(subject, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.flushing = this.flushing.then(() => this.flushPending());
        });
      }
    });
  }

  private async flushPending(): Promise<void> {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    const subjects = [...pending.keys()];
    for (let i = 0; i < subjects.length; i += MAX_BATCH) {
      const chunk = subjects.slice(i, i + MAX_BATCH);
      try {
        const now = new Date().toISOString();
        // One statement, one round trip: the CTE creates the keys not held yet, and the outer SELECT reads the
        // keys held before it ran (a statement's snapshot does not see its own CTE's rows, so none comes twice).
        const rows = await this.db
          .with('created', (db) =>
            db
              .insertInto('audit_subject_keys')
              .values(
                chunk.map((subject) => ({
                  subject,
                  key_id: randomBytes(8).toString('hex'),
                  key: randomBytes(32).toString('base64'),
                  created_at: now,
                })),
              )
              .onConflict((oc) => oc.column('subject').doNothing())
              .returning(['subject', 'key_id', 'key']),
          )
          .selectFrom('created')
          .select(['subject', 'key_id', 'key'])
          .unionAll((eb) =>
            eb
              .selectFrom('audit_subject_keys')
              .select(['subject', 'key_id', 'key'])
              .where('subject', 'in', chunk),
          )
          .execute();
        const found = new Map(
          rows.map((r) => [r.subject, { id: r.key_id, key: Buffer.from(r.key, 'base64') }]),
        );
        for (const subject of chunk) {
          const key = found.get(subject);
          for (const w of pending.get(subject)!)
            // Created by another writer after this statement's snapshot was taken (its insert conflicted, its row is
            // not in the snapshot), or destroyed by an erasure racing a score: asked again, in the next statement.
            if (key) w.resolve(key);
            else this.keyFor(subject).then(w.resolve, w.reject);
        }
      } catch (error) {
        for (const subject of chunk) for (const w of pending.get(subject)!) w.reject(error as Error);
      }
    }
  }

  async tombstone(subject: string): Promise<ErasureTombstone | null> {
    check(subject);
    const row = await this.db
      .selectFrom('audit_tombstones')
      .selectAll()
      .where('subject', '=', subject)
      .executeTakeFirst();
    return row
      ? { keyIds: JSON.parse(row.key_ids) as string[], erasedAt: row.erased_at, receipt: row.receipt }
      : null;
  }

  async destroy(subject: string, receipt: string, at: Date): Promise<ErasureTombstone | null> {
    check(subject);
    // One transaction: the tombstone and the key's removal commit together.
    return this.db.transaction().execute(async (trx) => {
      const key = await trx
        .selectFrom('audit_subject_keys')
        .select('key_id')
        .where('subject', '=', subject)
        .forUpdate()
        .executeTakeFirst();
      const beforeRow = await trx
        .selectFrom('audit_tombstones')
        .selectAll()
        .where('subject', '=', subject)
        .executeTakeFirst();
      const before = beforeRow
        ? {
            keyIds: JSON.parse(beforeRow.key_ids) as string[],
            erasedAt: beforeRow.erased_at,
            receipt: beforeRow.receipt,
          }
        : null;
      if (!key) return before;
      const tomb: ErasureTombstone = {
        keyIds: [...(before?.keyIds ?? []), key.key_id],
        erasedAt: at.toISOString(),
        receipt,
      };
      const values = {
        subject,
        key_ids: JSON.stringify(tomb.keyIds),
        erased_at: tomb.erasedAt,
        receipt: tomb.receipt,
      };
      await trx
        .insertInto('audit_tombstones')
        .values(values)
        .onConflict((oc) =>
          oc.column('subject').doUpdateSet({
            key_ids: values.key_ids,
            erased_at: values.erased_at,
            receipt: values.receipt,
          }),
        )
        .execute();
      await trx.deleteFrom('audit_subject_keys').where('subject', '=', subject).execute();
      return tomb;
    });
  }

  async importDirectory(dir: string): Promise<{ keys: number; tombstones: number }> {
    const secret = (await readFile(join(dir, 'pseudonym.secret'), 'utf8')).trim();
    const held = await this.db
      .selectFrom('audit_pseudonym_secret')
      .select('secret')
      .where('id', '=', 1)
      .executeTakeFirst();
    if (held && held.secret !== secret)
      throw new Error(
        `${this.description} already holds another pseudonym secret than ${dir}: importing would make every ` +
          'line name its lead by a pseudonym nobody can compute; import into an empty key database',
      );
    if (!held) await this.db.insertInto('audit_pseudonym_secret').values({ id: 1, secret }).execute();
    this.secret = null;
    const subjectFiles = async (sub: string) =>
      (await readdir(join(dir, sub)).catch(() => [] as string[])).filter((f) =>
        /^[0-9a-f]{64}\.json$/.test(f),
      );
    let keys = 0;
    const now = new Date().toISOString();
    for (const file of await subjectFiles('keys')) {
      const parsed = JSON.parse(await readFile(join(dir, 'keys', file), 'utf8')) as {
        id: string;
        key: string;
      };
      const result = await this.db
        .insertInto('audit_subject_keys')
        .values({ subject: file.slice(0, 64), key_id: parsed.id, key: parsed.key, created_at: now })
        .onConflict((oc) => oc.column('subject').doNothing())
        .executeTakeFirst();
      keys += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    let tombstones = 0;
    for (const file of await subjectFiles('erased')) {
      const t = JSON.parse(await readFile(join(dir, 'erased', file), 'utf8')) as ErasureTombstone;
      const result = await this.db
        .insertInto('audit_tombstones')
        .values({
          subject: file.slice(0, 64),
          key_ids: JSON.stringify(t.keyIds),
          erased_at: t.erasedAt,
          receipt: t.receipt,
        })
        .onConflict((oc) => oc.column('subject').doNothing())
        .executeTakeFirst();
      tombstones += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    return { keys, tombstones };
  }

  async close(): Promise<void> {
    // Keys asked for in this tick are written before the pool goes.
    if (this.scheduled) await new Promise((r) => setImmediate(r));
    await this.flushing;
    await this.shared.close();
  }
}

function check(subject: string): void {
  if (!SUBJECT.test(subject)) throw new Error(`not a subject pseudonym: ${subject.slice(0, 80)}`);
}
