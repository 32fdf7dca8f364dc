// Where the sync remembers how far it has read: Redis when the deployment shares state there (every sync
// host sees the same watermark), else a file in the region's state dir. Saved only after the store write.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { Region } from '../store/index.js';

const cursorSchema = z.strictObject({
  /** The newest SystemModstamp applied (ISO 8601 UTC). */
  modstamp: z.string(),
  /** Rows applied within the overlap window before `modstamp`: id -> SystemModstamp, to skip re-reads. */
  seen: z.record(z.string(), z.string()),
});
export type SyncCursor = z.infer<typeof cursorSchema>;

const watermarkSchema = z.strictObject({
  version: z.literal(1),
  region: z.enum(['US', 'EU']),
  leads: cursorSchema,
  accounts: cursorSchema.nullable(),
  /** When it was saved (ISO), for the watermark age metric. */
  savedAt: z.string(),
});
export type Watermark = z.infer<typeof watermarkSchema>;

export interface WatermarkStore {
  load(): Promise<Watermark | null>;
  save(watermark: Watermark): Promise<void>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

function parse(raw: string, where: string): Watermark {
  const parsed = watermarkSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error(`${where}: not a sync watermark (${parsed.error.issues[0]?.message})`);
  return parsed.data;
}

export function fileWatermarkStore(file: string): WatermarkStore {
  return {
    async load() {
      let raw: string;
      try {
        raw = readFileSync(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      return parse(raw, file);
    },
    async save(w) {
      mkdirSync(dirname(file), { recursive: true });
      // Write then rename: a crash leaves the old watermark or the new one, never half of one.
      writeFileSync(`${file}.tmp`, JSON.stringify(w));
      renameSync(`${file}.tmp`, file);
    },
    async clear() {
      rmSync(file, { force: true });
    },
    async close() {},
  };
}

export function redisWatermarkStore(
  redisUrl: string,
  region: Region,
  opts: { keyPrefix?: string; redisOptions?: RedisOptions } = {},
): WatermarkStore {
  const key = `${opts.keyPrefix ?? 'lr'}:{${region}}:sync:watermark`;
  const redis = new Redis(redisUrl, { lazyConnect: true, ...opts.redisOptions });
  redis.on('error', () => {}); // surfaced by the failing command itself
  return {
    async load() {
      const raw = await redis.get(key);
      return raw === null ? null : parse(raw, `redis ${key}`);
    },
    async save(w) {
      await redis.set(key, JSON.stringify(w));
    },
    async clear() {
      await redis.del(key);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
