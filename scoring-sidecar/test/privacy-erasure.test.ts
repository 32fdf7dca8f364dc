// Erasure everywhere (#17.1): a lead synced into the online store and the worklist index, scored online (audit
// log) and in a batch cycle against the org simulator (explanation cache, Parquet export, Lead fields and
// Score_History__c rows), in an experiment (PostgreSQL) and in a training set is erased; then a scan of every
// Redis key and value under the test's prefix, every PostgreSQL table, every file under the data, audit, key,
// receipt and export directories and the simulator's database finds neither its id nor its feature vector,
// `verify` passes, and `audit show` says when it was erased. Other leads are untouched.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFileSync as readText } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import {
  auditErasure,
  auditHistory,
  featureHash,
  openAuditLog,
  openDirectoryKeyStore,
  verifyAuditLog,
  type AuditEntry,
} from '../src/audit/index.js';
import { runCycleInProcess, type BatchRuntime } from '../src/batch/index.js';
import { experimentDefinitionSchema } from '../src/experiments/definition.js';
import { ExperimentStore } from '../src/experiments/index.js';
import { readFeatureSpec, writeTrainingSet } from '../src/features/index.js';
import { loadServingModel } from '../src/scoring/model-source.js';
import {
  auditTarget,
  batchStateTarget,
  eraseLead,
  experimentsTarget,
  explanationCacheTarget,
  featureStoreTarget,
  filesTarget,
  lastWrittenTarget,
  openReceiptStore,
  publishedScoresTarget,
  scoreHistoryTarget,
  worklistTarget,
  type ErasureTarget,
} from '../src/privacy/index.js';
import { createRedisWorklistIndex } from '../src/ranking/index.js';
import { SalesforceClient } from '../src/salesforce/index.js';
import { createRedisStore, type OnlineFeatureStore } from '../src/store/index.js';
import { createRedisLastWritten, createRedisPublishedScores } from '../src/writeback/index.js';
import { RedisExplanationCache } from '../src/batch/index.js';
import { trainSyntheticModel } from './api-test-kit.js';
import { CLIENT, kitRuntime, queryStore, REDIS_URL, seedLeads, startSimulator } from './batch-kit.js';
import { baseLead } from './fixtures/leads.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

const PREFIX = `lr-erase-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const REGION = 'EU' as const;
const log = pino({ level: 'silent' });

let work: string;
let sim: RunningOrgSimulator;
let simDb: string;
let rt: BatchRuntime;
let db: TestDatabase;
let redis: Redis;
let store: OnlineFeatureStore;
let experiments: ExperimentStore;
let client: SalesforceClient;
const closers: (() => Promise<unknown>)[] = [];
let target: string; // the lead erased
let other: string; // a lead kept
const vector = [0.7311234567, 41.98765432, null, 3.14159271];

const dirs = () => ({
  audit: join(work, 'audit'),
  keys: join(work, 'audit.keys'),
  privacy: join(work, 'privacy'),
  training: join(work, 'training-sets'),
  batchRoot: join(work, 'batch'),
});

function auditEntry(leadId: string, n: number): AuditEntry {
  return {
    requestId: `req-${leadId}-${n}`,
    caller: 'api',
    leadId,
    region: REGION,
    modelVersion: 'lgbm-test',
    source: 'model',
    featureVector: vector,
    featureHash: featureHash(vector, 'spec-1'),
    score: 70 + n,
    band: 'B',
    probability: 0.4,
    reasons: [`+ visited pricing ${n} times`],
    nextBestAction: 'Call',
    scoredAt: new Date(Date.UTC(2026, 2, 10, 12, n)).toISOString(),
  };
}

function targets(): ErasureTarget[] {
  const where = `redis ${PREFIX}:{${REGION}}`;
  const index = createRedisWorklistIndex(REDIS_URL, REGION, { keyPrefix: PREFIX, closedStatuses: [] });
  const xcache = new RedisExplanationCache(REDIS_URL, { keyPrefix: PREFIX, region: REGION, buckets: 64 });
  const published = createRedisPublishedScores(REDIS_URL, REGION, PREFIX);
  const written = createRedisLastWritten(REDIS_URL, REGION, PREFIX);
  closers.push(
    () => index.close(),
    () => xcache.close(),
    () => published.close(),
    () => written.close(),
  );
  return [
    featureStoreTarget(store, where),
    worklistTarget(index, where),
    explanationCacheTarget(xcache, where),
    batchStateTarget(REDIS_URL, PREFIX, REGION),
    publishedScoresTarget(published, where),
    lastWrittenTarget(written, where),
    experimentsTarget(experiments, 'postgres (test database)'),
    filesTarget('batch exports', join(dirs().batchRoot, 'exports')),
    filesTarget('training sets', dirs().training),
    scoreHistoryTarget(client, 'org simulator'),
    auditTarget(openDirectoryKeyStore(dirs().keys, dirs().audit)),
  ];
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'leadrank-erase-'));
  process.env.LEADRANK_AUDIT_KEY_DIR = dirs().keys;
  const modelDir = await trainSyntheticModel(join(work, 'model-work'), 1500);
  const serving = await loadServingModel(modelDir);
  const model = { version: serving.version, dir: modelDir };
  await serving.onnx.close();
  simDb = join(work, 'org.db');
  sim = await startSimulator({ dbFile: simDb, region: REGION });
  seedLeads(sim, 120, { region: REGION, seed: 5 });
  const ids = queryStore(sim, "SELECT Id FROM Lead WHERE Status != 'Closed - Not Converted' ORDER BY Id").map(
    (r) => String(r.Id),
  );
  [target, other] = [ids[3]!, ids[4]!];

  // Scored in a batch cycle: Lead fields, Score_History__c rows, explanation cache, Parquet export.
  rt = await kitRuntime({
    sim,
    region: REGION,
    redisUrl: REDIS_URL,
    keyPrefix: PREFIX,
    rootDir: dirs().batchRoot,
  });
  const report = await runCycleInProcess(rt, { model, cycleId: 'EU-erase' });
  expect(report.leads.historyWritten).toBeGreaterThan(10);

  // Synced and scored online.
  redis = new Redis(REDIS_URL);
  store = createRedisStore(REDIS_URL, REGION, { keyPrefix: PREFIX });
  await store.putLeads([target, other].map((Id) => ({ ...baseLead, Id, Data_Region__c: REGION })));
  await store.applyEvents(
    [target, other].map((leadId, i) => ({
      eventId: `evt-${leadId}`,
      leadId,
      type: 'pricing_page_visit',
      occurredAt: new Date(Date.now() - 3_600_000 * (i + 1)).toISOString(),
      region: REGION,
    })) as never,
  );
  const index = createRedisWorklistIndex(REDIS_URL, REGION, { keyPrefix: PREFIX, closedStatuses: [] });
  await index.upsert(
    [target, other].map((leadId) => ({
      leadId,
      region: REGION,
      ownerId: '005000000000001AAA',
      territory: null,
      status: 'Open - Not Contacted',
      isConverted: false,
      hasOptedOutOfEmail: false,
      doNotCall: false,
      createdAt: '2026-03-01T00:00:00.000Z',
      leadSource: 'Web',
      isInbound: true,
      accountKey: null,
      employees: 40,
      annualRevenue: null,
      lastTouchAt: null,
    })),
  );
  await index.close();
  const published = createRedisPublishedScores(REDIS_URL, REGION, PREFIX);
  await published.set([target, other].map((leadId) => ({ leadId, score: 71, band: 'B' })));
  await published.close();
  const written = createRedisLastWritten(REDIS_URL, REGION, PREFIX);
  await written.record([target, other].map((leadId) => ({ leadId, scoredAtMs: Date.now() })));
  await written.close();
  const audit = await openAuditLog({ dir: dirs().audit, region: REGION });
  await audit.append([auditEntry(target, 1), auditEntry(other, 1), auditEntry(target, 2)]);
  await audit.close();

  // In an experiment (PostgreSQL).
  db = await createTestDatabase('erase');
  experiments = await ExperimentStore.open({ databaseUrl: db.url });
  const definitionFile = fileURLToPath(
    new URL('../../config/experiments/model-vs-rules.json', import.meta.url),
  );
  const definition = experimentDefinitionSchema.parse(JSON.parse(readText(definitionFile, 'utf8')));
  await experiments.create(definition, '2026-03-01T00:00:00.000Z', 'test');
  await experiments.recordExposures(definition.id, [
    {
      repId: '005000000000001AAA',
      unitId: '005000000000001AAA',
      arm: 'treatment',
      share: 0.5,
      at: '2026-03-02T00:00:00.000Z',
      leadIds: [target, other],
      fallbackLeads: 0,
    },
  ]);
  await experiments.upsertOutcomes(
    definition.id,
    [target, other].map((leadId) => ({
      leadId,
      ownerId: '005000000000001AAA',
      createdAt: '2026-03-01T00:00:00.000Z',
      converted: true,
      convertedAt: '2026-03-05T00:00:00.000Z',
      firstTouchAt: null,
      amount: 1000,
      segments: { region: REGION, leadSource: 'Web', industry: null, companySize: null } as never,
    })),
  );

  // In a training set (the model's spec; the lead's row carries the vector).
  const spec = await readFeatureSpec(join(work, 'model-work', 'data'));
  const numeric = spec.features.flatMap((f, i) => (f.kind === 'numeric' ? [i] : []));
  const values = (a: number, b: number) =>
    spec.features.map((_, i) => (i === numeric[0] ? a : i === numeric[1] ? b : null));
  await writeTrainingSet(join(dirs().training, REGION, 'set-1'), spec, [
    {
      leadId: target,
      snapshotAt: new Date('2026-02-01T00:00:00Z'),
      label: 1,
      segments: {},
      values: values(vector[0]!, vector[1]!),
    },
    {
      leadId: other,
      snapshotAt: new Date('2026-02-01T00:00:00Z'),
      label: 0,
      segments: {},
      values: values(1, 2),
    },
  ]);

  const conn = new jsforce.Connection({ oauth2: { ...CLIENT, loginUrl: sim.url }, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });
  client = new SalesforceClient(conn, { log, poll: { intervalMs: 50, timeoutMs: 60_000 } } as never);
}, 240_000);

afterAll(async () => {
  for (const close of closers) await close().catch(() => {});
  await store?.close();
  await experiments?.close();
  await rt?.close?.();
  await sim?.close();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await db?.drop();
  delete process.env.LEADRANK_AUDIT_KEY_DIR;
});

const NEEDLES = () => [target, target.slice(0, 15), '0.7311234567', '41.98765432'];

/** Every Redis key under the prefix: its name and its value (gzip values opened), as text. */
async function redisFindings(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  const text = (b: Buffer) =>
    b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b).toString('utf8') : b.toString('latin1');
  for (const key of await redis.keys(`${PREFIX}*`)) {
    const type = await redis.type(key);
    const parts: string[] = [key];
    if (type === 'string') parts.push(text((await redis.getBuffer(key))!));
    else if (type === 'hash') {
      const all = await redis.hgetallBuffer(key);
      for (const [f, v] of Object.entries(all)) parts.push(f, text(v));
    } else if (type === 'list') parts.push(...(await redis.lrangeBuffer(key, 0, -1)).map(text));
    else if (type === 'set') parts.push(...(await redis.smembers(key)));
    else if (type === 'zset') parts.push(...(await redis.zrange(key, 0, -1)));
    else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    for (const n of needles) if (parts.some((p) => p.includes(n))) found.push(`redis ${key}: ${n}`);
  }
  return found;
}

async function postgresFindings(needles: string[]): Promise<string[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const found: string[] = [];
  try {
    const tables = await c.query<{ t: string }>(
      "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    for (const { t } of tables.rows) {
      const rows = await c.query(`SELECT * FROM ${t}`);
      const dump = JSON.stringify(rows.rows);
      for (const n of needles) if (dump.includes(n)) found.push(`postgres ${t}: ${n}`);
    }
  } finally {
    await c.end();
  }
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function fileFindings(needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of filesUnder(work)) {
    if (file.startsWith(join(work, 'model-work')) || file.startsWith(simDb)) continue; // the model's own data
    let text = readFileSync(file).toString('latin1');
    if (file.endsWith('.parquet')) {
      // Parquet pages are compressed: the rows are read back and searched as JSON.
      const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
      text += JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    }
    for (const n of needles) if (text.includes(n)) found.push(`${file.slice(work.length + 1)}: ${n}`);
  }
  return found;
}

/** The simulator's own database, every Score_History__c row (deleted ones too: the Recycle Bin counts). */
function simulatorFindings(needles: string[]): string[] {
  const sqlite = new Database(simDb, { readonly: true });
  try {
    const dump = JSON.stringify(sqlite.prepare('SELECT * FROM "Score_History__c"').all());
    return needles.filter((n) => dump.includes(n)).map((n) => `Score_History__c: ${n}`);
  } finally {
    sqlite.close();
  }
}

async function scan(needles: string[]): Promise<string[]> {
  return [
    ...(await redisFindings(needles)),
    ...(await postgresFindings(needles)),
    ...(await fileFindings(needles)),
    ...simulatorFindings(needles),
  ];
}

describe('erasure everywhere', () => {
  it('finds the lead everywhere before, nowhere after; verify passes; show says erased; others untouched', async () => {
    const before = await scan([target]);
    for (const place of ['redis', 'postgres', 'exports/', 'training-sets/', 'Score_History__c'])
      expect(
        before.some((f) => f.includes(place)),
        `${place} holds the lead before`,
      ).toBe(true);
    // The audit log before: readable through the key, never the id in clear.
    expect((await fileFindings([target])).some((f) => f.startsWith('audit/'))).toBe(false);
    const readable: AuditEntry[] = [];
    for await (const e of auditHistory(dirs().audit, target)) readable.push(e);
    expect(readable.map((e) => e.featureVector)).toEqual([vector, vector]);

    const receipts = openReceiptStore(dirs().privacy);
    const outcome = await eraseLead(
      { id: target, reason: 'subject-request' },
      { region: REGION, targets: targets(), receipts },
    );
    expect(outcome.kind).toBe('erased');
    if (outcome.kind !== 'erased') return;
    const receipt = outcome.receipt;
    expect(receipt.status).toBe('done');
    expect(receipt.steps.filter((s) => s.error)).toEqual([]);
    const removed = Object.fromEntries(receipt.steps.map((s) => [s.store.split(' ')[0]!, s.removed]));
    expect(removed).toMatchObject({ online: 1, audit: 1, experiment: 2, batch: 1, training: 1 });
    expect(receipt.steps.find((s) => s.store.startsWith('Score_History__c'))!.removed).toBe(1);
    // The receipt holds no trace of the subject but a salted hash.
    expect(JSON.stringify(receipt)).not.toContain(target);

    expect(await scan(NEEDLES())).toEqual([]);

    const verified = await verifyAuditLog(dirs().audit);
    expect(verified).toMatchObject({ ok: true, entries: 3 });
    const after: AuditEntry[] = [];
    for await (const e of auditHistory(dirs().audit, target)) after.push(e);
    expect(after).toEqual([]);
    expect(await auditErasure(dirs().audit, target)).toMatchObject({ receipt: receipt.id, unreadable: 2 });

    // The other lead is still everywhere.
    const kept = await scan([other]);
    for (const place of ['redis', 'postgres', 'exports/', 'training-sets/', 'Score_History__c'])
      expect(
        kept.some((f) => f.includes(place)),
        `${place} still holds the other lead`,
      ).toBe(true);
    const otherHistory: AuditEntry[] = [];
    for await (const e of auditHistory(dirs().audit, other)) otherHistory.push(e);
    expect(otherHistory).toHaveLength(1);
    expect((await store.getLeadStates([other]))[0]).not.toBeNull();

    // A second erasure is a no-op answering the same receipt; an unknown id is told apart.
    const again = await eraseLead(
      { id: target, reason: 'subject-request' },
      { region: REGION, targets: [], receipts },
    );
    expect(again).toMatchObject({
      kind: 'already-erased',
      receipt: { id: receipt.id, completedAt: receipt.completedAt },
    });
    const unknown = await eraseLead(
      { id: `${target.slice(0, 9)}999999`, reason: 'subject-request' }, // a well-formed Id no store holds
      { region: REGION, targets: targets(), receipts },
    );
    expect(unknown).toEqual({ kind: 'unknown' });
  }, 180_000);
});
