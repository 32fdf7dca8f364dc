// Where a cycle keeps its state (meta, partitions, results, reports) and where the per-lead explanation cache
// lives: Redis for distributed runs (survives worker and sidecar restarts; AOF for Redis restarts), a Map for
// the embedded runner. Both are plain key/value so the cycle logic exists once.
import { gunzipSync, gzipSync, constants as zlib } from 'node:zlib';
import { Redis, type RedisOptions } from 'ioredis';
import type { Region } from '../store/index.js';

export interface CycleStateStore {
  get(key: string): Promise<Buffer | null>;
  mget(keys: string[]): Promise<(Buffer | null)[]>;
  /** Writes every entry in one transaction (all or nothing), each expiring after the retention. */
  set(entries: [string, Buffer | string][]): Promise<void>;
  del(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface ExplanationCache {
  get(leadIds: readonly string[]): Promise<(Buffer | null)[]>;
  set(entries: readonly { leadId: string; value: Buffer }[]): Promise<void>;
  /** Erasure: drops the leads' cached explanations; the number dropped. */
  forget(leadIds: readonly string[]): Promise<number>;
  close(): Promise<void>;
}

export const packJson = (value: unknown): Buffer =>
  gzipSync(JSON.stringify(value), { level: zlib.Z_BEST_SPEED });
export const unpackJson = <T>(data: Buffer): T => JSON.parse(gunzipSync(data).toString('utf8')) as T;

export async function getJson<T>(store: CycleStateStore, key: string): Promise<T | null> {
  const data = await store.get(key);
  return data === null ? null : (JSON.parse(data.toString('utf8')) as T);
}

export class MemoryCycleStateStore implements CycleStateStore {
  private readonly data = new Map<string, Buffer>();
  async get(key: string) {
    return this.data.get(key) ?? null;
  }
  async mget(keys: string[]) {
    return keys.map((k) => this.data.get(k) ?? null);
  }
  async set(entries: [string, Buffer | string][]) {
    for (const [k, v] of entries) this.data.set(k, typeof v === 'string' ? Buffer.from(v) : v);
  }
  async del(keys: string[]) {
    for (const k of keys) this.data.delete(k);
  }
  async close() {}
}

export class MemoryExplanationCache implements ExplanationCache {
  private readonly data = new Map<string, Buffer>();
  async get(ids: readonly string[]) {
    return ids.map((id) => this.data.get(id) ?? null);
  }
  async set(entries: readonly { leadId: string; value: Buffer }[]) {
    for (const e of entries) this.data.set(e.leadId, e.value);
  }
  async forget(ids: readonly string[]) {
    return ids.filter((id) => this.data.delete(id)).length;
  }
  async close() {}
}

export interface RedisStateOptions {
  /** Namespace of every key (tests use a unique one). */
  keyPrefix: string;
  region: Region;
  retentionSeconds: number;
  redisOptions?: RedisOptions;
}

/** Keys `<prefix>:{<region>}:batch:<key>`: the region hash tag keeps a region's keys on one cluster slot. */
export class RedisCycleStateStore implements CycleStateStore {
  readonly redis: Redis;
  private readonly base: string;

  constructor(
    redisUrl: string,
    private readonly o: RedisStateOptions,
  ) {
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, ...o.redisOptions });
    this.redis.on('error', () => {}); // surfaced by the failing command; ioredis reconnects by itself
    this.base = `${o.keyPrefix}:{${o.region}}:batch:`;
  }

  async get(key: string) {
    return this.redis.getBuffer(this.base + key);
  }
  async mget(keys: string[]) {
    if (keys.length === 0) return [];
    return this.redis.mgetBuffer(...keys.map((k) => this.base + k));
  }
  async set(entries: [string, Buffer | string][]) {
    if (entries.length === 0) return;
    const multi = this.redis.multi();
    for (const [k, v] of entries) multi.set(this.base + k, v, 'EX', this.o.retentionSeconds);
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction aborted');
  }
  async del(keys: string[]) {
    if (keys.length) await this.redis.del(...keys.map((k) => this.base + k));
  }
  async close() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** FNV-1a: hand-written, a 5-line hash to spread lead Ids over buckets needs no dependency. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Per-lead entries spread over `buckets` hashes of ~100 fields each: Redis keeps such small hashes as
 * listpacks (a few bytes of overhead per entry instead of ~60), which matters at 2.5M leads.
 */
export class RedisExplanationCache implements ExplanationCache {
  private readonly redis: Redis;
  private readonly base: string;

  constructor(
    redisUrl: string,
    o: { keyPrefix: string; region: Region; buckets: number; redisOptions?: RedisOptions },
  ) {
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 3, ...o.redisOptions });
    this.redis.on('error', () => {});
    this.base = `${o.keyPrefix}:{${o.region}}:xcache:`;
    this.buckets = o.buckets;
  }
  private readonly buckets: number;

  private keyOf(leadId: string): string {
    return this.base + (fnv1a(leadId) % this.buckets);
  }

  async get(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetBuffer(this.keyOf(id), id);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return (value as Buffer | null) ?? null;
    });
  }

  async set(entries: readonly { leadId: string; value: Buffer }[]) {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const e of entries) pipeline.hset(this.keyOf(e.leadId), e.leadId, e.value);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async forget(ids: readonly string[]) {
    let dropped = 0;
    for (const id of ids) dropped += await this.redis.hdel(this.keyOf(id), id);
    return dropped;
  }

  async close() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
