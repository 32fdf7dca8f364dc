// Which subjects' key store an audit writer or reader uses, from the environment:
//   LEADRANK_AUDIT_KEY_STORE=directory (default): the directory of defaultKeyDir (LEADRANK_AUDIT_KEY_DIR, else
//     `<audit root>.keys`), one file per subject;
//   LEADRANK_AUDIT_KEY_STORE=postgres: tables in LEADRANK_AUDIT_KEY_DATABASE_URL, else DATABASE_URL (durable keys,
//     shared by every host of the region).
// The database store is opened on first use, so that a writer's constructor stays synchronous.
import { openDatabaseKeyStore, type DatabaseKeyStore } from './database-key-store.js';
import {
  defaultKeyDir,
  openDirectoryKeyStore,
  type ErasureTombstone,
  type SubjectKey,
  type SubjectKeyStore,
} from './subject-keys.js';

export const KEY_STORE_KINDS = ['directory', 'postgres'] as const;

/** The key database's URL when the environment selects the database store, else null; bad settings throw. */
export function keyDatabaseUrlOf(env: Record<string, string | undefined>): string | null {
  const kind = env.LEADRANK_AUDIT_KEY_STORE?.trim() || 'directory';
  if (!(KEY_STORE_KINDS as readonly string[]).includes(kind))
    throw new Error(`LEADRANK_AUDIT_KEY_STORE must be one of ${KEY_STORE_KINDS.join(', ')}, not "${kind}"`);
  if (kind === 'directory') return null;
  const url = env.LEADRANK_AUDIT_KEY_DATABASE_URL?.trim() || env.DATABASE_URL?.trim();
  if (!url)
    throw new Error(
      'LEADRANK_AUDIT_KEY_STORE=postgres needs LEADRANK_AUDIT_KEY_DATABASE_URL or DATABASE_URL (a postgres:// URL)',
    );
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new Error('LEADRANK_AUDIT_KEY_DATABASE_URL (or DATABASE_URL) must be a postgres:// URL');
  return url;
}

export function subjectKeyStoreFromEnv(
  auditDir: string,
  env: Record<string, string | undefined> = process.env,
): SubjectKeyStore {
  const url = keyDatabaseUrlOf(env);
  if (url === null) return openDirectoryKeyStore(defaultKeyDir(auditDir, env), auditDir);
  return new LazyKeyStore(url);
}

class LazyKeyStore implements SubjectKeyStore {
  private store: Promise<DatabaseKeyStore> | null = null;
  constructor(private readonly url: string) {}

  get description(): string {
    return `key database postgres://${new URL(this.url).host}`;
  }

  private open(): Promise<DatabaseKeyStore> {
    this.store ??= openDatabaseKeyStore(this.url).catch((error: unknown) => {
      this.store = null;
      throw error;
    });
    return this.store;
  }

  async subjectOf(leadId: string): Promise<string> {
    return (await this.open()).subjectOf(leadId);
  }
  async keyFor(subject: string): Promise<SubjectKey> {
    return (await this.open()).keyFor(subject);
  }
  async existingKey(subject: string): Promise<SubjectKey | null> {
    return (await this.open()).existingKey(subject);
  }
  async destroy(subject: string, receipt: string, at: Date): Promise<ErasureTombstone | null> {
    return (await this.open()).destroy(subject, receipt, at);
  }
  async tombstone(subject: string): Promise<ErasureTombstone | null> {
    return (await this.open()).tombstone(subject);
  }
  async close(): Promise<void> {
    const store = this.store;
    this.store = null;
    if (store) await (await store.catch(() => null))?.close();
  }
}
