// Write-backs that failed for good (a permanent error, or retries used up), kept for an operator to inspect and
// replay (`leadrank writeback dead-letters list|replay`). Redis list `<prefix>:{<region>}:writeback:dead`, or
// memory without Redis. No PII: the job holds ids, numbers and reason texts.
import { Redis } from 'ioredis';
import type { Region } from '../store/index.js';
import type { WritebackJob } from './job.js';

export interface WritebackDeadLetter {
  job: WritebackJob;
  code: string;
  message: string;
  attempts: number;
  at: string;
}

export interface DeadLetterStore {
  add(letters: WritebackDeadLetter[]): Promise<void>;
  list(limit?: number): Promise<WritebackDeadLetter[]>;
  count(): Promise<number>;
  /** Removes and returns every letter (replay); `putBack` returns them if the replay could not queue them. */
  takeAll(): Promise<WritebackDeadLetter[]>;
  putBack(letters: WritebackDeadLetter[]): Promise<void>;
  /**
   * Retention: removes the letters at the head of the list (the oldest: letters are appended in time order)
   * dead-lettered before `cutoffAt` (ISO instant); returns how many (`dryRun`: counts only).
   */
  expireBefore(cutoffAt: string, dryRun?: boolean): Promise<number>;
  close(): Promise<void>;
}

/** The number of leading letters older than the cutoff. */
function expiredHead(letters: readonly WritebackDeadLetter[], cutoffAt: string): number {
  const n = letters.findIndex((l) => l.at >= cutoffAt);
  return n < 0 ? letters.length : n;
}

// One round trip, atomic beside concurrent adds (which append at the tail): count the expired head, trim it.
const EXPIRE_HEAD = `
local len = redis.call('LLEN', KEYS[1])
local n = 0
while n < len do
  local letter = cjson.decode(redis.call('LINDEX', KEYS[1], n))
  if letter.at == nil or letter.at >= ARGV[1] then break end
  n = n + 1
end
if ARGV[2] == '0' and n > 0 then redis.call('LTRIM', KEYS[1], n, -1) end
return n`;

export function createInMemoryDeadLetters(): DeadLetterStore {
  let letters: WritebackDeadLetter[] = [];
  return {
    add: async (l) => void letters.push(...l),
    list: async (limit = Infinity) => letters.slice(0, limit),
    count: async () => letters.length,
    takeAll: async () => {
      const out = letters;
      letters = [];
      return out;
    },
    putBack: async (l) => void letters.unshift(...l),
    expireBefore: async (cutoffAt, dryRun = false) => {
      const n = expiredHead(letters, cutoffAt);
      if (!dryRun) letters = letters.slice(n);
      return n;
    },
    close: async () => {},
  };
}

export function deadLettersKey(keyPrefix: string, region: Region): string {
  return `${keyPrefix}:{${region}}:writeback:dead`;
}

export function createRedisDeadLetters(redisUrl: string, region: Region, keyPrefix = 'lr'): DeadLetterStore {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  const key = deadLettersKey(keyPrefix, region);
  const parse = (rows: string[]) => rows.map((r) => JSON.parse(r) as WritebackDeadLetter);
  return {
    add: async (l) => {
      if (l.length) await redis.rpush(key, ...l.map((x) => JSON.stringify(x)));
    },
    list: async (limit = 1000) => parse(await redis.lrange(key, 0, limit - 1)),
    count: async () => redis.llen(key),
    takeAll: async () => {
      const result = await redis.multi().lrange(key, 0, -1).del(key).exec();
      return parse((result?.[0]?.[1] as string[] | undefined) ?? []);
    },
    putBack: async (l) => {
      if (l.length) await redis.lpush(key, ...l.reverse().map((x) => JSON.stringify(x)));
    },
    expireBefore: async (cutoffAt, dryRun = false) =>
      Number(await redis.eval(EXPIRE_HEAD, 1, key, cutoffAt, dryRun ? '1' : '0')),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
