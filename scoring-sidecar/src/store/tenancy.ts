// One deployment serves one Salesforce org (docs/operations.md, Tenancy): the keys of the store, the worklist
// index, the queues and the leases carry the region but not the org, so two orgs on one Redis namespace would
// read and overwrite each other's leads. The first process to start on a namespace records its org there
// (`<prefix>:tenant`, SET NX); a process configured for another org on the same namespace is refused at start-up.
import { Redis } from 'ioredis';

/** A Salesforce organization Id: 00D + 12 characters, or the 18-character form. */
const ORG_ID = /^00D[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$/;

export interface TenantRecord {
  orgId: string;
  claimedAt: string;
}

/** SF_ORG_ID from the environment, validated; null when unset (the check then cannot run). */
export function orgIdFromEnv(env: Record<string, string | undefined>): string | null {
  const value = env.SF_ORG_ID?.trim();
  if (!value) return null;
  if (!ORG_ID.test(value))
    throw new Error(
      `SF_ORG_ID: "${value}" is not a Salesforce organization Id (00D followed by 12 or 15 characters)`,
    );
  // The 15-character form is the 18-character one's case-sensitive prefix: compare on it.
  return value.slice(0, 15);
}

/**
 * Records `orgId` as the namespace's org on first start; resolves when it is this org's, throws naming both orgs
 * and the namespace when another org holds it.
 */
export async function claimStoreTenant(
  redisUrl: string,
  prefix: string,
  orgId: string,
): Promise<TenantRecord> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  redis.on('error', () => {}); // the command's own rejection reports it
  try {
    await redis.connect();
    const key = `${prefix}:tenant`;
    const mine: TenantRecord = { orgId, claimedAt: new Date().toISOString() };
    if ((await redis.set(key, JSON.stringify(mine), 'NX')) === 'OK') return mine;
    const held = JSON.parse((await redis.get(key)) ?? '{}') as Partial<TenantRecord>;
    if (held.orgId === orgId) return held as TenantRecord;
    const where = new URL(redisUrl);
    throw new Error(
      `Redis namespace "${prefix}" at ${where.host} belongs to Salesforce org ${held.orgId ?? '(unreadable)'} ` +
        `(since ${held.claimedAt ?? '?'}), not to SF_ORG_ID ${orgId}: one deployment serves one org. Give this ` +
        `org its own Redis or its own LEADRANK_REDIS_PREFIX and LEADRANK_BATCH_PREFIX (docs/operations.md#tenancy)`,
    );
  } finally {
    redis.disconnect();
  }
}
