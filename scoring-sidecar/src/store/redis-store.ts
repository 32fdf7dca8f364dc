// The shared store: Redis, so several sidecar processes see one state. Every key of a region is prefixed
// `<prefix>:{<region>}:` (one hash tag per region: scripts may touch any of its keys, even on a cluster).
import { performance } from 'node:perf_hooks';
import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { pino, type Logger } from 'pino';
import {
  checkContextRows,
  checkEvents,
  checkLeads,
  ContextTable,
  pruneContextRows,
  type ContextLookup,
  type ContextRow,
  checkLinks,
  checkRows,
  EVENT_TYPES,
  EventAggregates,
  MAX_WINDOW_DAYS,
  utcDay,
  type EngagementEvent,
  type ErpExtractRow,
  type EventAggregatesJson,
  type EventType,
  type LeadProfile,
  type MarketingExtractRow,
  type Region,
} from '../inputs/index.js';
import { eventIdDigest } from './event-dedup.js';
import {
  DEFAULT_CONTEXT_HISTORY_DAYS,
  DEFAULT_DEDUP_TTL_MS,
  DEFAULT_MAX_FUTURE_SKEW_MS,
  type AccountLink,
  type ApplyEventsResult,
  type OnlineFeatureStore,
  type OnlineLeadState,
  type RegionTagged,
  type StoreOptions,
} from './online-feature-store.js';
import {
  decodeErpRow,
  decodeLeadProfile,
  decodeMarketingRow,
  encodeErpRow,
  encodeLeadProfile,
  encodeMarketingRow,
} from './profile-codec.js';
import { APPLY_EVENT_LUA, PUT_NEWEST_ROW_LUA, READ_STATES_LUA } from './redis-scripts.js';

export interface RedisStoreOptions extends StoreOptions {
  /** First part of every key (default "lr"); tests use a unique one. */
  keyPrefix?: string;
  /** Buckets of the lead index. Fixed for the life of a dataset: changing it orphans index entries. */
  indexBuckets?: number;
  /** Passed to ioredis (timeouts, TLS, connection name...). */
  redisOptions?: RedisOptions;
  logger?: Logger;
}

/** A context row's hash field: its (context, key, date); the value is its columns as JSON. */
const contextField = (r: ContextRow) => JSON.stringify([r.context, r.key, r.effective_from]);
function decodeContextRows(hash: Record<string, string>): ContextRow[] {
  return Object.entries(hash).map(([field, values]) => {
    const [context, key, effective_from] = JSON.parse(field) as [string, string, string];
    return { context, key, effective_from, values: JSON.parse(values) as ContextRow['values'] };
  });
}

const TYPE_INDEX = new Map<EventType, number>(EVENT_TYPES.map((t, i) => [t, i]));
const MAX_BATCH_READ = 1000; // ids per script call: bounds how long one call holds Redis
const WRITE_CHUNK = 2000; // commands per pipeline on writes

type ScriptCall<R> = (...args: (string | number)[]) => R;
interface StoreScripts<R> {
  lrApplyEvent: ScriptCall<R>;
  lrPutNewestRow: ScriptCall<R>;
  lrReadStates: ScriptCall<R>;
}
type ScriptedPipeline = ChainableCommander & StoreScripts<ChainableCommander>;
type ScriptedRedis = Redis & StoreScripts<Promise<unknown>>;

/** FNV-1a: a stable, cheap bucket of a lead id (hand-written: eight lines beat a hashing dependency). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

async function execOrThrow(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

class RedisStore implements OnlineFeatureStore {
  private readonly redis: ScriptedRedis;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly dedupTtlMs: number;
  private readonly maxFutureSkewMs: number;
  private readonly indexBuckets: number;
  private readonly contextHistoryDays: number;
  /** The context rows as last read, with the version they were read at (ctxv, bumped by every write; '' = none). */
  private contextCache: { version: string; table: ContextTable | null } = { version: '', table: null };

  constructor(
    redisUrl: string,
    readonly region: Region,
    opts: RedisStoreOptions = {},
  ) {
    this.prefix = `${opts.keyPrefix ?? 'lr'}:{${region}}:`;
    this.now = opts.now ?? Date.now;
    this.dedupTtlMs = opts.dedupTtlMs ?? DEFAULT_DEDUP_TTL_MS;
    this.maxFutureSkewMs = opts.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS;
    this.indexBuckets = opts.indexBuckets ?? 32_768;
    this.contextHistoryDays = opts.contextHistoryDays ?? DEFAULT_CONTEXT_HISTORY_DAYS;
    // Auto-pipelining: concurrent requests' commands issued in the same tick leave in one write.
    const redis = new Redis(redisUrl, { enableAutoPipelining: true, ...opts.redisOptions });
    redis.defineCommand('lrApplyEvent', { numberOfKeys: 3, lua: APPLY_EVENT_LUA });
    redis.defineCommand('lrPutNewestRow', { numberOfKeys: 1, lua: PUT_NEWEST_ROW_LUA });
    redis.defineCommand('lrReadStates', { numberOfKeys: 0, lua: READ_STATES_LUA });
    // Without a listener ioredis prints connection errors itself; log them structured (no data, just the cause).
    const logger = opts.logger ?? pino({ name: 'online-store', level: process.env.LOG_LEVEL ?? 'info' });
    redis.on('error', (err: Error) => logger.warn({ region, err: err.message }, 'redis connection error'));
    this.redis = redis as ScriptedRedis;
  }

  private pipeline(): ScriptedPipeline {
    return this.redis.pipeline() as ScriptedPipeline;
  }

  private profileKey(id: string): string {
    return `${this.prefix}lead:${id}`;
  }

  private stateKey(id: string): string {
    return `${this.prefix}state:${id}`;
  }

  private indexKey(bucket: number): string {
    return `${this.prefix}ix:${bucket}`;
  }

  async putLeads(leads: LeadProfile[]): Promise<void> {
    checkLeads(this.region, leads);
    for (const chunk of chunks(leads, WRITE_CHUNK / 2)) {
      // MULTI: a concurrent read never sees a new profile with the old account link
      const p = this.redis.multi();
      for (const lead of chunk) {
        const key = this.stateKey(lead.Id);
        p.set(this.profileKey(lead.Id), encodeLeadProfile(lead));
        if (lead.Matched_Account__c === null) p.hdel(key, 'a');
        else p.hset(key, 'a', lead.Matched_Account__c);
        p.hset(this.indexKey(fnv1a(lead.Id) % this.indexBuckets), lead.Id, '');
      }
      await execOrThrow(p);
    }
  }

  async deleteLeads(leadIds: string[]): Promise<void> {
    for (const chunk of chunks(leadIds, WRITE_CHUNK / 2)) {
      // MULTI: a concurrent read sees the lead whole or not at all
      const p = this.redis.multi();
      for (const id of chunk) {
        p.del(this.profileKey(id), this.stateKey(id));
        p.hdel(this.indexKey(fnv1a(id) % this.indexBuckets), id);
      }
      await execOrThrow(p);
    }
  }

  async putAccountLinks(links: AccountLink[]): Promise<void> {
    checkLinks(this.region, links);
    for (const chunk of chunks(links, WRITE_CHUNK)) {
      const p = this.pipeline();
      for (const l of chunk) p.set(`${this.prefix}acct:${l.accountId}`, l.erpAccountNumber);
      await execOrThrow(p);
    }
  }

  async applyEvents(events: EngagementEvent[]): Promise<ApplyEventsResult> {
    const checked = checkEvents(this.region, events, this.now(), this.maxFutureSkewMs);
    let applied = 0;
    let duplicates = 0;
    const affected = new Set<string>();
    const unknown = new Set<string>();
    for (const chunk of chunks(checked, WRITE_CHUNK)) {
      const p = this.pipeline();
      for (const e of chunk) {
        p.lrApplyEvent(
          `${this.prefix}seen:${eventIdDigest(e.eventId)}`,
          this.stateKey(e.leadId),
          this.profileKey(e.leadId),
          TYPE_INDEX.get(e.type)!,
          e.occurredAtMs,
          this.dedupTtlMs,
          MAX_WINDOW_DAYS,
        );
      }
      const results = await execOrThrow(p);
      chunk.forEach((e, i) => {
        const outcome = results[i];
        if (outcome === 0) return void duplicates++;
        applied++;
        affected.add(e.leadId);
        if (outcome === 2) unknown.add(e.leadId);
      });
    }
    // A lead is unknown if it still had no profile after its last event of the batch.
    return { applied, duplicates, unknownLeads: [...unknown], affectedLeadIds: [...affected] };
  }

  async putErpRows(rows: RegionTagged<ErpExtractRow>[]): Promise<void> {
    checkRows(this.region, rows, (r) => r.erp_account_number, this.now(), 'ERP row');
    for (const chunk of chunks(rows, WRITE_CHUNK)) {
      const p = this.pipeline();
      for (const row of chunk)
        p.lrPutNewestRow(
          `${this.prefix}erp:${row.erp_account_number}`,
          'd',
          'v',
          row.extract_date,
          encodeErpRow(row),
        );
      await execOrThrow(p);
    }
  }

  async putMarketingRows(rows: RegionTagged<MarketingExtractRow>[]): Promise<void> {
    checkRows(this.region, rows, (r) => r.lead_id, this.now(), 'marketing row');
    for (const chunk of chunks(rows, WRITE_CHUNK)) {
      const p = this.pipeline();
      for (const row of chunk)
        p.lrPutNewestRow(this.stateKey(row.lead_id), 'md', 'mv', row.extract_date, encodeMarketingRow(row));
      await execOrThrow(p);
    }
  }

  private get contextKey(): string {
    return `${this.prefix}ctx`;
  }

  private get contextVersionKey(): string {
    return `${this.prefix}ctxv`;
  }

  async putContextRows(rows: ContextRow[]): Promise<void> {
    checkContextRows(this.region, rows, this.now());
    if (rows.length === 0) return;
    for (const chunk of chunks(rows, WRITE_CHUNK)) {
      // MULTI: a reader that sees the new version sees the rows written with it
      const m = this.redis.multi();
      for (const row of chunk) m.hset(this.contextKey, contextField(row), JSON.stringify(row.values));
      m.incr(this.contextVersionKey);
      await execOrThrow(m);
    }
    // History beyond the retention: the rows a fresh table would prune (contexts are small tables).
    const held = decodeContextRows(await this.redis.hgetall(this.contextKey));
    const kept = new Set(pruneContextRows(held, this.now(), this.contextHistoryDays).map(contextField));
    const dropped = held.map(contextField).filter((f) => !kept.has(f));
    if (dropped.length > 0)
      await execOrThrow(
        this.redis
          .multi()
          .hdel(this.contextKey, ...dropped)
          .incr(this.contextVersionKey),
      );
  }

  async contextRows(): Promise<ContextRow[]> {
    return [...new ContextTable(decodeContextRows(await this.redis.hgetall(this.contextKey))).all()];
  }

  /** The context table at `version` (read with the states): the cached one, or reloaded when it changed. */
  private async contextTable(version: string): Promise<ContextTable | null> {
    if (this.contextCache.version === version) return this.contextCache.table;
    const [v, hash] = (await execOrThrow(
      this.redis.multi().get(this.contextVersionKey).hgetall(this.contextKey),
    )) as [string | null, Record<string, string>];
    const rows = decodeContextRows(hash);
    this.contextCache = { version: v ?? '', table: rows.length > 0 ? new ContextTable(rows) : null };
    return this.contextCache.table;
  }

  async contextLookup(): Promise<ContextLookup | null> {
    return this.contextTable((await this.redis.get(this.contextVersionKey)) ?? '');
  }

  async getLeadStates(leadIds: string[]): Promise<(OnlineLeadState | null)[]> {
    if (leadIds.length === 0) return [];
    type Reply = [] | [string, string[], string[]];
    let replies: Reply[];
    let version: string;
    if (leadIds.length <= MAX_BATCH_READ) {
      // One script call, auto-pipelined with the other requests' reads of the same tick (one write for all).
      const out = (await this.redis.lrReadStates(this.prefix, ...leadIds)) as [...Reply[], string];
      version = out.pop() as string;
      replies = out as Reply[];
    } else {
      // Batches beyond MAX_BATCH_READ become several script calls, still in one pipeline: one round trip.
      const p = this.pipeline();
      for (const chunk of chunks(leadIds, MAX_BATCH_READ)) p.lrReadStates(this.prefix, ...chunk);
      const outs = (await execOrThrow(p)) as [...Reply[], string][];
      version = outs[outs.length - 1]!.at(-1) as string;
      replies = outs.flatMap((out) => out.slice(0, -1) as Reply[]);
    }
    const table = await this.contextTable(version);
    return replies.map((reply, i) =>
      reply.length === 0 ? null : this.decodeState(leadIds[i]!, table, ...reply),
    );
  }

  private decodeState(
    id: string,
    context: ContextTable | null,
    profile: string,
    fields: string[],
    erp: string[],
  ): OnlineLeadState {
    let marketingDate: string | undefined;
    let marketingValues: string | undefined;
    const types: EventAggregatesJson['types'] = {};
    const typeAt = (index: string) => {
      const type = EVENT_TYPES[Number(index)];
      if (type === undefined) throw new Error(`unknown event type index ${index} in lead ${id}`);
      return (types[type] ??= { total: 0, lastAt: null, days: {} });
    };
    for (let i = 0; i < fields.length; i += 2) {
      const field = fields[i]!;
      const value = fields[i + 1]!;
      if (field === 'md') marketingDate = value;
      else if (field === 'mv') marketingValues = value;
      else if (field[0] === 't') typeAt(field.slice(1)).total = Number(value);
      else if (field[0] === 'l') typeAt(field.slice(1)).lastAt = Number(value);
      else if (field[0] === 'd') {
        const [index, day] = field.slice(1).split(':') as [string, string];
        typeAt(index).days[day] = Number(value);
      }
    }
    for (const t of Object.values(types)) {
      // Same window as `EventAggregates.apply` keeps; the script already prunes, this guards the invariant.
      const oldestKept = t.lastAt === null ? Infinity : utcDay(t.lastAt) - MAX_WINDOW_DAYS;
      for (const day of Object.keys(t.days)) if (Number(day) <= oldestKept) delete t.days[day];
    }
    const [erpNumber, erpDate, erpValues] = erp;
    return {
      lead: decodeLeadProfile(id, this.region, profile),
      events: EventAggregates.fromJSON({ v: 1, types }),
      erp:
        erpNumber === undefined || erpDate === undefined || erpValues === undefined
          ? null
          : decodeErpRow(erpNumber, erpDate, erpValues),
      marketing:
        marketingDate === undefined || marketingValues === undefined
          ? null
          : decodeMarketingRow(id, marketingDate, marketingValues),
      context,
    };
  }

  async leadIds(cursor?: string, count = 1000): Promise<{ ids: string[]; cursor: string | null }> {
    let bucket = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(bucket) || bucket < 0 || bucket > this.indexBuckets)
      throw new Error(`not a lead cursor: ${cursor}`);
    const ids: string[] = [];
    // Whole buckets at a time, so `count` is a hint (as for SCAN); widen the read while short of it.
    for (
      let width = 16;
      ids.length < count && bucket < this.indexBuckets;
      width = Math.min(width * 2, 1024)
    ) {
      const p = this.pipeline();
      const end = Math.min(bucket + width, this.indexBuckets);
      for (let b = bucket; b < end; b++) p.hkeys(this.indexKey(b));
      for (const keys of (await execOrThrow(p)) as string[][]) ids.push(...keys);
      bucket = end;
    }
    return { ids, cursor: bucket >= this.indexBuckets ? null : String(bucket) };
  }

  async ping(): Promise<number> {
    const start = performance.now();
    await this.redis.ping();
    return performance.now() - start;
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

export function createRedisStore(
  redisUrl: string,
  region: Region,
  opts?: RedisStoreOptions,
): OnlineFeatureStore {
  return new RedisStore(redisUrl, region, opts);
}
