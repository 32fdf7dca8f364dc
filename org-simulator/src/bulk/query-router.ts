// Stands in for the Bulk API 2.0 query endpoints (/jobs/query).
import { rm } from 'node:fs/promises';
import express, { type Request, type Router } from 'express';
import { toId18 } from '../ids.js';
import { BulkApiError, invalidJobState, jobNotFound } from './errors.js';
import { touch, versionSegment } from './job-info.js';
import { listJobs } from './job-list.js';
import { canDelete, clientTransitionError } from './job-state.js';
import { parseQueryJobRequest, queryJobInfo, queryJobListEntry, type QueryJob } from './query-job.js';
import { parseMaxRecords, sendResultsPage, startQueryProcessing } from './query-results.js';
import { createdById, requestApiVersion } from './request-info.js';
import type { BulkRuntime } from './runtime.js';

/** Routes under /jobs/query. */
export function createQueryRouter(runtime: BulkRuntime): Router {
  const router = express.Router({ mergeParams: true });
  const json = express.json({ limit: '1mb' });

  const findJob = (req: Request): QueryJob => {
    const id = toId18(String(req.params.jobId));
    const job = id ? runtime.queryJobs.get(id) : undefined;
    if (!job) throw jobNotFound();
    return job;
  };

  router.post('/', json, (req, res) => {
    if (runtime.usage.remainingQueryJobs() < 1) {
      throw new BulkApiError(
        400,
        'EXCEEDEDQUOTA',
        'The Bulk API 2.0 query job allocation for the past 24 hours is used up',
      );
    }
    const request = parseQueryJobRequest(req.body, runtime.ctx.store);
    const now = new Date();
    const job: QueryJob = {
      ...request,
      id: runtime.nextJobId(),
      object: request.query.object,
      createdById: createdById(res),
      createdDate: now,
      systemModstamp: now,
      state: 'UploadComplete',
      apiVersion: requestApiVersion(req, runtime.ctx.apiVersion),
      numberRecordsProcessed: 0,
      retries: 0,
      totalProcessingTime: 0,
    };
    runtime.queryJobs.set(job.id, job);
    runtime.usage.record('queryJobs');
    runtime.ctx.logger.info(
      { jobId: job.id, object: job.object, operation: job.operation },
      'bulk query job created',
    );
    startQueryProcessing(runtime, job);
    res.status(200).json(queryJobInfo(job));
  });

  router.get('/', (req, res) => {
    const version = versionSegment(requestApiVersion(req, runtime.ctx.apiVersion));
    res.json(
      listJobs(
        runtime.queryJobs.values(),
        req.query.queryLocator,
        `/services/data/${version}/jobs/query`,
        queryJobListEntry,
      ),
    );
  });

  router.get('/:jobId', (req, res) => {
    res.json(queryJobInfo(findJob(req)));
  });

  router.get('/:jobId/results', async (req, res) => {
    const job = findJob(req);
    if (job.state !== 'JobComplete') {
      throw invalidJobState(
        `Job ${job.id} is not complete (state: ${job.state}); results are available once it is`,
      );
    }
    const maxRecords = parseMaxRecords(req.query.maxRecords, runtime.config.defaultQueryPageSize);
    const locator = typeof req.query.locator === 'string' ? req.query.locator : undefined;
    await sendResultsPage(runtime, job, locator, maxRecords, res);
  });

  router.patch('/:jobId', json, (req, res) => {
    const job = findJob(req);
    const requested = (req.body as { state?: unknown } | undefined)?.state;
    const refusal = clientTransitionError('query', job.state, requested);
    if (refusal) throw invalidJobState(refusal);
    touch(job, 'Aborted');
    res.json(queryJobInfo(job));
  });

  router.delete('/:jobId', async (req, res) => {
    const job = findJob(req);
    if (!canDelete(job.state)) throw invalidJobState(`Job ${job.id} can't be deleted in state ${job.state}`);
    runtime.queryJobs.delete(job.id);
    await job.processing;
    await rm(runtime.jobDir(job.id), { recursive: true, force: true });
    res.status(204).end();
  });

  return router;
}
