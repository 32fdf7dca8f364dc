// Stands in for Bulk API 2.0 as a whole (/services/data/vXX.X/jobs/{ingest,query}).
import express, { type Router } from 'express';
import type { SimulatorContext } from '../context.js';
import { bulkErrorHandler } from './errors.js';
import { createIngestRouter } from './ingest-router.js';
import { createQueryRouter } from './query-router.js';
import { bulkRuntime, type BulkOptions } from './runtime.js';

export { bulkRuntime, type BulkOptions, type BulkRuntime } from './runtime.js';
export { BulkUsage, SALESFORCE_BULK_LIMITS, type BulkLimits } from './usage.js';
export { failIngestJobs, type IngestJobFailureSwitch } from './job-failures.js';

/** Bulk API 2.0 (`/services/data/:version/jobs/{ingest,query}`); mount behind the auth middleware. */
export function createBulkRouter(ctx: SimulatorContext, opts?: BulkOptions): Router {
  const runtime = bulkRuntime(ctx, opts);
  const router = express.Router({ mergeParams: true });
  router.use('/ingest', createIngestRouter(runtime));
  router.use('/query', createQueryRouter(runtime));
  router.use(bulkErrorHandler);
  return router;
}
