// One behaviour suite for the worklist index, run against the embedded index and against a real Redis.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createInProcessWorklistIndex,
  createRedisWorklistIndex,
  type ClosableWorklistIndex,
  type WorklistLead,
} from '../src/ranking/index.js';
import { RefusedInputError, type Region } from '../src/store/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY_PREFIX = `test-worklist-${randomUUID()}`;
const silent = pino({ level: 'silent' });

const REP = '005000000000001AAA';
const OTHER_REP = '005000000000002AAA';
const QUEUE = '00G000000000001AAA';

function lead(id: string, patch: Partial<WorklistLead> = {}): WorklistLead {
  return {
    leadId: id,
    region: 'EU',
    ownerId: REP,
    territory: 'DACH',
    status: 'Working - Contacted',
    isConverted: false,
    hasOptedOutOfEmail: false,
    doNotCall: false,
    createdAt: '2026-03-01T09:00:00Z',
    leadSource: 'Web',
    isInbound: true,
    accountKey: '001000000000001AAA',
    employees: 250,
    annualRevenue: 12_000_000.5,
    lastTouchAt: null,
    ...patch,
  };
}

/** A mix of every case candidate generation distinguishes. */
const scenario: WorklistLead[] = [
  lead('00Q-own-b'),
  lead('00Q-own-a', { accountKey: null, employees: null, annualRevenue: null }),
  lead('00Q-other-rep', { ownerId: OTHER_REP }),
  lead('00Q-queue-null', { ownerId: null }),
  lead('00Q-queue-group', { ownerId: QUEUE }),
  lead('00Q-queue-elsewhere', { ownerId: null, territory: 'NORDICS' }),
  lead('00Q-queue-no-territory', { ownerId: null, territory: null }),
  lead('00Q-converted', { isConverted: true, status: 'Closed - Converted' }),
  lead('00Q-closed', { status: 'Closed - Not Converted' }),
  lead('00Q-disqualified', { status: 'Disqualified' }),
  lead('00Q-opted-out', { hasOptedOutOfEmail: true, doNotCall: true }),
  lead('00Q-email-only', { hasOptedOutOfEmail: true }),
];

const ids = (leads: WorklistLead[]) => leads.map((l) => l.leadId);

const implementations: [string, (region: Region) => ClosableWorklistIndex][] = [
  ['in-process', (region) => createInProcessWorklistIndex(region)],
  [
    'redis',
    (region) => createRedisWorklistIndex(REDIS_URL, region, { keyPrefix: KEY_PREFIX, logger: silent }),
  ],
];

const opened: ClosableWorklistIndex[] = [];
const open = (make: (region: Region) => ClosableWorklistIndex, region: Region = 'EU') => {
  const index = make(region);
  opened.push(index);
  return index;
};

afterEach(async () => {
  await Promise.all(opened.splice(0).map((i) => i.close()));
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${KEY_PREFIX}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
});

const results = new Map<string, unknown>();

describe.each(implementations)('%s worklist index', (name, make) => {
  it("returns the rep's open leads and the territory's queue, sorted by lead Id", async () => {
    const index = open(make);
    await index.upsert(scenario);
    const withQueue = await index.candidatesFor(REP, 'DACH');
    expect(ids(withQueue)).toEqual([
      '00Q-email-only',
      '00Q-own-a',
      '00Q-own-b',
      '00Q-queue-group',
      '00Q-queue-null',
    ]);
    expect(withQueue.find((l) => l.leadId === '00Q-own-b')).toEqual(scenario[0]);
    expect(ids(await index.candidatesFor(REP, null))).toEqual(['00Q-email-only', '00Q-own-a', '00Q-own-b']);
    expect(ids(await index.candidatesFor(OTHER_REP, 'NORDICS'))).toEqual([
      '00Q-other-rep',
      '00Q-queue-elsewhere',
    ]);
    results.set(name, { withQueue, other: await index.candidatesFor(OTHER_REP, 'NORDICS') });
  });

  it('follows owner changes, closing and removal', async () => {
    const index = open(make);
    await index.upsert(scenario);
    await index.upsert([
      lead('00Q-own-b', { ownerId: OTHER_REP }), // reassigned
      lead('00Q-queue-null', { ownerId: REP }), // picked from the queue
      lead('00Q-email-only', { status: 'Unqualified' }), // closed
    ]);
    await index.remove(['00Q-own-a', '00Q-never-there']);
    expect(ids(await index.candidatesFor(REP, 'DACH'))).toEqual(['00Q-queue-group', '00Q-queue-null']);
    expect(ids(await index.candidatesFor(OTHER_REP, null))).toEqual(['00Q-other-rep', '00Q-own-b']);
    // a reopened lead comes back with its next upsert
    await index.upsert([lead('00Q-email-only', { status: 'Working - Contacted', hasOptedOutOfEmail: true })]);
    expect(ids(await index.candidatesFor(REP, null))).toEqual(['00Q-email-only', '00Q-queue-null']);
  });

  it('refuses a batch holding a lead of another region, writing nothing', async () => {
    const index = open(make);
    await expect(index.upsert([lead('00Q-new'), lead('00Q-us', { region: 'US' })])).rejects.toThrow(
      RefusedInputError,
    );
    expect(await index.candidatesFor(REP, 'DACH')).toEqual([]);
  });

  it('keeps regions apart', async () => {
    const eu = open(make, 'EU');
    const us = open(make, 'US');
    await eu.upsert([lead('00Q-eu')]);
    await us.upsert([lead('00Q-us', { region: 'US' })]);
    expect(ids(await eu.candidatesFor(REP, 'DACH'))).toEqual(['00Q-eu']);
    expect(ids(await us.candidatesFor(REP, 'DACH'))).toEqual(['00Q-us']);
  });
});

afterAll(() => {
  // both implementations answered the same scenario identically
  expect(results.get('redis')).toEqual(results.get('in-process'));
  expect(results.size).toBe(2);
});

describe('redis worklist index', () => {
  it('reads a worklist in one round trip (one script call)', async () => {
    const index = open((region) =>
      createRedisWorklistIndex(REDIS_URL, region, { keyPrefix: KEY_PREFIX, logger: silent }),
    );
    const many = Array.from({ length: 1500 }, (_, i) => lead(`00Q-many-${String(i).padStart(4, '0')}`));
    await index.upsert(many);
    await index.candidatesFor(REP, 'DACH'); // loads the script
    const monitor = await new Redis(REDIS_URL).monitor();
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((a) => a.includes(KEY_PREFIX))) commands.push(args);
    });
    await new Promise((r) => setTimeout(r, 50)); // MONITOR is active once its OK arrived; let it settle
    const candidates = await index.candidatesFor(REP, 'DACH');
    await new Promise((r) => setTimeout(r, 100));
    monitor.disconnect();
    expect(candidates).toHaveLength(1500);
    expect(commands.map((c) => c[0]!.toLowerCase())).toEqual(['evalsha']);
  });
});
