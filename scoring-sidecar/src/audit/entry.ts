// What one audit line records about one score, and the hashing both the writer and the verifier use.
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Strict: an unknown field (a name, an email…) is refused, so nothing personal rides along. */
export const auditEntrySchema = z.strictObject({
  requestId: z.string().min(1).max(200),
  caller: z.string().min(1).max(200),
  leadId: z.string().min(1).max(64),
  region: z.enum(['US', 'EU']),
  modelVersion: z.string().min(1).max(200),
  source: z.enum(['model', 'rules']),
  fallbackReason: z.string().max(500).optional(),
  featureVector: z.array(z.number().finite().nullable()),
  featureNames: z.array(z.string()).optional(),
  featureHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest'),
  score: z.number().finite(),
  band: z.string().min(1).max(8),
  probability: z.number().min(0).max(1),
  reasons: z.array(z.string().max(1000)),
  nextBestAction: z.string().max(200).optional(),
  scoredAt: z.iso.datetime({ offset: true }),
  /** Where the score was made: absent or "online" (the API), "batch" (a cycle, named by cycleId). */
  origin: z.enum(['online', 'batch']).optional(),
  cycleId: z.string().min(1).max(64).optional(),
});

export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * JSON with sorted keys and no whitespace, so a hash covers values, not formatting. Hand-written: the
 * lines hold plain JSON only (strings, finite numbers, booleans, null, arrays, objects), which these few
 * lines canonicalize fully.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    // Arrays of primitives (feature vectors, names, reason lines) have no keys to sort: JSON.stringify is
    // already canonical for them (undefined and NaN print as null either way) and far faster.
    if (value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value);
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`)
    .join(',')}}`;
}
