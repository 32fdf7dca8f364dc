// Per lead, the scoredAt of the newest score written to Salesforce, shared by the event write-back and the batch
// write task: a write whose scoredAt is older than what was written is skipped, so an older score never
// overwrites a newer one (a late job, a replayed dead letter, a resumed older cycle).
import { Redis } from 'ioredis';
import type { Region } from '../store/index.js';

export interface LastWrittenScores {
  /** For each entry: true when a strictly newer score of the lead was already written (skip it). */
  supersededOf(entries: readonly { leadId: string; scoredAtMs: number }[]): Promise<boolean[]>;
  /** Records written scores; keeps the newest per lead (an older record never lowers it). */
  record(entries: readonly { leadId: string; scoredAtMs: number }[]): Promise<void>;
  /** Erasure: drops the leads' records; the number dropped. */
  forget(leadIds: string[]): Promise<number>;
  close(): Promise<void>;
}

export function createInMemoryLastWritten(): LastWrittenScores {
  const at = new Map<string, number>();
  return {
    supersededOf: async (entries) => entries.map((e) => (at.get(e.leadId) ?? -Infinity) > e.scoredAtMs),
    record: async (entries) => {
      for (const e of entries) at.set(e.leadId, Math.max(at.get(e.leadId) ?? -Infinity, e.scoredAtMs));
    },
    forget: async (ids) => ids.filter((id) => at.delete(id)).length,
    close: async () => {},
  };
}

// A max-merge in one script: two writers recording at once still leave the newest (HSET alone would not).
const RECORD_MAX = `
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if (not cur) or tonumber(cur) < tonumber(ARGV[i + 1]) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1`;

/** `<prefix>:{<region>}:writeback:written-at`: lead Id -> scoredAt (epoch ms). */
export function lastWrittenKey(keyPrefix: string, region: Region): string {
  return `${keyPrefix}:{${region}}:writeback:written-at`;
}

export function createRedisLastWritten(
  redisUrl: string,
  region: Region,
  keyPrefix = 'lr',
): LastWrittenScores {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {}); // surfaced by the failing command itself
  const key = lastWrittenKey(keyPrefix, region);
  return {
    supersededOf: async (entries) => {
      if (entries.length === 0) return [];
      const values = await redis.hmget(key, ...entries.map((e) => e.leadId));
      return entries.map((e, i) => values[i] !== null && Number(values[i]) > e.scoredAtMs);
    },
    record: async (entries) => {
      for (let i = 0; i < entries.length; i += 5000) {
        const part = entries.slice(i, i + 5000);
        await redis.eval(RECORD_MAX, 1, key, ...part.flatMap((e) => [e.leadId, String(e.scoredAtMs)]));
      }
    },
    forget: async (ids) => (ids.length === 0 ? 0 : redis.hdel(key, ...ids)),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
