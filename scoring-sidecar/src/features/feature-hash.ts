// The identity of one encoded vector: what the audit log records and what lets a reader prove two scores were
// computed from the same inputs (online and batch hash the vector the model read, not the raw fields).
import { createHash } from 'node:crypto';

/** sha256 hex of the spec hash and the vector: equal inputs, equal digest, in any process. */
export function featureHash(vector: readonly (number | null)[], specHash: string): string {
  // JSON.stringify prints each double in its shortest round-tripping form, so the text is stable.
  const text = `${specHash}\n${JSON.stringify(vector.map((v) => (v === null || Number.isNaN(v) ? null : v)))}`;
  return createHash('sha256').update(text).digest('hex');
}
