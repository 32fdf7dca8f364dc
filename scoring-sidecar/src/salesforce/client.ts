// The one Salesforce client of Leadrank: REST query/queryAll, Bulk API 2.0 query and ingest, sObject
// Collections, all over one transport (one retry and poll policy, the API allocation guard, the counters).
import type { BulkQueryOptions, BulkRow } from './bulk-query.js';
import { bulkQueryRows } from './bulk-query.js';
import { runIngestJob, type IngestOutcome, type IngestSpec, type JobCheckpoint } from './bulk-ingest.js';
import { saveCollection, type CollectionRecord, type CollectionResult } from './collections.js';
import { restQuery, type SObjectRow } from './rest-query.js';
import { SalesforceTransport } from './transport.js';

export class SalesforceClient extends SalesforceTransport {
  /** REST query (small, selective reads). */
  query(soql: string): AsyncGenerator<SObjectRow> {
    return restQuery(this, soql);
  }

  /** REST queryAll: deleted and merged records too (IsDeleted, MasterRecordId). */
  queryAll(soql: string): AsyncGenerator<SObjectRow> {
    return restQuery(this, soql, { all: true });
  }

  /** Bulk API 2.0 query job, streamed page by page. */
  bulkQuery(soql: string, opts: BulkQueryOptions = {}): AsyncGenerator<BulkRow> {
    return bulkQueryRows(this, soql, opts);
  }

  runIngestJob(spec: IngestSpec, checkpoint: JobCheckpoint): Promise<IngestOutcome> {
    return runIngestJob(this, spec, checkpoint);
  }

  /** sObject Collections update by Id (≤ 200 a call), locked rows retried. */
  updateRecords(object: string, records: CollectionRecord[]): Promise<CollectionResult[]> {
    return saveCollection(this, object, records);
  }

  /** sObject Collections upsert by an external id field. */
  upsertRecords(
    object: string,
    externalIdField: string,
    records: CollectionRecord[],
  ): Promise<CollectionResult[]> {
    return saveCollection(this, object, records, { externalIdField });
  }
}
