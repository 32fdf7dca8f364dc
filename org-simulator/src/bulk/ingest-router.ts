// Stands in for the Bulk API 2.0 ingest endpoints (/jobs/ingest).
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { toId18 } from '../ids.js';
import { BulkApiError, invalidJobState, jobNotFound } from './errors.js';
import { ingestJobInfo, ingestJobListEntry, parseIngestJobRequest, type IngestJob } from './ingest-job.js';
import { INGEST_FILES, startIngestProcessing } from './ingest-processor.js';
import { sendIngestResults, type IngestResultKind } from './ingest-results.js';
import { touch, versionSegment } from './job-info.js';
import { listJobs } from './job-list.js';
import { canDelete, clientTransitionError, isFinal } from './job-state.js';
import { createdById, requestApiVersion } from './request-info.js';
import type { BulkRuntime } from './runtime.js';
import { drain, receiveUpload } from './upload.js';

/** Routes under /jobs/ingest. */
export function createIngestRouter(runtime: BulkRuntime): Router {
  const router = express.Router({ mergeParams: true });
  const json = express.json({ limit: '1mb' });

  const findJob = (req: Request): IngestJob => {
    const id = toId18(String(req.params.jobId));
    const job = id ? runtime.ingestJobs.get(id) : undefined;
    if (!job) throw jobNotFound();
    return job;
  };

  router.post('/', json, (req, res) => {
    if (runtime.usage.remainingBatches() < 1) {
      throw new BulkApiError(
        400,
        'EXCEEDEDQUOTA',
        'The Bulk API batch allocation for the past 24 hours is used up',
      );
    }
    const request = parseIngestJobRequest(req.body, runtime.ctx.schema);
    const now = new Date();
    const job: IngestJob = {
      ...request,
      id: runtime.nextJobId(),
      createdById: createdById(res),
      createdDate: now,
      systemModstamp: now,
      state: 'Open',
      apiVersion: requestApiVersion(req, runtime.ctx.apiVersion),
      numberRecordsProcessed: 0,
      numberRecordsFailed: 0,
      retries: 0,
      totalProcessingTime: 0,
      apiActiveProcessingTime: 0,
      uploads: 0,
      rowsConsumed: 0,
    };
    mkdirSync(runtime.jobDir(job.id), { recursive: true });
    runtime.ingestJobs.set(job.id, job);
    runtime.ctx.logger.info(
      { jobId: job.id, object: job.object, operation: job.operation },
      'bulk ingest job created',
    );
    res.status(200).json(ingestJobInfo(job));
  });

  router.get('/', (req, res) => {
    const version = versionSegment(requestApiVersion(req, runtime.ctx.apiVersion));
    res.json(
      listJobs(
        runtime.ingestJobs.values(),
        req.query.queryLocator,
        `/services/data/${version}/jobs/ingest`,
        ingestJobListEntry,
      ),
    );
  });

  router.get('/:jobId', (req, res) => {
    res.json(ingestJobInfo(findJob(req)));
  });

  router.put('/:jobId/batches', async (req, res) => {
    const job = findJob(req);
    if (job.state !== 'Open') {
      await drain(req);
      throw invalidJobState(
        `Job ${job.id} is not in state Open (state: ${job.state}); data can only be uploaded to an open job`,
      );
    }
    job.uploads += 1;
    if (job.uploads > 1) {
      // Salesforce takes the second PUT, then refuses to close the job (see PATCH).
      await drain(req);
    } else {
      const file = path.join(runtime.jobDir(job.id), INGEST_FILES.upload);
      try {
        const bytes = await receiveUpload(req, file, runtime.config.maxUploadBytes);
        runtime.ctx.logger.info({ jobId: job.id, bytes }, 'bulk ingest data uploaded');
      } catch (err) {
        job.uploads -= 1;
        throw err;
      }
    }
    touch(job);
    res.status(201).end();
  });

  router.patch('/:jobId', json, (req, res) => {
    const job = findJob(req);
    const requested = (req.body as { state?: unknown } | undefined)?.state;
    const refusal = clientTransitionError('ingest', job.state, requested);
    if (refusal) throw invalidJobState(refusal);
    if (requested === 'UploadComplete' && job.uploads > 1) {
      throw new BulkApiError(
        400,
        'INVALIDJOB',
        `Found multipe contents for job: <${job.id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.`,
      );
    }
    if (requested === 'Aborted') {
      touch(job, 'Aborted');
    } else {
      touch(job, 'UploadComplete');
      startIngestProcessing(runtime, job);
    }
    res.json(ingestJobInfo(job));
  });

  router.delete('/:jobId', async (req, res) => {
    const job = findJob(req);
    if (!canDelete(job.state)) {
      throw invalidJobState(`Job ${job.id} can't be deleted in state ${job.state}`);
    }
    runtime.ingestJobs.delete(job.id);
    await job.processing;
    await rm(runtime.jobDir(job.id), { recursive: true, force: true });
    res.status(204).end();
  });

  const results = (kind: IngestResultKind) => async (req: Request, res: Response) => {
    const job = findJob(req);
    if (!isFinal(job.state)) {
      throw invalidJobState(
        `Job ${job.id} is not complete (state: ${job.state}); results are available once it is`,
      );
    }
    await job.processing;
    await sendIngestResults(runtime.jobDir(job.id), job, kind, res);
  };
  router.get('/:jobId/successfulResults', results('successfulResults'));
  router.get('/:jobId/failedResults', results('failedResults'));
  router.get('/:jobId/unprocessedrecords', results('unprocessedrecords'));

  return router;
}
