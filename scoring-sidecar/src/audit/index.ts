// audit/: the region-local, append-only, hash-chained log of every score, and its signed checkpoints kept
// outside the writer's reach. See docs/audit.md.
export {
  type AuditEntry,
  type StoredEntry,
  auditEntrySchema,
  canonicalJson,
  SEALED_MEMBERS,
} from './entry.js';
export {
  type SubjectKeyStore,
  type SubjectKey,
  type ErasureTombstone,
  defaultKeyDir,
  openDirectoryKeyStore,
} from './subject-keys.js';
export { openDatabaseKeyStore, type DatabaseKeyStore } from './database-key-store.js';
export { KEY_STORE_KINDS, keyDatabaseUrlOf, subjectKeyStoreFromEnv } from './key-store-from-env.js';
// The hash the entries carry is the features' own (one definition, which the scoring pipeline computes).
export { featureHash } from '../features/index.js';
export {
  AUDIT_FSYNC_MODES,
  type AuditLog,
  type AuditLogOptions,
  AuditLogError,
  openAuditLog,
} from './audit-log.js';
export {
  type VerifyResult,
  type VerifyOptions,
  type AuditProblem,
  type ChainHead,
  verifyAuditLog,
  auditHistory,
  auditErasure,
  type HistoryOptions,
  problemText,
} from './verify.js';
export { auditLogStats } from './stats.js';
export {
  type ChainBase,
  type Checkpoint,
  type CheckpointSigner,
  checkpointSchema,
  generateAnchorKeyPair,
  localEd25519Signer,
  publicKeyFromPem,
  refuseSigningKeyInWriter,
  verifyCheckpoints,
} from './anchor.js';
export { type AnchorStore, type AnchorStoreOptions, openAnchorStore } from './anchor-store.js';
export { anchorAuditLog, AnchorRefused } from './checkpointing.js';
export { type AuditExpiry, type ExpiredChain, expireAuditSegments } from './expire.js';
