// The shared worklist index: Redis, so every sidecar process serves the same lists. Keys follow the feature
// store: `<prefix>:{<region>}:wl:…` (one hash tag per region, so scripts may touch any key of it on a cluster).
// `wl:lead:<id>` is a hash {r: the lead as JSON, l: its list}; `wl:list:<list>` the set of lead ids in a list.
import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { Region } from '../inputs/index.js';
import { byLeadId, ineligibility, listOf, listsFor } from './candidates.js';
import { checkRegion, closedStatusesOf, type WorklistIndexOptions } from './index-options.js';
import type { ClosableWorklistIndex, WorklistLead } from './types.js';

export interface RedisWorklistIndexOptions extends WorklistIndexOptions {
  /** First part of every key (default "lr", as the feature store); tests use a unique one. */
  keyPrefix?: string;
  redisOptions?: RedisOptions;
  logger?: Logger;
}

/** ARGV: key prefix, then (lead id, record or "" to drop, list or "") triples. Moves the id between lists. */
const UPSERT_LUA = `
local prefix = ARGV[1]
for i = 2, #ARGV, 3 do
  local id, record, list = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = prefix .. 'wl:lead:' .. id
  local old = redis.call('HGET', key, 'l')
  if old and old ~= '' and old ~= list then redis.call('SREM', prefix .. 'wl:list:' .. old, id) end
  if record == '' then
    if old and old ~= '' then redis.call('SREM', prefix .. 'wl:list:' .. old, id) end
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 'r', record, 'l', list)
    if list ~= '' then redis.call('SADD', prefix .. 'wl:list:' .. list, id) end
  end
end
return 1
`;

/** ARGV: key prefix, then list names. Returns the records of every member: one round trip per worklist. */
const CANDIDATES_LUA = `
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV do
  for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'wl:list:' .. ARGV[i])) do
    local record = redis.call('HGET', prefix .. 'wl:lead:' .. id, 'r')
    if record then out[#out + 1] = record end
  end
end
return out
`;

const LEADS_PER_CALL = 500; // bounds how long one script call holds Redis
const CALLS_PER_PIPELINE = 20;

type ScriptCall<R> = (...args: string[]) => R;
interface WorklistScripts<R> {
  lrWorklistUpsert: ScriptCall<R>;
  lrWorklistCandidates: ScriptCall<R>;
}
type ScriptedRedis = Redis & WorklistScripts<Promise<unknown>>;
type ScriptedPipeline = ChainableCommander & WorklistScripts<ChainableCommander>;

async function execOrThrow(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

class RedisWorklistIndex implements ClosableWorklistIndex {
  private readonly redis: ScriptedRedis;
  private readonly prefix: string;
  private readonly closedStatuses: ReadonlySet<string>;

  constructor(
    redisUrl: string,
    readonly region: Region,
    opts: RedisWorklistIndexOptions,
  ) {
    this.prefix = `${opts.keyPrefix ?? 'lr'}:{${region}}:`;
    this.closedStatuses = closedStatusesOf(opts);
    const redis = new Redis(redisUrl, opts.redisOptions ?? {});
    redis.defineCommand('lrWorklistUpsert', { numberOfKeys: 0, lua: UPSERT_LUA });
    redis.defineCommand('lrWorklistCandidates', { numberOfKeys: 0, lua: CANDIDATES_LUA });
    const logger = opts.logger ?? pino({ name: 'worklist-index', level: process.env.LOG_LEVEL ?? 'info' });
    redis.on('error', (err: Error) => logger.warn({ region, err: err.message }, 'redis connection error'));
    this.redis = redis as ScriptedRedis;
  }

  private async write(triples: [string, string, string][]): Promise<void> {
    for (let start = 0; start < triples.length; start += LEADS_PER_CALL * CALLS_PER_PIPELINE) {
      const p = this.redis.pipeline() as ScriptedPipeline;
      const end = Math.min(start + LEADS_PER_CALL * CALLS_PER_PIPELINE, triples.length);
      for (let i = start; i < end; i += LEADS_PER_CALL)
        p.lrWorklistUpsert(this.prefix, ...triples.slice(i, Math.min(i + LEADS_PER_CALL, end)).flat());
      await execOrThrow(p);
    }
  }

  async upsert(leads: WorklistLead[]): Promise<void> {
    checkRegion(this.region, leads);
    await this.write(
      leads.map((lead) =>
        // A lead that can never be listed is dropped rather than kept: converted leads are most of a CRM.
        ineligibility(lead, this.closedStatuses) !== null
          ? [lead.leadId, '', '']
          : [lead.leadId, JSON.stringify(lead), listOf(lead) ?? ''],
      ),
    );
  }

  async remove(leadIds: string[]): Promise<void> {
    await this.write(leadIds.map((id) => [id, '', '']));
  }

  async candidatesFor(repId: string, territory: string | null): Promise<WorklistLead[]> {
    const records = (await this.redis.lrWorklistCandidates(
      this.prefix,
      ...listsFor(repId, territory),
    )) as string[];
    return records
      .map((r) => JSON.parse(r) as WorklistLead)
      .filter((lead) => ineligibility(lead, this.closedStatuses, this.region) === null)
      .sort(byLeadId);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

export function createRedisWorklistIndex(
  redisUrl: string,
  region: Region,
  opts: RedisWorklistIndexOptions = {},
): ClosableWorklistIndex {
  return new RedisWorklistIndex(redisUrl, region, opts);
}
