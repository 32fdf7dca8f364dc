// Write-back of material score changes to Salesforce. Rescores caused by events are compared with the score
// Salesforce last received; material ones become jobs on `leadrank-writeback-<region>` (BullMQ when REDIS_URL
// is set, else an in-process queue with the same `add`), which the batch cycle writes with Bulk API 2.0.
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { ScoringConfig } from '../config/index.js';
import type { Region } from '../store/index.js';
import type { LeadScore } from './scoring-service.js';

/** One job's payload (docs/api.md "Write-back queue"); no PII: ids, numbers and reason texts. */
export interface WritebackJob {
  leadId: string;
  region: Region;
  score: number;
  band: string;
  probability: number | null;
  previousScore: number | null;
  previousBand: string | null;
  source: 'model' | 'rules';
  fallbackReason?: string;
  modelVersion: string;
  reasonLines: string[];
  /** "<label>: <rationale>", as Next_Best_Action__c holds it. */
  nextBestAction: string | null;
  featureHash: string;
  scoredAt: string;
  requestId: string;
  trigger: 'events';
}

export interface WritebackQueue {
  readonly name: string;
  add(jobs: WritebackJob[]): Promise<void>;
  close(): Promise<void>;
}

export function writebackQueueName(region: Region): string {
  return `leadrank-writeback-${region}`;
}

/** Jobs kept in this process until a consumer takes them (lost on restart, like the embedded store). */
export class InProcessWritebackQueue implements WritebackQueue {
  private jobs: WritebackJob[] = [];
  readonly name: string;

  constructor(region: Region) {
    this.name = writebackQueueName(region);
  }

  async add(jobs: WritebackJob[]): Promise<void> {
    this.jobs.push(...jobs);
  }

  get size(): number {
    return this.jobs.length;
  }

  /** Removes and returns up to `max` jobs, oldest first. */
  take(max = Infinity): WritebackJob[] {
    return this.jobs.splice(0, max);
  }

  async close(): Promise<void> {}
}

class BullWritebackQueue implements WritebackQueue {
  readonly name: string;
  private readonly queue: Queue;
  private readonly connection: Redis;

  constructor(redisUrl: string, region: Region, prefix: string | undefined, redisOptions: RedisOptions) {
    this.name = writebackQueueName(region);
    // BullMQ wants its own connection; a queue (producer) may keep retries, only workers need null.
    this.connection = new Redis(redisUrl, { ...redisOptions, maxRetriesPerRequest: null });
    this.queue = new Queue(this.name, { connection: this.connection, ...(prefix ? { prefix } : {}) });
  }

  async add(jobs: WritebackJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((data) => ({
        name: 'score-change',
        data,
        // The same lead scored at the same instant is one job, however often it is retried.
        opts: {
          jobId: `${data.leadId}-${Date.parse(data.scoredAt)}`,
          removeOnComplete: 10_000,
          removeOnFail: 50_000,
        },
      })),
    );
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.connection.quit().catch(() => {});
  }
}

export function createWritebackQueue(
  env: Record<string, string | undefined>,
  region: Region,
  redisOptions: RedisOptions = {},
): WritebackQueue {
  const url = env.REDIS_URL?.trim();
  if (!url) return new InProcessWritebackQueue(region);
  return new BullWritebackQueue(url, region, env.LEADRANK_BULLMQ_PREFIX?.trim() || undefined, redisOptions);
}

/** What Salesforce last received for a lead, the baseline a rescore is compared with. */
export interface PublishedScore {
  score: number;
  band: string;
}

export interface PublishedScores {
  get(leadIds: string[]): Promise<(PublishedScore | null)[]>;
  set(entries: (PublishedScore & { leadId: string })[]): Promise<void>;
  close(): Promise<void>;
}

export function createInProcessPublishedScores(): PublishedScores {
  const scores = new Map<string, PublishedScore>();
  return {
    get: async (ids) => ids.map((id) => scores.get(id) ?? null),
    set: async (entries) => {
      for (const e of entries) scores.set(e.leadId, { score: e.score, band: e.band });
    },
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

/** First score, a band change (when configured) or a move of at least `points`. */
export function isMaterialChange(
  previous: PublishedScore | null,
  next: Pick<LeadScore, 'score' | 'band'>,
  rule: ScoringConfig['materialChange'],
): boolean {
  if (previous === null) return true;
  if (rule.onBandChange && previous.band !== next.band) return true;
  return Math.abs(next.score - previous.score) >= rule.points;
}

export function writebackJobOf(s: LeadScore, region: Region, previous: PublishedScore | null): WritebackJob {
  return {
    leadId: s.leadId,
    region,
    score: s.score,
    band: s.band,
    probability: s.probability,
    previousScore: previous?.score ?? null,
    previousBand: previous?.band ?? null,
    source: s.source,
    ...(s.fallbackReason ? { fallbackReason: s.fallbackReason } : {}),
    modelVersion: s.modelVersion,
    reasonLines: s.reasonLines,
    nextBestAction: s.nextBestAction ? `${s.nextBestAction.label}: ${s.nextBestAction.rationale}` : null,
    featureHash: s.featureHash,
    scoredAt: s.scoredAt,
    requestId: s.requestId,
    trigger: 'events',
  };
}
