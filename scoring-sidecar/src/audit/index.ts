// audit/: the region-local, append-only, hash-chained log of every score. See docs/audit.md.
export { type AuditEntry, auditEntrySchema, canonicalJson } from './entry.js';
// The hash the entries carry is the features' own (one definition, which the scoring pipeline computes).
export { featureHash } from '../features/index.js';
export { type AuditLog, type AuditLogOptions, AuditLogError, openAuditLog } from './audit-log.js';
export { type VerifyResult, type AuditProblem, verifyAuditLog, auditHistory } from './verify.js';
