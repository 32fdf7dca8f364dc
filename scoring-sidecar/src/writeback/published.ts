// The baseline of the materiality check: per lead, the score last queued for write-back (Redis hash or memory).
import { Redis, type RedisOptions } from 'ioredis';
import type { Region } from '../store/index.js';
import type { PublishedScore } from './job.js';

export interface PublishedScores {
  get(leadIds: string[]): Promise<(PublishedScore | null)[]>;
  set(entries: (PublishedScore & { leadId: string })[]): Promise<void>;
  /** Erasure: drops the leads' baselines; the number dropped. */
  forget(leadIds: string[]): Promise<number>;
  close(): Promise<void>;
}

export function createInProcessPublishedScores(): PublishedScores {
  const scores = new Map<string, PublishedScore>();
  return {
    get: async (ids) => ids.map((id) => scores.get(id) ?? null),
    set: async (entries) => {
      for (const e of entries) scores.set(e.leadId, { score: e.score, band: e.band });
    },
    forget: async (ids) => ids.filter((id) => scores.delete(id)).length,
    close: async () => {},
  };
}

/** One hash per region (`<prefix>:{<region>}:published`, the store's hash tag): HMGET/HSET, one round trip. */
export function createRedisPublishedScores(
  redisUrl: string,
  region: Region,
  keyPrefix = 'lr',
  redisOptions: RedisOptions = {},
): PublishedScores {
  const redis = new Redis(redisUrl, redisOptions);
  redis.on('error', () => {}); // surfaced by the failing command itself
  const key = `${keyPrefix}:{${region}}:published`;
  return {
    get: async (ids) => {
      if (ids.length === 0) return [];
      const values = await redis.hmget(key, ...ids);
      return values.map((v) => {
        if (v === null) return null;
        const [score, band] = v.split('|');
        return { score: Number(score), band: band ?? '' };
      });
    },
    set: async (entries) => {
      if (entries.length === 0) return;
      await redis.hset(key, Object.fromEntries(entries.map((e) => [e.leadId, `${e.score}|${e.band}`])));
    },
    forget: async (ids) => (ids.length === 0 ? 0 : redis.hdel(key, ...ids)),
    close: async () => {
      await redis.quit();
    },
  };
}

export function createPublishedScoresFromEnv(
  env: Record<string, string | undefined>,
  region: Region,
  redisOptions: RedisOptions = {},
): PublishedScores {
  const url = env.REDIS_URL?.trim();
  if (!url) return createInProcessPublishedScores();
  return createRedisPublishedScores(url, region, env.LEADRANK_REDIS_PREFIX?.trim() || 'lr', redisOptions);
}
