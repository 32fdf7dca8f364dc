// A request quota per caller, so that one misbehaving org or job cannot starve the others. rate-limiter-flexible
// keeps the counters: in Redis (one fixed window per caller, atomic, shared by every replica and worker) when
// REDIS_URL is set, with an in-process limiter as insurance while Redis is unreachable; in-process otherwise.
import type { NextFunction, Request, Response } from 'express';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { Region } from '../store/index.js';
import type { AccessConfig } from './access-config.js';
import type { Caller } from './auth.js';
import { ApiError } from './errors.js';

export interface CallerRateLimiter {
  /** Express middleware after authentication: 429 with Retry-After once the caller's quota is spent. */
  middleware(req: Request, res: Response, next: NextFunction): void;
  close(): Promise<void>;
}

export function createCallerRateLimiter(
  config: AccessConfig['rateLimit'],
  opts: { region: Region; redisUrl?: string | undefined; redisPrefix?: string | undefined; logger: Logger },
): CallerRateLimiter {
  // lazyConnect: no connection until the first request, so a start-up that fails later leaves nothing open.
  const redis = opts.redisUrl
    ? new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true })
    : null;
  redis?.on('error', (err: Error) =>
    opts.logger.warn({ err: err.message }, 'rate limit: redis connection error'),
  );
  const keyPrefix = `${opts.redisPrefix ?? 'lr'}:ratelimit:{${opts.region}}`;
  const limiters = new Map<number, RateLimiterAbstract>();
  const limiterFor = (points: number): RateLimiterAbstract => {
    let limiter = limiters.get(points);
    if (!limiter) {
      const base = { points, duration: config.windowSeconds, keyPrefix: `${keyPrefix}:${points}` };
      limiter = redis
        ? new RateLimiterRedis({ ...base, storeClient: redis, insuranceLimiter: new RateLimiterMemory(base) })
        : new RateLimiterMemory(base);
      limiters.set(points, limiter);
    }
    return limiter;
  };

  return {
    middleware(_req, res, next) {
      const caller = res.locals.caller as Caller;
      const points = config.perCaller[caller.id]?.requestsPerWindow ?? config.requestsPerWindow;
      limiterFor(points)
        .consume(caller.id, 1)
        .then(
          (state) => {
            res.setHeader('RateLimit-Limit', String(points));
            res.setHeader('RateLimit-Remaining', String(state.remainingPoints));
            next();
          },
          (rejection: unknown) => {
            if (!(rejection instanceof RateLimiterRes)) return next(rejection);
            const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
            res.setHeader('Retry-After', String(retryAfter));
            res.setHeader('RateLimit-Limit', String(points));
            res.setHeader('RateLimit-Remaining', '0');
            next(
              new ApiError(
                429,
                'rate_limited',
                `caller ${caller.id} made more than ${points} requests in ${config.windowSeconds} s; retry after ${retryAfter} s`,
              ),
            );
          },
        );
    },
    async close() {
      if (!redis) return;
      if (redis.status === 'wait')
        redis.disconnect(); // never connected
      else await redis.quit().catch(() => redis.disconnect());
    },
  };
}
