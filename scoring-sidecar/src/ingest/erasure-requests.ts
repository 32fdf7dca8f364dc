// Erasure requests from the org sync (docs/audit.md "Erasure"): a lead deleted or merged in the org, or whose
// Individual asks to be forgotten (ShouldForget), is queued on `leadrank-privacy-<region>` (BullMQ, REDIS_URL),
// which the worker's privacy role consumes (privacy/requests.ts: eraseLead with the deployment's targets).
// ingest/ sits below privacy/ (.dependency-cruiser.mjs STAGES), so the sync only queues; it never erases.
// A merge or a ShouldForget is erased at once; a (soft) delete only after the Recycle Bin window, since a
// deleted lead can be undeleted until then: an undelete the sync sees cancels the delayed request.
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Region } from '../inputs/index.js';

export const SYNC_ERASURE_REASONS = ['lead-deleted', 'lead-merged', 'individual-forget'] as const;
export type SyncErasureReason = (typeof SYNC_ERASURE_REASONS)[number];

/** One job's payload: the lead id, its region and why; nothing else of the lead. */
export interface SyncErasureRequest {
  leadId: string;
  region: Region;
  reason: SyncErasureReason;
}

/** Salesforce keeps deleted records in the Recycle Bin for 15 days; an undelete is possible until then. */
export const RECYCLE_BIN_MS = 15 * 86_400_000;

export function erasureQueueName(region: Region): string {
  return `leadrank-privacy-${region}`;
}

/**
 * The same lead for the same reason is one job, however often the sync reads it again (overlap window). A hash,
 * not the lead id: BullMQ keeps job ids in its event stream, which outlives the job.
 */
export const erasureJobId = (r: Pick<SyncErasureRequest, 'leadId' | 'reason'>) =>
  `${r.reason}-${createHash('sha256').update(r.leadId).digest('hex').slice(0, 32)}`;

export const ERASURE_JOB_OPTS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 5_000 },
  // The job names the lead: it must not outlive the erasure. A request that keeps failing leaves its
  // "incomplete" receipt (privacy/receipts.ts) and is run again with `leadrank privacy erase`.
  removeOnComplete: true,
  removeOnFail: true,
} as const;

export interface ErasureRequestQueue {
  readonly name: string;
  add(requests: SyncErasureRequest[]): Promise<void>;
  /** Undeleted leads: their delayed `lead-deleted` requests are dropped. */
  cancelDeleted(leadIds: string[]): Promise<number>;
  close(): Promise<void>;
}

export function createErasureRequestQueue(
  redisUrl: string,
  region: Region,
  opts: { prefix?: string; deleteDelayMs?: number } = {},
): ErasureRequestQueue {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => {});
  const name = erasureQueueName(region);
  const queue = new Queue(name, { connection, ...(opts.prefix ? { prefix: opts.prefix } : {}) });
  const deleteDelayMs = opts.deleteDelayMs ?? RECYCLE_BIN_MS;
  return {
    name,
    async add(requests) {
      if (requests.length === 0) return;
      await queue.addBulk(
        requests.map((r) => ({
          name: r.reason,
          data: r,
          opts: {
            jobId: erasureJobId(r),
            ...(r.reason === 'lead-deleted' ? { delay: deleteDelayMs } : {}),
            ...ERASURE_JOB_OPTS,
          },
        })),
      );
    },
    async cancelDeleted(leadIds) {
      if (leadIds.length === 0) return 0;
      // One pipelined EXISTS for the batch (Queue.remove answers 1 for a job that does not exist), then a
      // remove for the few that do.
      const jobIds = leadIds.map((leadId) => erasureJobId({ leadId, reason: 'lead-deleted' }));
      const base = `${opts.prefix ?? 'bull'}:${name}:`;
      const pipeline = connection.pipeline();
      for (const id of jobIds) pipeline.exists(`${base}${id}`);
      const exists = (await pipeline.exec()) ?? [];
      let removed = 0;
      for (const [i, id] of jobIds.entries())
        if (exists[i]?.[1] === 1 && (await queue.remove(id)) === 1) removed++;
      return removed;
    },
    async close() {
      await queue.close();
      await connection.quit().catch(() => {});
    },
  };
}
