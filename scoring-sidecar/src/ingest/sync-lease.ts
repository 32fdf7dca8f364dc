// One org sync per region at a time, across hosts: a lease in Redis (`<prefix>:{<region>}:sync:running`, SET NX
// PX, renewed while the holder syncs, released by its holder only). Two syncs of one region would both write the
// same rows (harmless, but twice the API calls); the lease makes the second wait. A holder that dies frees the
// region when its lease expires; a holder whose lease was lost (Redis restarted without persistence and another
// worker took it) is told through `lost` and stops syncing.
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Region } from '../inputs/index.js';

export interface SyncLeaseHolder {
  host: string;
  pid: number;
  since: string;
}

export class SyncRunningError extends Error {
  constructor(readonly holder: SyncLeaseHolder | null) {
    super(
      holder
        ? `the org sync of this region is running on host ${holder.host} (pid ${holder.pid}) since ${holder.since}; ` +
            'one sync per region runs at a time, this one waits for the lease'
        : 'the org sync lease of this region was just taken by another process; this one waits for the lease',
    );
    this.name = 'SyncRunningError';
  }
}

export interface HeldSyncLease {
  /** Aborted when a renewal finds the lease gone or someone else's. */
  lost: AbortSignal;
  release(): Promise<void>;
}

export interface SyncLease {
  /** Takes the region's sync lease or throws SyncRunningError naming the holder. */
  acquire(): Promise<HeldSyncLease>;
  holder(): Promise<SyncLeaseHolder | null>;
  close(): Promise<void>;
}

export function syncLeaseKey(keyPrefix: string, region: Region): string {
  return `${keyPrefix}:{${region}}:sync:running`;
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

export function createRedisSyncLease(
  redisUrl: string,
  region: Region,
  opts: { keyPrefix?: string; leaseMs?: number } = {},
): SyncLease {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {}); // reconnects on its own; a failed call surfaces at the caller
  const key = syncLeaseKey(opts.keyPrefix ?? 'lr', region);
  const leaseMs = opts.leaseMs ?? 30_000;
  const holder = async () => {
    const v = await redis.get(key);
    return v ? (JSON.parse(v) as SyncLeaseHolder) : null;
  };
  return {
    acquire: async () => {
      const mine: SyncLeaseHolder = { host: hostname(), pid: process.pid, since: new Date().toISOString() };
      const value = JSON.stringify(mine);
      if ((await redis.set(key, value, 'PX', leaseMs, 'NX')) !== 'OK')
        throw new SyncRunningError(await holder());
      const lost = new AbortController();
      const renew = setInterval(
        () => {
          redis.eval(RENEW, 1, key, value, String(leaseMs)).then(
            (n) => {
              if (n === 0) lost.abort(new Error('the sync lease was lost'));
            },
            () => {}, // Redis unreachable: keep trying; the lease expires on its own if this lasts
          );
        },
        Math.max(500, Math.floor(leaseMs / 3)),
      );
      renew.unref();
      return {
        lost: lost.signal,
        release: async () => {
          clearInterval(renew);
          await redis.eval(RELEASE, 1, key, value).catch(() => {});
        },
      };
    },
    holder,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
