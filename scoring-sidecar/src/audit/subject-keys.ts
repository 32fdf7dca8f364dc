// Crypto-shredding of audit entries: every score entry's personal part (lead id, request id, feature vector and
// names, feature hash, reasons, next action) is encrypted with a key of its own subject (the lead), held in a key
// store apart from the log. The chain and the checkpoints cover the ciphertext, so destroying a subject's key makes
// its entries unreadable while `verify` still passes. A line names its subject only by a keyed pseudonym
// (HMAC-SHA256 of the lead id under a secret of the key store), never by the id.
//
// The key store here is a directory (one file per subject, published whole and exclusively so that several
// writer processes agree on one key and none reads half of one); a KMS fits the same interface. Keep it on other storage than the log, backed up apart: a
// backup of the log holds nothing readable without it, and a key destroyed here is gone from every copy of the log.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { z } from 'zod';

export interface SubjectKey {
  /** Random id of this key (a subject scored again after an erasure gets a new key). */
  id: string;
  key: Buffer;
}

export interface ErasureTombstone {
  keyIds: string[];
  erasedAt: string;
  receipt: string;
}

export interface SubjectKeyStore {
  readonly description: string;
  /** The keyed pseudonym of a lead id (the same in every process sharing the store). */
  subjectOf(leadId: string): Promise<string>;
  /** The subject's current key, created when it has none. */
  keyFor(subject: string): Promise<SubjectKey>;
  /** The subject's current key, or null (never created, or destroyed). */
  existingKey(subject: string): Promise<SubjectKey | null>;
  /** Destroys the subject's key and records when and under which receipt; a no-op answer when none is held. */
  destroy(subject: string, receipt: string, at: Date): Promise<ErasureTombstone | null>;
  tombstone(subject: string): Promise<ErasureTombstone | null>;
  /** Releases connections (a database store); the directory store holds none. */
  close?(): Promise<void>;
}

const keyFileSchema = z.strictObject({ id: z.string().regex(/^[0-9a-f]{16}$/), key: z.string() });
const tombstoneSchema = z.strictObject({
  keyIds: z.array(z.string()),
  erasedAt: z.string(),
  receipt: z.string(),
});

const SUBJECT = /^[0-9a-f]{64}$/;

/** Where the key store of an audit root is: LEADRANK_AUDIT_KEY_DIR, else `<root>.keys` beside the root. */
export function defaultKeyDir(
  auditDir: string,
  env: Record<string, string | undefined> = process.env,
): string {
  const set = env.LEADRANK_AUDIT_KEY_DIR?.trim();
  if (set) return set;
  // A worker's writer opens `<root>/worker-<i>`, the batch's `<root>/batch`, the opportunity cycle's
  // `<root>/batch-opportunities`: their keys are the root's (one store for every chain of the root, so `audit show`
  // opens and an erasure shreds them all).
  const root = /^(worker-\d+|batch|batch-opportunities)$/.test(basename(resolve(auditDir)))
    ? dirname(resolve(auditDir))
    : resolve(auditDir);
  return `${root}.keys`;
}

class DirectoryKeyStore implements SubjectKeyStore {
  private secret: Promise<Buffer> | null = null;
  constructor(private readonly dir: string) {}

  get description(): string {
    return `key directory ${this.dir}`;
  }

  private pepper(): Promise<Buffer> {
    this.secret ??= (async () => {
      await mkdir(join(this.dir, 'keys'), { recursive: true, mode: 0o700 });
      await mkdir(join(this.dir, 'erased'), { recursive: true, mode: 0o700 });
      const file = join(this.dir, 'pseudonym.secret');
      createExclusive(file, randomBytes(32).toString('base64'));
      return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    })();
    return this.secret;
  }

  async subjectOf(leadId: string): Promise<string> {
    return createHmac('sha256', await this.pepper())
      .update(leadId)
      .digest('hex');
  }

  private keyFile(subject: string): string {
    if (!SUBJECT.test(subject)) throw new Error(`not a subject pseudonym: ${subject.slice(0, 80)}`);
    return join(this.dir, 'keys', `${subject}.json`);
  }

  async existingKey(subject: string): Promise<SubjectKey | null> {
    await this.pepper();
    return this.readKey(subject);
  }

  // The key files are read and created with synchronous calls: a key file is under 100 bytes, and every online
  // score looks one up (or creates it for a subject never scored). Each async fs call is a thread-pool round trip
  // and a promise, several times the CPU of the system call, and the six of a new key left the requests waiting
  // behind the pool: with 2 workers on 2 cores, 900 req/s paced went from 1.86 CPU-ms per request and p99 1,055 ms
  // (async) to 1.48 CPU-ms and p99 39 ms (sync), in one run of bench/online.ts (docs/api.md).
  private readKey(subject: string): SubjectKey | null {
    let text: string;
    try {
      text = readFileSync(this.keyFile(subject), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = keyFileSchema.parse(JSON.parse(text));
    return { id: parsed.id, key: Buffer.from(parsed.key, 'base64') };
  }

  async keyFor(subject: string): Promise<SubjectKey> {
    await this.pepper();
    const existing = this.readKey(subject);
    if (existing) return existing;
    const fresh = { id: randomBytes(8).toString('hex'), key: randomBytes(32) };
    // Exclusive create: two writers creating a subject's first key at once agree on the one written first.
    const content = JSON.stringify({ id: fresh.id, key: fresh.key.toString('base64') });
    const created = createExclusive(this.keyFile(subject), content);
    return created ? fresh : this.readKey(subject)!;
  }

  async tombstone(subject: string): Promise<ErasureTombstone | null> {
    await this.pepper();
    try {
      return tombstoneSchema.parse(
        JSON.parse(await readFile(join(this.dir, 'erased', `${subject}.json`), 'utf8')),
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async destroy(subject: string, receipt: string, at: Date): Promise<ErasureTombstone | null> {
    const key = await this.existingKey(subject);
    const before = await this.tombstone(subject);
    if (!key) return before;
    const tomb: ErasureTombstone = {
      keyIds: [...(before?.keyIds ?? []), key.id],
      erasedAt: at.toISOString(),
      receipt,
    };
    // The tombstone first: a crash between the two leaves a key to destroy again, never a key without a record.
    replaceAtomically(join(this.dir, 'erased', `${subject}.json`), JSON.stringify(tomb));
    rmSync(this.keyFile(subject));
    return tomb;
  }
}

// Written by hand: write-file-atomic and its kin replace a file (temp + rename), none creates one exclusively.
// Every process of a host (the serve workers, the batch worker, the CLI) reads the same files while others
// create them, so a file must appear whole or not at all: written under a private temporary name, then
// hard-linked to its name (link fails with EEXIST when another writer was first, so the first one wins).
// No fsync per key: a new key costs one file, and 2.5M leads on a first batch cycle cannot each wait for the
// disk; a host crash can lose a key created just before it (docs/audit.md, "The key store").
function createExclusive(file: string, content: string): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeNew(temp, content);
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** A tombstone is replaced whole (temp + rename), so a reader never sees half of one. */
function replaceAtomically(file: string, content: string): void {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeNew(temp, content);
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Writes a file that must not exist yet (its name is private to this writer), readable by the owner only. */
function writeNew(file: string, content: string): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    const bytes = Buffer.from(content);
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
  } catch (error) {
    closeSync(fd);
    unlinkSync(file);
    throw error;
  }
  closeSync(fd);
}

export function openDirectoryKeyStore(dir: string, auditDir?: string): SubjectKeyStore {
  if (auditDir !== undefined) {
    const rel = relative(resolve(auditDir), resolve(dir));
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)))
      throw new Error(`the audit key directory ${dir} is inside the audit root ${auditDir}: keep it apart`);
  }
  return new DirectoryKeyStore(dir);
}

/** The sealed part of an entry as the line stores it. */
export const sealedSchema = z.strictObject({
  subject: z.string().regex(SUBJECT),
  key: z.string().regex(/^[0-9a-f]{16}$/),
  iv: z.string().min(1),
  data: z.string().min(1),
  tag: z.string().min(1),
});
export type Sealed = z.infer<typeof sealedSchema>;

/** AES-256-GCM (node:crypto); the subject and key id are bound as associated data. */
export function seal(plain: string, subject: string, key: SubjectKey): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(Buffer.from(`${subject}:${key.id}`));
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return {
    subject,
    key: key.id,
    iv: iv.toString('base64'),
    data: data.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

export function unseal(sealed: Sealed, key: SubjectKey): string {
  const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(`${sealed.subject}:${sealed.key}`));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString(
    'utf8',
  );
}
