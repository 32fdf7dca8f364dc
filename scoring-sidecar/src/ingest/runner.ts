// The sync as a long-running process: one pull, a pause, the next; a failed pull is logged, counted and
// tried again at the next tick (its watermark was not advanced). Stops between pulls on the signal.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { SyncMetrics } from './metrics.js';
import type { OrgSync, SyncOutcome } from './org-sync.js';

export function outcomeSummary(o: SyncOutcome): Record<string, unknown> {
  return {
    mode: o.mode,
    rowsRead: o.rowsRead,
    upserted: o.upserted,
    closed: o.closed,
    ...o.removed,
    duplicates: o.duplicates,
    reconciled: o.reconciled,
    accounts: o.accounts,
    watermark: o.watermark,
  };
}

export async function runSyncLoop(opts: {
  sync: OrgSync;
  intervalMs: number;
  once?: boolean;
  signal?: AbortSignal;
  log: Logger;
  metrics?: SyncMetrics;
}): Promise<{ pulls: number; failures: number }> {
  let pulls = 0;
  let failures = 0;
  while (!opts.signal?.aborted) {
    const started = Date.now();
    try {
      const outcome = await opts.sync.runOnce();
      pulls++;
      opts.metrics?.pulled(outcome);
      opts.log.info({ ...outcomeSummary(outcome), ms: Date.now() - started }, 'sync pull done');
    } catch (error) {
      failures++;
      opts.metrics?.failed();
      opts.log.error(
        { err: (error as Error).message, ms: Date.now() - started },
        'sync pull failed; retried next tick',
      );
      if (opts.once) throw error;
    }
    if (opts.once) break;
    try {
      await sleep(opts.intervalMs, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      break; // aborted while waiting
    }
  }
  return { pulls, failures };
}
