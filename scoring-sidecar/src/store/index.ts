// store/: the online feature store, embedded (in-process) or shared (Redis), one region per store.
import { createInProcessStore } from './in-process-store.js';
import type { Region } from '../inputs/index.js';
import type { OnlineFeatureStore, StoreOptions } from './online-feature-store.js';
import { createRedisStore, type RedisStoreOptions } from './redis-store.js';

export {
  type OnlineFeatureStore,
  type OnlineLeadState,
  type AccountLink,
  type ApplyEventsResult,
  type RegionTagged,
  type StoreOptions,
  DEFAULT_CONTEXT_HISTORY_DAYS,
  DEFAULT_DEDUP_TTL_MS,
  DEFAULT_MAX_FUTURE_SKEW_MS,
} from './online-feature-store.js';
export { createInProcessStore } from './in-process-store.js';
export { createRedisStore, type RedisStoreOptions } from './redis-store.js';
export { claimStoreTenant, orgIdFromEnv, type TenantRecord } from './tenancy.js';
// The store refuses with the inputs' error and speaks of the inputs' regions: re-exported so callers of the store
// need not import the floor for the two names its API uses.
export { type Region, type Refusal, RefusedInputError } from '../inputs/index.js';

/** REDIS_URL set: the shared Redis store (key prefix from LEADRANK_REDIS_PREFIX); otherwise the embedded one. */
export function createStoreFromEnv(
  env: Record<string, string | undefined>,
  region: Region,
  opts: StoreOptions & Pick<RedisStoreOptions, 'redisOptions' | 'logger'> = {},
): OnlineFeatureStore {
  const url = env.REDIS_URL?.trim();
  if (!url) return createInProcessStore(region, opts);
  const keyPrefix = env.LEADRANK_REDIS_PREFIX?.trim() || undefined;
  return createRedisStore(url, region, { ...opts, ...(keyPrefix ? { keyPrefix } : {}) });
}
export {
  createInProcessOpportunityStore,
  createOpportunityStoreFromEnv,
  createRedisOpportunityStore,
  type OpportunityStore,
} from './opportunity-store.js';
