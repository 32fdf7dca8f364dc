// salesforce/: the transport to a Salesforce org (or the org simulator): authorization and one client.
export {
  connectToOrg,
  orgAuthFromEnv,
  signJwtAssertion,
  DEFAULT_API_VERSION,
  type OrgAuth,
} from './org-connection.js';
export { SalesforceClient } from './client.js';
export {
  SalesforceTransport,
  DEFAULT_POLL_POLICY,
  DEFAULT_RETRY_POLICY,
  emptyClientStats,
  type ApiAllocationPolicy,
  type CallSpec,
  type ClientStats,
  type PollPolicy,
  type RetryPolicy,
  type SalesforceClientOptions,
} from './transport.js';
export { SalesforceError, isRetryable, isNetworkError, LOCK_CODE } from './errors.js';
export {
  bulkQuery,
  bulkQueryRows,
  BulkQueryError,
  type BulkQueryOptions,
  type BulkRow,
} from './bulk-query.js';
export type { IngestKey, IngestOutcome, IngestSpec, JobCheckpoint, RowFailure } from './bulk-ingest.js';
export { COLLECTION_LIMIT, type CollectionRecord, type CollectionResult } from './collections.js';
export type { SObjectRow } from './rest-query.js';
export { backoffDelay } from './backoff.js';
