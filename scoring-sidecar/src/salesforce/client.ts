// The one Salesforce client of Leadrank: REST query/queryAll, Bulk API 2.0 query and ingest, sObject
// Collections, all over one transport (one retry and poll policy, the API allocation guard, the counters).
// Every call goes through the names layer (`names`, config/salesforce.ts): callers write the package's names
// as force-app spells them ('Lead_Score__c'); the org sees them under the package namespace ('ns__Lead_Score__c').
import { ConfigError } from '../config/index.js';
import type { BulkQueryOptions, BulkRow } from './bulk-query.js';
import { bulkQueryRows } from './bulk-query.js';
import { runIngestJob, type IngestOutcome, type IngestSpec, type JobCheckpoint } from './bulk-ingest.js';
import { saveCollection, type CollectionRecord, type CollectionResult } from './collections.js';
import { restQuery, type SObjectRow } from './rest-query.js';
import { SalesforceTransport } from './transport.js';

export class SalesforceClient extends SalesforceTransport {
  /** REST query (small, selective reads). */
  query(soql: string): AsyncGenerator<SObjectRow> {
    return this.localRows(restQuery(this, this.names.soql(soql)));
  }

  /** REST queryAll: deleted and merged records too (IsDeleted, MasterRecordId). */
  queryAll(soql: string): AsyncGenerator<SObjectRow> {
    return this.localRows(restQuery(this, this.names.soql(soql), { all: true }));
  }

  /** Bulk API 2.0 query job, streamed page by page. */
  bulkQuery(soql: string, opts: BulkQueryOptions = {}): AsyncGenerator<BulkRow> {
    const columnName = this.names.namespace ? { columnName: this.names.local } : {};
    return bulkQueryRows(this, this.names.soql(soql), { ...opts, ...columnName });
  }

  runIngestJob(spec: IngestSpec, checkpoint: JobCheckpoint): Promise<IngestOutcome> {
    const n = this.names;
    return runIngestJob(
      this,
      {
        ...spec,
        object: n.qualify(spec.object),
        keyColumn: n.qualify(spec.keyColumn),
        csv: n.csv(spec.csv),
        ...(spec.externalIdFieldName ? { externalIdFieldName: n.qualify(spec.externalIdFieldName) } : {}),
      },
      checkpoint,
    );
  }

  /** sObject Collections update by Id (≤ 200 a call), locked rows retried. */
  updateRecords(object: string, records: CollectionRecord[]): Promise<CollectionResult[]> {
    return saveCollection(this, this.names.qualify(object), records.map(this.names.record));
  }

  /** sObject Collections upsert by an external id field. */
  upsertRecords(
    object: string,
    externalIdField: string,
    records: CollectionRecord[],
  ): Promise<CollectionResult[]> {
    return saveCollection(this, this.names.qualify(object), records.map(this.names.record), {
      externalIdField: this.names.qualify(externalIdField),
    });
  }

  /**
   * The start-up check that the org holds the package under the configured namespace: Lead's describe must
   * list the qualified Lead_Score__c. A mismatch (config/salesforce.json says 'lrk', the org has the unpackaged
   * fields, or the reverse) is a ConfigError naming both names, before anything is read or written.
   */
  async verifyNamespace(): Promise<void> {
    const describe = await this.request<{ fields: { name: string }[] }>({
      method: 'GET',
      path: '/sobjects/Lead/describe',
    });
    const expected = this.names.qualify('Lead_Score__c');
    const fields = new Set(describe.fields.map((f) => f.name.toLowerCase()));
    if (fields.has(expected.toLowerCase())) return;
    const found = describe.fields.find((f) => /(^|__)Lead_Score__c$/i.test(f.name))?.name;
    const ns = found ? (found.includes('__Lead') ? found.split('__')[0] : '') : null;
    throw new ConfigError(
      `config/salesforce.json: namespace '${this.names.namespace}' expects Lead.${expected}, which the org does not have` +
        (ns === null
          ? ': the Leadrank package is not installed there'
          : ` (it has Lead.${found}: the installed package's namespace is '${ns}')`),
    );
  }

  private async *localRows(rows: AsyncGenerator<SObjectRow>): AsyncGenerator<SObjectRow> {
    if (!this.names.namespace) return yield* rows;
    for await (const row of rows) yield this.names.localRow(row);
  }
}
