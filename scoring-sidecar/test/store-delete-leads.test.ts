// store.deleteLeads (the org sync removes deleted, merged and converted leads): the same behaviour in the
// embedded and the Redis store: profile, events and marketing row gone, out of the lead index, others untouched.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { LeadProfile } from '../src/inputs/index.js';
import { createInProcessStore, createRedisStore, type OnlineFeatureStore } from '../src/store/index.js';
import { baseLead } from './fixtures/leads.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `lr-delete-test-${randomUUID().slice(0, 8)}`;
const now = Date.parse('2026-03-10T12:00:00Z');
const opened: OnlineFeatureStore[] = [];

const id = (n: number) => `00Q${String(n).padStart(12, '0')}AAA`;
const lead = (n: number): LeadProfile => ({ ...baseLead, Id: id(n), Data_Region__c: 'EU' });

async function allIds(store: OnlineFeatureStore): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.leadIds(cursor, 2);
    ids.push(...page.ids);
    cursor = page.cursor ?? undefined;
  } while (cursor !== undefined);
  return ids.sort();
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe.each([
  ['in-process', () => createInProcessStore('EU', { now: () => now })],
  [
    'redis',
    () =>
      createRedisStore(REDIS_URL, 'EU', {
        keyPrefix: PREFIX,
        now: () => now,
        logger: pino({ level: 'silent' }),
      }),
  ],
])('%s store deleteLeads', (_name, make) => {
  it('forgets the leads whole and leaves the others as they were', async () => {
    const store = make();
    opened.push(store);
    await store.putLeads([1, 2, 3].map(lead));
    await store.applyEvents(
      [1, 2, 3].map((n) => ({
        eventId: `e-${n}-${randomUUID()}`,
        leadId: id(n),
        type: 'email_open' as const,
        occurredAt: new Date(now - 3_600_000).toISOString(),
        region: 'EU' as const,
      })),
    );
    await store.putMarketingRows(
      [1, 2].map((n) => ({
        lead_id: id(n),
        extract_date: '2026-03-09',
        campaign_count: 1,
        last_campaign: null,
        intent_score: null,
        intent_topic: null,
      })),
    );
    await store.deleteLeads([id(1), id(3), id(9)]); // 9 never existed: nothing to do
    const [one, two, three] = await store.getLeadStates([id(1), id(2), id(3)]);
    expect(one).toBeNull();
    expect(three).toBeNull();
    expect(two?.lead.Id).toBe(id(2));
    expect(two?.marketing?.campaign_count).toBe(1);
    expect(two?.events.total('email_open')).toBe(1);
    expect(await allIds(store)).toEqual([id(2)]);
    // A lead that comes back (undeleted in the org) starts without the events it had before.
    await store.putLeads([lead(1)]);
    const [back] = await store.getLeadStates([id(1)]);
    expect(back?.events.total('email_open')).toBe(0);
    expect(back?.marketing).toBeNull();
  });
});
