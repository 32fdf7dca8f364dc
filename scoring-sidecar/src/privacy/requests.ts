// The worker's privacy role: consumes the erasure requests the org sync queues (`leadrank-privacy-<region>`,
// ingest/erasure-requests.ts) and erases each lead with the deployment's targets (from-env.ts), like
// `leadrank privacy erase` does. A `lead-deleted` request runs after the Recycle Bin window; a lead that is back
// in the store by then (undeleted, synced again) is not erased. An incomplete erasure fails the job, which
// BullMQ retries; logs carry the receipt id and reason, never the lead id.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { erasureQueueName, type SyncErasureRequest } from '../ingest/index.js';
import type { Region } from '../store/index.js';
import type { ReceiptStore } from './receipts.js';
import { eraseLead, type ErasureOutcome } from './service.js';
import type { ErasureTarget } from './targets.js';

export interface ErasureConsumerOptions {
  redisUrl: string;
  region: Region;
  /** BullMQ prefix (LEADRANK_BULLMQ_PREFIX), as the sync's producer uses. */
  prefix?: string;
  targets: ErasureTarget[];
  receipts: ReceiptStore;
  /** True when the lead is in the online store again (an undelete the sync applied). */
  isLive(leadId: string): Promise<boolean>;
  log: Logger;
  concurrency?: number;
}

export type ErasureJobResult = { kind: ErasureOutcome['kind'] | 'undeleted'; receipt: string | null };

export function startErasureConsumer(o: ErasureConsumerOptions): { close(): Promise<void> } {
  const connection = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => {});
  const worker = new Worker<SyncErasureRequest, ErasureJobResult>(
    erasureQueueName(o.region),
    async (job) => {
      const { leadId, region, reason } = job.data;
      if (reason === 'lead-deleted' && (await o.isLive(leadId))) {
        o.log.info({ reason, job: job.id }, 'erasure request dropped: the lead was undeleted');
        return { kind: 'undeleted', receipt: null };
      }
      const outcome = await eraseLead(
        { id: leadId, region, reason },
        { region: o.region, targets: o.targets, receipts: o.receipts },
      );
      const receipt = outcome.kind === 'unknown' ? null : outcome.receipt.id;
      if (outcome.kind === 'incomplete') throw new Error(`erasure incomplete (receipt ${receipt}): retried`);
      o.log.info({ reason, receipt, outcome: outcome.kind }, 'erasure request done');
      return { kind: outcome.kind, receipt };
    },
    { connection, concurrency: o.concurrency ?? 1, ...(o.prefix ? { prefix: o.prefix } : {}) },
  );
  worker.on('error', (error) => o.log.warn({ err: error.message }, 'erasure consumer error'));
  worker.on('failed', (job, error) =>
    o.log.warn({ job: job?.id, err: error.message, attempts: job?.attemptsMade }, 'erasure request failed'),
  );
  return {
    async close() {
      await worker.close();
      await connection.quit().catch(() => {});
    },
  };
}
