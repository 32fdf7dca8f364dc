// Erasure requests and receipts. A receipt records what was erased, where and when, without the subject's data:
// the subject appears only as a salted hash (the salt stays in the receipt directory), and the receipt id is
// derived from it, so a second request for the same lead finds the first receipt (idempotent).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const ERASURE_REASONS = [
  'subject-request',
  'lead-deleted',
  'lead-merged',
  'individual-forget',
] as const;

/** A Salesforce record id (15 or 18 characters); nothing else is accepted as a subject. */
export const erasureRequestSchema = z.strictObject({
  id: z.string().regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/, 'must be a 15 or 18 character Salesforce Id'),
  region: z.enum(['US', 'EU']).optional(),
  // An enumerated reason, not free text: a note could carry the very personal data being erased.
  reason: z.enum(ERASURE_REASONS).default('subject-request'),
});
export type ErasureRequest = z.infer<typeof erasureRequestSchema>;

export const erasureStepSchema = z.strictObject({
  store: z.string(),
  where: z.string(),
  /** Items removed (rows, keys, files rewritten, keys destroyed); null when the store does not say. */
  removed: z.number().int().nullable(),
  at: z.string(),
  error: z.string().optional(),
});
export type ErasureStep = z.infer<typeof erasureStepSchema>;

export const receiptSchema = z.strictObject({
  id: z.string().regex(/^er_[0-9a-f]{24}$/),
  /** sha256(salt + region + ":" + lead id), hex: tells requests for one subject apart, identifies no one. */
  subject: z.string().regex(/^[0-9a-f]{64}$/),
  region: z.enum(['US', 'EU']),
  reason: z.enum(ERASURE_REASONS),
  requestedAt: z.string(),
  completedAt: z.string().nullable(),
  status: z.enum(['pending', 'done', 'incomplete']),
  steps: z.array(erasureStepSchema),
});
export type ErasureReceipt = z.infer<typeof receiptSchema>;

export interface ReceiptStore {
  readonly description: string;
  subjectHash(region: string, leadId: string): Promise<string>;
  get(id: string): Promise<ErasureReceipt | null>;
  save(receipt: ErasureReceipt): Promise<void>;
  remove(id: string): Promise<void>;
}

export const receiptIdOf = (subject: string): string => `er_${subject.slice(0, 24)}`;

class DirectoryReceiptStore implements ReceiptStore {
  private salt: Promise<string> | null = null;
  constructor(private readonly dir: string) {}

  get description(): string {
    return `receipt directory ${this.dir}`;
  }

  private saltOf(): Promise<string> {
    this.salt ??= (async () => {
      await mkdir(join(this.dir, 'receipts'), { recursive: true, mode: 0o700 });
      const file = join(this.dir, 'receipt.salt');
      try {
        await writeFile(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      return (await readFile(file, 'utf8')).trim();
    })();
    return this.salt;
  }

  async subjectHash(region: string, leadId: string): Promise<string> {
    return createHash('sha256')
      .update(`${await this.saltOf()}${region}:${leadId}`)
      .digest('hex');
  }

  private file(id: string): string {
    if (!/^er_[0-9a-f]{24}$/.test(id)) throw new Error(`not a receipt id: ${id.slice(0, 40)}`);
    return join(this.dir, 'receipts', `${id}.json`);
  }

  async get(id: string): Promise<ErasureReceipt | null> {
    await this.saltOf();
    try {
      return receiptSchema.parse(JSON.parse(await readFile(this.file(id), 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async save(receipt: ErasureReceipt): Promise<void> {
    await this.saltOf();
    const file = this.file(receipt.id);
    await writeFile(`${file}.tmp`, `${JSON.stringify(receiptSchema.parse(receipt), null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  }

  async remove(id: string): Promise<void> {
    await rm(this.file(id), { force: true });
  }
}

/** LEADRANK_PRIVACY_DIR, default <root>/var/privacy: receipts/<id>.json and the salt. */
export function openReceiptStore(dir: string): ReceiptStore {
  return new DirectoryReceiptStore(dir);
}
