// Test and bench support for the batch cycle: an org simulator seeded with active and closed leads, a
// runtime wired to it, and readers of what the org holds afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import jsforce from 'jsforce';
import { pino } from 'pino';
import { startOrgSimulator, type RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { emptyScoreStats, type ScoredLead } from '../src/batch/batch-scorer.js';
import type { BatchConfigOverrides } from '../src/batch/config.js';
import type { SalesforceNames } from '../src/config/index.js';
import { loadMeta, type CycleModel } from '../src/batch/cycle.js';
import { leadToScore, minimizeRow } from '../src/batch/lead-rows.js';
import { createBatchRuntime, type BatchRuntime } from '../src/batch/runtime.js';
import { LEAD_PROFILE_FIELDS } from '../src/inputs/index.js';
import type { OnlineFeatureStore, Region } from '../src/store/index.js';
import { seeded } from './support/seeded.js';

export const repoRoot = new URL('../..', import.meta.url).pathname;
export const CLIENT = { clientId: 'batch-test', clientSecret: 'batch-test-secret-not-for-production' };
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export { seeded };

const SOURCES = ['Web', 'Partner Referral', 'Purchased List', 'Trade Show', 'Employee Referral'];
const INDUSTRIES = ['Technology', 'Finance', 'Healthcare', 'Retail', 'Education'];
const TITLES = ['Director of IT', 'CEO', 'Analyst', 'VP Sales', 'Student', 'Engineering Manager'];
const DOMAINS = ['gmail.com', 'acme.example', 'yahoo.com', 'globex.example'];
const COUNTRIES = { US: ['United States', 'Canada'], EU: ['Germany', 'France', 'Spain'] };

/** Synthetic leads (no real person). Every `closedEvery`-th lead is closed, so the extract must skip it. */
export function seedLeads(
  sim: RunningOrgSimulator,
  n: number,
  o: { region?: Region; seed?: number; closedEvery?: number } = {},
): void {
  const rand = seeded(o.seed ?? 11);
  const region = o.region ?? 'EU';
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (let i = 0; i < n; i += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, n - i) }, (_, k) => {
      const j = i + k;
      return {
        FirstName: 'Test',
        LastName: `Lead${j}`,
        Company: `Company ${j}`,
        Status:
          o.closedEvery && j % o.closedEvery === o.closedEvery - 1
            ? 'Closed - Not Converted'
            : pick(['Open - Not Contacted', 'Working - Contacted']),
        LeadSource: pick(SOURCES),
        Industry: rand() < 0.1 ? null : pick(INDUSTRIES),
        NumberOfEmployees: rand() < 0.1 ? null : Math.floor(Math.exp(rand() * 9)),
        AnnualRevenue: rand() < 0.3 ? null : Math.floor(Math.exp(10 + rand() * 10)),
        Country: pick(COUNTRIES[region]),
        Data_Region__c: region,
        Title: pick(TITLES),
        Email: `person${j}@${pick(DOMAINS)}`,
        HasOptedOutOfEmail: rand() < 0.1,
        DoNotCall: rand() < 0.1,
        Web_Visits__c: Math.floor(rand() * 12),
      };
    });
    const failed = sim.ctx.store.insert('Lead', batch).filter((r) => !r.success);
    if (failed.length) throw new Error(`seed failed: ${JSON.stringify(failed[0])}`);
  }
}

export async function startSimulator(
  o: { dbFile?: string; region?: 'US' | 'EU' | 'MIXED' } = {},
): Promise<RunningOrgSimulator> {
  return startOrgSimulator({ port: 0, clients: [CLIENT], logger: pino({ level: 'silent' }), ...o });
}

export async function connectTo(sim: RunningOrgSimulator): Promise<jsforce.Connection> {
  const conn = new jsforce.Connection({ oauth2: { ...CLIENT, loginUrl: sim.url }, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

export async function setFaults(sim: RunningOrgSimulator, faults: Record<string, number>): Promise<void> {
  const res = await fetch(`${sim.url}/__admin/faults`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (!res.ok) throw new Error(`faults: ${res.status} ${await res.text()}`);
}

/** Every row of a SOQL query, read from the simulator's store (not counted as API calls). */
export function queryStore(sim: RunningOrgSimulator, soql: string): Record<string, unknown>[] {
  const store = sim.ctx.store;
  const query = store.compileQuery(soql);
  const out: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const page = store.page(query, cursor, 2000);
    out.push(...(page.records as Record<string, unknown>[]));
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

export interface KitRuntimeOptions {
  sim: RunningOrgSimulator;
  region?: Region;
  redisUrl?: string | null;
  keyPrefix?: string;
  overrides?: BatchConfigOverrides;
  rootDir?: string;
  /** The online store events and extracts come from (default none). */
  featureStore?: OnlineFeatureStore | null;
  /** The package namespace's names layer (default: the repository's, unpackaged). */
  salesforceNames?: SalesforceNames;
  /** The audit root the cycles append to (default <rootDir>/var/audit; null: not audited). */
  auditDir?: string | null;
}

/** Fast test settings: small partitions and tasks, short polls and backoffs. */
export const FAST: BatchConfigOverrides = {
  extract: { partitionSize: 500 },
  write: { chunkRows: 1000 },
  lockRetry: { maxRounds: 6, baseDelayMs: 50, maxDelayMs: 400 },
  http: { maxAttempts: 8, baseDelayMs: 20, maxDelayMs: 200, timeoutMs: 30_000 },
  bulkPoll: { intervalMs: 100, timeoutMs: 120_000 },
  apiAllocation: { maxShare: 0.9, pauseCheckMs: 200 },
  explanationCache: { buckets: 64 },
  queue: {
    concurrency: 1,
    lockDurationMs: 4000,
    stalledIntervalMs: 1000,
    attempts: 20,
    backoffMs: 200,
    coordinatorPollMs: 100,
  },
};

export async function kitRuntime(o: KitRuntimeOptions): Promise<BatchRuntime> {
  const rootDir = o.rootDir ?? mkdtempSync(join(tmpdir(), 'batch-test-'));
  return createBatchRuntime({
    region: o.region ?? 'EU',
    rootDir,
    auditDir: o.auditDir !== undefined ? o.auditDir : join(rootDir, 'var', 'audit'),
    configDir: join(repoRoot, 'config'),
    overrides: { ...FAST, ...o.overrides },
    redisUrl: o.redisUrl ?? null,
    keyPrefix: o.keyPrefix ?? `lrtest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    connect: () => connectTo(o.sim),
    featureStore: o.featureStore ?? null,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...(o.salesforceNames ? { salesforceNames: o.salesforceNames } : {}),
  });
}

// ---------------------------------------------------------------- checking the org after a cycle

/** The Lead fields Apex sends to POST /v1/score (and the cycle extracts): profile, rule and action inputs. */
export const INPUT_FIELDS = LEAD_PROFILE_FIELDS.join(', ');

/** Scores every active lead of the region independently of the cycle, at the cycle's instant. */
export async function expectedScores(
  sim: RunningOrgSimulator,
  rt: BatchRuntime,
  model: CycleModel | null,
  asOf: string,
): Promise<Map<string, ScoredLead>> {
  const rows = queryStore(
    sim,
    `SELECT ${INPUT_FIELDS} FROM Lead WHERE Data_Region__c = '${rt.region}' AND IsConverted = false AND Status NOT IN ('Closed - Converted', 'Closed - Not Converted')`,
  );
  const asText = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const leads = rows.map((r) =>
    leadToScore(
      minimizeRow(
        Object.fromEntries(
          Object.entries(r)
            .filter(([k]) => k !== 'attributes')
            .map(([k, v]) => [k, asText(v)]),
        ),
        rt.region,
      ),
    ),
  );
  const scorer = await rt.scorer(model);
  const scored = await scorer.score(leads, new Date(asOf), emptyScoreStats());
  return new Map(scored.map((s) => [s.leadId, s]));
}

export interface OrgCheck {
  active: number;
  lost: string[];
  stale: string[];
  duplicatedHistory: string[];
  historyRows: number;
}

/**
 * After a first cycle (every lead written): each active lead holds exactly its expected score fields
 * (none lost, none stale) and has exactly one Score_History__c row for the cycle (none duplicated).
 */
export async function checkOrg(
  sim: RunningOrgSimulator,
  rt: BatchRuntime,
  cycleId: string,
): Promise<OrgCheck> {
  const meta = await loadMeta(rt.state, cycleId);
  const expected = await expectedScores(sim, rt, meta.model, meta.asOf);
  const leads = queryStore(
    sim,
    `SELECT Id, Lead_Score__c, Score_Band__c, Score_Reasons__c, Next_Best_Action__c, Score_Source__c, Score_Model_Version__c, Scored_At__c FROM Lead WHERE Data_Region__c = '${rt.region}'`,
  );
  const lost: string[] = [];
  const stale: string[] = [];
  const asOfMs = Date.parse(meta.asOf);
  for (const lead of leads) {
    const e = expected.get(lead.Id as string);
    if (!e) continue;
    if (lead.Lead_Score__c === null || lead.Scored_At__c === null) {
      lost.push(lead.Id as string);
      continue;
    }
    const same =
      lead.Lead_Score__c === e.score &&
      lead.Score_Band__c === e.band &&
      (lead.Score_Reasons__c ?? '') === e.reasonLines.join('\n') &&
      (lead.Next_Best_Action__c ?? null) === e.nextBestAction &&
      lead.Score_Source__c === { model: 'Model', rules: 'Rules' }[e.source] &&
      lead.Score_Model_Version__c === e.modelVersion &&
      Date.parse(String(lead.Scored_At__c).replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) === asOfMs;
    if (!same) stale.push(lead.Id as string);
  }
  const history = queryStore(sim, `SELECT Lead__c FROM Score_History__c WHERE Cycle_Id__c = '${cycleId}'`);
  const perLead = new Map<string, number>();
  for (const h of history) perLead.set(h.Lead__c as string, (perLead.get(h.Lead__c as string) ?? 0) + 1);
  return {
    active: expected.size,
    lost,
    stale,
    duplicatedHistory: [...perLead].filter(([, n]) => n > 1).map(([id]) => id),
    historyRows: history.length,
  };
}

// ---------------------------------------------------------------- processes

/** A batch worker in its own process (`node --import tsx`: the pid is the worker itself, for SIGKILL). */
export function spawnWorker(o: {
  sim: RunningOrgSimulator;
  redisUrl: string;
  keyPrefix: string;
  rootDir: string;
  coordinator?: boolean;
  overrides?: BatchConfigOverrides;
  /** Start from the FAST test settings (default) or from config/batch.json alone (bench). */
  fast?: boolean;
}): ChildProcess {
  const args = [
    '--import',
    'tsx',
    join(repoRoot, 'scoring-sidecar/src/commands/batch-main.ts'),
    'batch',
    'worker',
    '--region',
    'EU',
  ];
  if (o.coordinator) args.push('--coordinator');
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      REDIS_URL: o.redisUrl,
      LEADRANK_BATCH_PREFIX: o.keyPrefix,
      LEADRANK_ROOT: o.rootDir,
      LEADRANK_CONFIG_DIR: join(repoRoot, 'config'),
      LEADRANK_BATCH_OVERRIDES: JSON.stringify({ ...(o.fast === false ? {} : FAST), ...o.overrides }),
      SF_LOGIN_URL: o.sim.url,
      SF_CLIENT_ID: CLIENT.clientId,
      SF_CLIENT_SECRET: CLIENT.clientSecret,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

/** A dedicated redis-server with an append-only file synced on every write: restartable without losing state. */
export async function startRedisServer(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    const probe = new Redis(`redis://127.0.0.1:${port}`, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return child;
    } catch {
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`redis-server on port ${port} did not start`);
}
