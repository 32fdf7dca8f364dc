// What one audit line records about one score, and the hashing both the writer and the verifier use.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { sealedSchema } from './subject-keys.js';

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

/**
 * The members of an entry that are sealed with the subject's key (docs/audit.md "Erasure"): whatever identifies the
 * lead or describes it. The rest (caller, region, model, source, score, band, probability, time) stays clear, so
 * that counts and model statistics survive an erasure without saying whom they were about.
 */
export const SEALED_MEMBERS = [
  'leadId',
  'requestId',
  'featureVector',
  'featureNames',
  'featureHash',
  'reasons',
  'nextBestAction',
] as const;
export type SealedMember = (typeof SEALED_MEMBERS)[number];
export type ClearEntry = Omit<AuditEntry, SealedMember>;

/** An entry as a line stores it: the clear members and the sealed rest. */
export const storedEntrySchema = auditEntrySchema
  .omit({
    leadId: true,
    requestId: true,
    featureVector: true,
    featureNames: true,
    featureHash: true,
    reasons: true,
    nextBestAction: true,
  })
  .extend({ sealed: sealedSchema });
export type StoredEntry = z.infer<typeof storedEntrySchema>;

/** What a line's `entry` may be: sealed, or (lines written before sealing) the whole entry in clear. */
export const lineEntrySchema = z.union([storedEntrySchema, auditEntrySchema]);

/** The sealed members of an entry, as the text that is encrypted. */
export function sealedPart(entry: AuditEntry): string {
  const part: Record<string, unknown> = {};
  for (const k of SEALED_MEMBERS) part[k] = entry[k];
  return canonicalJson(part);
}

export function clearPart(entry: AuditEntry): ClearEntry {
  const clear: Record<string, unknown> = { ...entry };
  for (const k of SEALED_MEMBERS) delete clear[k];
  return clear as ClearEntry;
}

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
