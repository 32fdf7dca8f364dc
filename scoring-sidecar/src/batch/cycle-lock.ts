// One cycle per region at a time: a lease in Redis (`<prefix>:{<region>}:batch:running`, for opportunity cycles
// `<prefix>:{<region>}:opportunity-batch:running`; SET NX PX, renewed while the cycle runs, released by its holder only) or in this process without Redis. A second start is refused with
// the running cycle's id, host, pid and start time; a holder that died frees the region when its lease expires.
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Region } from '../store/index.js';

export interface CycleLease {
  cycleId: string;
  host: string;
  pid: number;
  since: string;
}

export class CycleRunningError extends Error {
  constructor(
    readonly holder: CycleLease,
    readonly requested: string,
  ) {
    super(
      `cycle ${requested} refused: cycle ${holder.cycleId} of this region has been running since ${holder.since} ` +
        `(host ${holder.host}, pid ${holder.pid}); one cycle per region runs at a time`,
    );
    this.name = 'CycleRunningError';
  }
}

export interface CycleLock {
  /** Takes the region's lease for `cycleId` or throws CycleRunningError; the lease is renewed until released. */
  acquire(cycleId: string): Promise<{ release(): Promise<void> }>;
  holder(): Promise<CycleLease | null>;
  close(): Promise<void>;
}

const local = new Map<string, CycleLease>();

/**
 * The kinds of cycle, each with its own lease: the lead cycle (`batch`) and the opportunity cycle
 * (`opportunity-batch`) of a region may run at the same time, two of one kind may not.
 */
export type CycleKind = 'batch' | 'opportunity-batch';

export function createInProcessCycleLock(region: Region, kind: CycleKind = 'batch'): CycleLock {
  const slot = `${kind}:${region}`;
  return {
    acquire: async (cycleId) => {
      const held = local.get(slot);
      if (held) throw new CycleRunningError(held, cycleId);
      const lease = { cycleId, host: hostname(), pid: process.pid, since: new Date().toISOString() };
      local.set(slot, lease);
      return { release: async () => void (local.get(slot) === lease && local.delete(slot)) };
    },
    holder: async () => local.get(slot) ?? null,
    close: async () => {},
  };
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

export function cycleLockKey(keyPrefix: string, region: Region, kind: CycleKind = 'batch'): string {
  return `${keyPrefix}:{${region}}:${kind}:running`;
}

export function createRedisCycleLock(
  redisUrl: string,
  region: Region,
  keyPrefix = 'lr',
  leaseMs = 60_000,
  kind: CycleKind = 'batch',
): CycleLock {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  const key = cycleLockKey(keyPrefix, region, kind);
  const holder = async () => {
    const v = await redis.get(key);
    return v ? (JSON.parse(v) as CycleLease) : null;
  };
  return {
    acquire: async (cycleId) => {
      const lease: CycleLease = {
        cycleId,
        host: hostname(),
        pid: process.pid,
        since: new Date().toISOString(),
      };
      const value = JSON.stringify(lease);
      if ((await redis.set(key, value, 'PX', leaseMs, 'NX')) !== 'OK') {
        const held = await holder();
        throw new CycleRunningError(held ?? { ...lease, cycleId: '(just finished)' }, cycleId);
      }
      const renew = setInterval(
        () => {
          redis.eval(RENEW, 1, key, value, String(leaseMs)).catch(() => {});
        },
        Math.max(1000, Math.floor(leaseMs / 3)),
      );
      renew.unref();
      return {
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
