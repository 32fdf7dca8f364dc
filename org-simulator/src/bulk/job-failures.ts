// A fault switch for Bulk API 2.0 ingest jobs that end `Failed` part way: Salesforce processes an ingest job in
// internal batches and commits each one, so a job that fails after some batches (an internal error, a quota
// reached) has committed those rows; its successfulResults and failedResults list them and unprocessedrecords
// the rest (Bulk API 2.0 Developer Guide, "Get Job Successful/Failed/Unprocessed Record Results"). The switch
// makes the next `jobs` ingest jobs on `object` fail once `afterRows` of their rows are processed.
import type { SimulatorContext } from '../context.js';

export interface IngestJobFailureSwitch {
  object: string;
  /** Rows each failing job processes (and commits) before it fails; whole internal batches. */
  afterRows: number;
  /** How many jobs fail; each failing job counts one. */
  jobs: number;
  /** The job's errorMessage. */
  message?: string;
}

const switches = new WeakMap<SimulatorContext, IngestJobFailureSwitch[]>();
const failing = new WeakMap<object, IngestJobFailureSwitch>();

/** Arms a switch (tests, `PUT /__admin/bulk-job-failures`). */
export function failIngestJobs(ctx: SimulatorContext, s: IngestJobFailureSwitch): void {
  if (!(Number.isInteger(s.afterRows) && s.afterRows >= 0)) throw new RangeError('afterRows: integer >= 0');
  if (!(Number.isInteger(s.jobs) && s.jobs >= 1)) throw new RangeError('jobs: integer >= 1');
  const list = switches.get(ctx) ?? [];
  list.push({ ...s });
  switches.set(ctx, list);
}

/**
 * Called before each internal batch: the failure message once a job picked by a switch has processed its
 * `afterRows`, else null. A job is picked when it first asks, while its switch still has jobs to fail.
 */
export function ingestJobFailureBefore(
  ctx: SimulatorContext,
  job: { object: string; rowsConsumed: number },
): string | null {
  let armed = failing.get(job);
  if (!armed) {
    const list = switches.get(ctx) ?? [];
    const s = list.find((x) => x.object === job.object && x.jobs > 0);
    if (!s) return null;
    s.jobs -= 1;
    if (s.jobs === 0) list.splice(list.indexOf(s), 1);
    armed = s;
    failing.set(job, s);
  }
  return job.rowsConsumed >= armed.afterRows
    ? (armed.message ?? 'InternalError : the job failed while processing its records')
    : null;
}
