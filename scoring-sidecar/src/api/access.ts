// The access controls around the routes, built once at start-up from config/api-access.json and the env:
// the caller-token lifetime cap, the per-caller rate limit, and the /metrics guard.
import { join } from 'node:path';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Region } from '../store/index.js';
import { loadAccessConfig, type AccessConfig } from './access-config.js';
import { metricsGuard } from './metrics-access.js';
import { createCallerRateLimiter } from './rate-limit.js';

export interface ApiAccess {
  config: AccessConfig;
  rateLimit: RequestHandler;
  metrics: RequestHandler;
  close(): Promise<void>;
}

/** Env: LEADRANK_METRICS_TOKEN (optional, at least 16 characters), REDIS_URL, LEADRANK_REDIS_PREFIX. */
export function apiAccessFromEnv(
  env: Record<string, string | undefined>,
  configDir: string,
  region: Region,
  logger: Logger,
): ApiAccess {
  const config = loadAccessConfig(join(configDir, 'api-access.json'));
  const token = env.LEADRANK_METRICS_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < 16)
    throw new Error('LEADRANK_METRICS_TOKEN must be at least 16 characters');
  const limiter = createCallerRateLimiter(config.rateLimit, {
    region,
    redisUrl: env.REDIS_URL?.trim() || undefined,
    redisPrefix: env.LEADRANK_REDIS_PREFIX?.trim() || undefined,
    logger,
  });
  return {
    config,
    rateLimit: (req, res, next) => limiter.middleware(req, res, next),
    metrics: metricsGuard(config.metrics, token),
    close: () => limiter.close(),
  };
}
