// The worker's sync role (`leadrank worker --roles ...,sync`): the continuous org sync of `leadrank sync run`,
// under a per-region Redis lease so that one worker per region syncs however many run the role. The others wait,
// log who holds the lease, and take over when the holder stops or dies (its lease expires).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { createRedisSyncLease, runSyncLoop, SyncRunningError } from '../ingest/index.js';
import type { Region } from '../inputs/index.js';
import { openSyncRuntime } from './sync.js';

export interface SyncRole {
  /** The sync's metrics (served on the worker's /metrics next to the worker's own registry). */
  registry: Registry;
  close(): Promise<void>;
}

export async function startSyncRole(o: {
  env: NodeJS.ProcessEnv;
  region: Region;
  redisUrl: string;
  log: Logger;
  workerRegistry: Registry;
  /** Pause between pulls; default config/sync.json intervalMs. */
  intervalMs?: number;
  leaseMs?: number;
}): Promise<SyncRole> {
  const log = o.log.child({ role: 'sync' });
  const rt = await openSyncRuntime({ ...o.env, REGION: o.region }, log, { defaultMetrics: false });
  const keyPrefix = o.env.LEADRANK_REDIS_PREFIX?.trim() || 'lr';
  const lease = createRedisSyncLease(o.redisUrl, o.region, {
    keyPrefix,
    // LEADRANK_SYNC_LEASE_MS: how soon a dead holder's region is taken over (tests and the soak shorten it).
    leaseMs: o.leaseMs ?? (Number(o.env.LEADRANK_SYNC_LEASE_MS) || 30_000),
  });
  const intervalMs = o.intervalMs ?? rt.config.intervalMs;
  const held = new Gauge({
    name: 'leadrank_sync_lease_held',
    help: 'Whether this worker holds its region sync lease and runs the sync (1) or waits for it (0)',
    labelNames: ['region'],
    registers: [o.workerRegistry],
  });
  held.set({ region: o.region }, 0);
  const stop = new AbortController();
  const loop = (async () => {
    let lastRefusal = '';
    while (!stop.signal.aborted) {
      let mine;
      try {
        mine = await lease.acquire();
      } catch (error) {
        const message = (error as Error).message;
        if (message !== lastRefusal)
          log[error instanceof SyncRunningError ? 'info' : 'error'](
            { err: message },
            'sync waits for its lease',
          );
        lastRefusal = message;
        await sleep(Math.min(intervalMs, 5_000), undefined, { signal: stop.signal }).catch(() => {});
        continue;
      }
      lastRefusal = '';
      held.set({ region: o.region }, 1);
      log.info({ region: o.region, intervalMs }, 'sync lease taken; syncing');
      try {
        const { pulls, failures } = await runSyncLoop({
          sync: rt.sync,
          intervalMs,
          signal: AbortSignal.any([stop.signal, mine.lost]),
          log,
          metrics: rt.metrics,
        });
        log.info({ pulls, failures, leaseLost: mine.lost.aborted }, 'sync loop stopped');
      } finally {
        held.set({ region: o.region }, 0);
        await mine.release();
      }
    }
  })();
  return {
    registry: rt.metrics.registry,
    close: async () => {
      stop.abort();
      await loop;
      await Promise.allSettled([rt.close(), lease.close()]);
    },
  };
}
