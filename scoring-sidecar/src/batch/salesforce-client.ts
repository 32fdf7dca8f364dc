// Moved to salesforce/ (one client for sync, batch and write-back); this shim keeps batch/ compiling until merge.
import type jsforce from 'jsforce';
import type { Logger } from 'pino';
import { SalesforceClient, type SalesforceClientOptions } from '../salesforce/index.js';
import type { BatchConfig } from './config.js';

export { backoffDelay, isRetryable, emptyClientStats, type ClientStats } from '../salesforce/index.js';
export type { IngestKey, IngestSpec, IngestOutcome, JobCheckpoint, RowFailure } from '../salesforce/index.js';

export class SalesforceBulkClient extends SalesforceClient {
  constructor(
    conn: jsforce.Connection,
    config: Pick<BatchConfig, 'http' | 'bulkPoll' | 'apiAllocation'>,
    log: Logger,
    onPause?: SalesforceClientOptions['onPause'],
  ) {
    super(conn, {
      retry: config.http,
      poll: config.bulkPoll,
      apiAllocation: config.apiAllocation,
      log,
      ...(onPause ? { onPause } : {}),
    });
  }
}
