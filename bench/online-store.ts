// Benchmark of the Redis online feature store: bulk load, batch reads, event ingestion, memory per lead.
// Usage: npx tsx bench/online-store.ts [--leads 200000] [--events-per-lead 3] [--redis-url redis://...] [--keep]
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import {
  EVENT_TYPES,
  leadProfileSchema,
  type EngagementEvent,
  type LeadProfile,
} from '../scoring-sidecar/src/inputs/index.js';
import { createRedisStore } from '../scoring-sidecar/src/store/index.js';

const DAY = 86_400_000;

const options = new Command()
  .option('--leads <n>', 'leads to load', (v) => Number(v), 200_000)
  .option('--events-per-lead <n>', 'average events per lead at load', (v) => Number(v), 3)
  .option('--accounts <n>', 'ERP accounts (leads are matched to them)', (v) => Number(v), 20_000)
  .option('--get1-samples <n>', 'single-lead reads to time', (v) => Number(v), 5_000)
  .option('--get100-samples <n>', '100-lead reads to time', (v) => Number(v), 1_000)
  .option('--apply-events <n>', 'events in the timed ingestion phase', (v) => Number(v), 200_000)
  .option('--apply-batch <n>', 'events per applyEvents call in the timed phase', (v) => Number(v), 500)
  .option('--concurrency <n>', 'calls in flight while loading', (v) => Number(v), 4)
  .option('--redis-url <url>', 'Redis to use', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  .option('--keep', 'keep the loaded keys', false)
  .parse(process.argv)
  .opts() as {
  leads: number;
  eventsPerLead: number;
  accounts: number;
  get1Samples: number;
  get100Samples: number;
  applyEvents: number;
  applyBatch: number;
  concurrency: number;
  redisUrl: string;
  keep: boolean;
};

// xorshift32: a seeded, dependency-free stream is enough for synthetic load data.
let seed = 0x9e3779b9;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
}
const int = (n: number) => Math.floor(random() * n);

const now = Date.now();
const leadId = (n: number) => `00Q${n.toString(36).padStart(12, '0')}AAA`;
const accountId = (n: number) => `001${n.toString(36).padStart(12, '0')}AAA`;
const erpNumber = (n: number) => `E-${n}`;

function leadOf(n: number): LeadProfile {
  return leadProfileSchema.parse({
    Id: leadId(n),
    CreatedDate: new Date(now - int(90) * DAY - int(DAY)).toISOString().replace('Z', '+0000'),
    LeadSource: ['Web', 'Partner', 'Trade Show', 'Referral'][int(4)]!,
    Industry: ['Technology', 'Retail', 'Finance', 'Healthcare', 'Energy'][int(5)]!,
    NumberOfEmployees: int(20_000),
    AnnualRevenue: int(50_000_000),
    Country: ['Germany', 'France', 'Spain', 'Italy'][int(4)]!,
    Lead_Origin__c: 'Form',
    HasOptedOutOfEmail: random() < 0.1,
    DoNotCall: random() < 0.05,
    Data_Region__c: 'EU',
    Matched_Account__c: random() < 0.6 ? accountId(int(options.accounts)) : null,
    Title: ['CEO', 'Head of IT', 'IT Director', 'Sales Manager', 'Engineer'][int(5)]!,
    Company: `Company ${n}`,
    Email: `person${n}@${random() < 0.4 ? 'gmail.com' : `company${n % 5000}.de`}`,
    Phone: '+49 30 0000000',
    FirstName: 'First',
    LastName: 'Last',
    Street: 'Street 1',
  });
}

let eventSeq = 0;
function eventOf(lead: number, maxAgeMs: number): EngagementEvent {
  return {
    eventId: `bench-${++eventSeq}-${lead}`,
    leadId: leadId(lead),
    type: EVENT_TYPES[int(EVENT_TYPES.length)]!,
    occurredAt: new Date(now - int(maxAgeMs)).toISOString(),
    region: 'EU',
  };
}

/** Runs `task(i)` for i in [0, count) with `concurrency` in flight. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    if (keys.length) deleted += await redis.del(...keys); // DEL, not UNLINK: memory is measured right after
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

async function main() {
  const keyPrefix = `lrbench:${randomUUID().slice(0, 8)}`;
  const admin = new Redis(options.redisUrl);
  const store = createRedisStore(options.redisUrl, 'EU', { keyPrefix, logger: pino({ level: 'warn' }) });
  const serverInfo = await admin.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(serverInfo)?.[1];

  console.log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, Redis ${redisVersion} at ${options.redisUrl}`,
  );
  console.log(`config: ${JSON.stringify(options)}`);

  try {
    const mem0 = await usedMemory(admin);

    // Load: profiles, account links, ERP rows, marketing rows, then events; pipelined, a few calls in flight.
    let t = performance.now();
    const chunk = 5_000;
    await inParallel(Math.ceil(options.leads / chunk), options.concurrency, async (c) => {
      const from = c * chunk;
      const leads = Array.from({ length: Math.min(chunk, options.leads - from) }, (_, i) => leadOf(from + i));
      await store.putLeads(leads);
      await store.putMarketingRows(
        leads.map((l, i) => ({
          lead_id: l.Id,
          extract_date: new Date(now - int(5) * DAY).toISOString().slice(0, 10),
          campaign_count: (from + i) % 9,
          last_campaign: 'Spring Promo',
          intent_score: int(1000) / 10,
          intent_topic: 'crm',
        })),
      );
    });
    await store.putAccountLinks(
      Array.from({ length: options.accounts }, (_, n) => ({
        accountId: accountId(n),
        erpAccountNumber: erpNumber(n),
      })),
    );
    await store.putErpRows(
      Array.from({ length: options.accounts }, (_, n) => ({
        erp_account_number: erpNumber(n),
        extract_date: new Date(now - DAY).toISOString().slice(0, 10),
        is_customer: n % 3 === 0,
        erp_revenue: n * 10.5,
        products_held: n % 5,
        payment_status: 'current',
      })),
    );
    const profilesSec = (performance.now() - t) / 1000;

    t = performance.now();
    const loadEvents = Math.round(options.leads * options.eventsPerLead);
    const eventChunk = 2_000;
    await inParallel(Math.ceil(loadEvents / eventChunk), options.concurrency, async (c) => {
      const size = Math.min(eventChunk, loadEvents - c * eventChunk);
      await store.applyEvents(Array.from({ length: size }, () => eventOf(int(options.leads), 30 * DAY)));
    });
    const loadEventsSec = (performance.now() - t) / 1000;
    console.log(
      `load: ${options.leads} leads + rows in ${profilesSec.toFixed(1)} s (${Math.round(options.leads / profilesSec)} leads/s), ` +
        `${loadEvents} events in ${loadEventsSec.toFixed(1)} s (${Math.round(loadEvents / loadEventsSec)} events/s, ` +
        `${options.concurrency} batches of ${eventChunk} in flight)`,
    );

    // Reads: sequential calls from one client, as one scoring request would make them.
    const timeReads = async (samples: number, batch: number) => {
      const latencies: number[] = [];
      const start = performance.now();
      for (let s = 0; s < samples; s++) {
        const ids = Array.from({ length: batch }, () => leadId(int(options.leads)));
        const t1 = performance.now();
        const states = await store.getLeadStates(ids);
        latencies.push(performance.now() - t1);
        if (states.some((x) => x === null)) throw new Error('a loaded lead read back as unknown');
      }
      const seconds = (performance.now() - start) / 1000;
      latencies.sort((a, b) => a - b);
      return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), opsPerSec: samples / seconds };
    };
    await timeReads(200, 100); // warm-up: script load, JIT
    const get1 = await timeReads(options.get1Samples, 1);
    const get100 = await timeReads(options.get100Samples, 100);
    console.log(
      `getLeadStates x1:   p50 ${get1.p50.toFixed(3)} ms, p99 ${get1.p99.toFixed(3)} ms, ${Math.round(get1.opsPerSec)} calls/s`,
    );
    console.log(
      `getLeadStates x100: p50 ${get100.p50.toFixed(3)} ms, p99 ${get100.p99.toFixed(3)} ms, ` +
        `${Math.round(get100.opsPerSec)} calls/s (${Math.round(get100.opsPerSec * 100)} leads/s)`,
    );

    // Ingestion: sequential batches from one client, events of the last day (the live stream's shape).
    t = performance.now();
    for (let done = 0; done < options.applyEvents; done += options.applyBatch) {
      const size = Math.min(options.applyBatch, options.applyEvents - done);
      await store.applyEvents(Array.from({ length: size }, () => eventOf(int(options.leads), DAY)));
    }
    const applyPerSec = options.applyEvents / ((performance.now() - t) / 1000);
    console.log(
      `applyEvents: ${Math.round(applyPerSec)} events/s (one client, batches of ${options.applyBatch}, sequential)`,
    );

    // Memory: everything per lead, then without the dedup keys (those scale with events/day, not leads).
    const memWithDedup = await usedMemory(admin);
    const dedupKeys = await deleteMatching(admin, `${keyPrefix}:{EU}:seen:*`);
    const memWithoutDedup = await usedMemory(admin);
    const bytesPerLead = (memWithoutDedup - mem0) / options.leads;
    const bytesPerDedupKey = (memWithDedup - memWithoutDedup) / dedupKeys;
    console.log(
      `redis memory: ${Math.round(bytesPerLead)} B/lead (profile, aggregates, marketing row, index; ERP rows shared), ` +
        `${Math.round(bytesPerDedupKey)} B per dedup key (${dedupKeys} keys); ` +
        `2.5M leads ≈ ${((bytesPerLead * 2.5e6) / 2 ** 30).toFixed(2)} GiB + 1.2M events/day × 3 days of dedup ≈ ` +
        `${((bytesPerDedupKey * 3.6e6) / 2 ** 30).toFixed(2)} GiB`,
    );

    console.log(
      JSON.stringify({
        bench: 'online-store',
        leads: options.leads,
        get1_p50_ms: round(get1.p50),
        get1_p99_ms: round(get1.p99),
        get100_p99_ms: round(get100.p99),
        apply_events_per_s: Math.round(applyPerSec),
        redis_bytes_per_lead: Math.round(bytesPerLead),
      }),
    );
  } finally {
    await store.close();
    if (!options.keep) await deleteMatching(admin, `${keyPrefix}:*`);
    admin.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
