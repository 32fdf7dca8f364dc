// Stands in for Bulk API 2.0 successfulResults, failedResults and unprocessedrecords.
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import type { Response } from 'express';
import { parseOptions, stringifyOptions } from './csv-dialect.js';
import { INGEST_FILES } from './ingest-processor.js';
import type { IngestJob } from './ingest-job.js';

export type IngestResultKind = 'successfulResults' | 'failedResults' | 'unprocessedrecords';

/** Streams a result file from disk; a job that never produced one answers an empty CSV. */
export async function sendIngestResults(
  jobDir: string,
  job: IngestJob,
  kind: IngestResultKind,
  res: Response,
): Promise<void> {
  res.status(200).setHeader('Content-Type', 'text/csv');
  if (kind === 'unprocessedrecords') {
    await sendUnprocessed(path.join(jobDir, INGEST_FILES.upload), job, res);
    return;
  }
  const file = path.join(
    jobDir,
    kind === 'successfulResults' ? INGEST_FILES.successful : INGEST_FILES.failed,
  );
  if (!existsSync(file)) {
    res.end();
    return;
  }
  await pipeline(createReadStream(file), res);
}

/** Rows of the upload the processor never took (aborted or failed jobs), with the upload's header. */
async function sendUnprocessed(uploadFile: string, job: IngestJob, res: Response): Promise<void> {
  if (!existsSync(uploadFile)) {
    res.end();
    return;
  }
  let index = -1; // -1 = header row
  const skipConsumed = new Transform({
    objectMode: true,
    transform(row: string[], _enc, done) {
      index += 1;
      done(null, index === 0 || index > job.rowsConsumed ? row : undefined);
    },
  });
  await pipeline(
    createReadStream(uploadFile),
    parse({ ...parseOptions(job.dialect), relax_column_count: true }),
    skipConsumed,
    stringify(stringifyOptions(job.dialect)),
    res,
  );
}
