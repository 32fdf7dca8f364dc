// Moved to ingest/ (the org sync's own home); this shim keeps old imports working until merge.
export { syncFromOrg, type OrgSyncResult } from '../ingest/index.js';
