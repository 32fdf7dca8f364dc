// Open opportunities of one region, as the opportunity sync last read them: what POST /v1/score reads to score
// a deal by Id. One record per deal (its fields and its Account's), no history: deal features read the record
// as it stands. Redis (a hash per region under the region's hash tag) or in-process, like the lead store.
import { Redis, type RedisOptions } from 'ioredis';
import {
  RefusedInputError,
  opportunityRecordSchema,
  type OpportunityRecord,
  type Refusal,
  type Region,
} from '../inputs/index.js';

export interface OpportunityStore {
  readonly region: Region;
  /** Upserts; a record of another region is refused (nothing written). */
  put(records: readonly OpportunityRecord[]): Promise<void>;
  remove(ids: readonly string[]): Promise<void>;
  /** In input order; null for an Id the store does not hold. */
  get(ids: readonly string[]): Promise<(OpportunityRecord | null)[]>;
  /** A page of held Ids (reconcile and batch); `cursor` null when done. */
  ids(cursor?: string, count?: number): Promise<{ ids: string[]; cursor: string | null }>;
  count(): Promise<number>;
  close(): Promise<void>;
}

function checkRegion(region: Region, records: readonly OpportunityRecord[]): void {
  const refused: Refusal[] = [];
  records.forEach((r, index) => {
    if (r.Data_Region__c !== region)
      refused.push({
        index,
        id: r.Id,
        reason: `region ${r.Data_Region__c} does not belong in the ${region} store`,
      });
  });
  if (refused.length)
    throw new RefusedInputError(
      `${region} store refused ${refused.length} opportunit${refused.length === 1 ? 'y' : 'ies'}: ` +
        refused[0]!.reason,
      refused,
    );
}

/** The store's key of a deal: Salesforce's 15-character Id (a 15- or 18-character Id finds it). */
const keyOf = (id: string) => id.slice(0, 15);

export function createInProcessOpportunityStore(region: Region): OpportunityStore {
  const records = new Map<string, OpportunityRecord>();
  return {
    region,
    async put(list) {
      checkRegion(region, list);
      for (const r of list) records.set(keyOf(r.Id), r);
    },
    async remove(ids) {
      for (const id of ids) records.delete(keyOf(id));
    },
    async get(ids) {
      return ids.map((id) => records.get(keyOf(id)) ?? null);
    },
    async ids(cursor, count = 1000) {
      const all = [...records.values()].map((r) => r.Id).sort();
      const from = cursor ? all.findIndex((id) => id > cursor) : 0;
      const page = from < 0 ? [] : all.slice(from, from + count);
      const done = from < 0 || from + count >= all.length;
      return { ids: page, cursor: done ? null : (page[page.length - 1] ?? null) };
    },
    async count() {
      return records.size;
    },
    async close() {},
  };
}

export function createRedisOpportunityStore(
  redisUrl: string,
  region: Region,
  opts: { keyPrefix?: string; redisOptions?: RedisOptions } = {},
): OpportunityStore {
  const key = `${opts.keyPrefix ?? 'lr'}:{${region}}:opportunities`;
  const redis = new Redis(redisUrl, { enableAutoPipelining: true, ...opts.redisOptions });
  redis.on('error', () => {}); // surfaced by the failing command itself
  return {
    region,
    async put(list) {
      checkRegion(region, list);
      if (list.length === 0) return;
      await redis.hset(key, Object.fromEntries(list.map((r) => [keyOf(r.Id), JSON.stringify(r)])));
    },
    async remove(ids) {
      if (ids.length) await redis.hdel(key, ...ids.map(keyOf));
    },
    async get(ids) {
      if (ids.length === 0) return [];
      const raw = await redis.hmget(key, ...ids.map(keyOf));
      return raw.map((r) => (r === null ? null : opportunityRecordSchema.parse(JSON.parse(r))));
    },
    async ids(cursor, count = 1000) {
      const [next, entries] = await redis.hscan(key, cursor ?? '0', 'COUNT', count);
      const ids: string[] = [];
      for (let i = 1; i < entries.length; i += 2) ids.push((JSON.parse(entries[i]!) as { Id: string }).Id);
      return { ids, cursor: next === '0' ? null : next };
    },
    async count() {
      return redis.hlen(key);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** REDIS_URL set: the Redis store (prefix LEADRANK_REDIS_PREFIX); otherwise in-process. */
export function createOpportunityStoreFromEnv(
  env: Record<string, string | undefined>,
  region: Region,
): OpportunityStore {
  const url = env.REDIS_URL?.trim();
  if (!url) return createInProcessOpportunityStore(region);
  const keyPrefix = env.LEADRANK_REDIS_PREFIX?.trim() || undefined;
  return createRedisOpportunityStore(url, region, keyPrefix ? { keyPrefix } : {});
}
