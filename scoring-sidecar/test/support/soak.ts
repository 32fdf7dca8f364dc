// The soak: a day in the life of a deployment, with Leadrank running only as the processes its CLI starts
// (`leadrank serve`, `leadrank worker --roles sync,writeback,batch,scheduler,privacy`) against the org simulator, under a
// scripted stream of org churn and chaos. Shared by test/soak.test.ts (small, CI) and bench/soak.ts (full size).
//
// Time is scaled, not simulated: the simulator's clock is wall time (a fast org clock would put SystemModstamp
// ahead of the processes' clocks), so the 4-hour cycle runs every `cycleMs` and one simulated hour is
// `cycleMs / 4` of wall time; the org outage lasts the scaled 5 minutes (at least 2 s of each error).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RunningOrgSimulator } from '../../../org-simulator/src/server.js';
import { listCycles, loadMeta } from '../../src/batch/cycle-state.js';
import { waitForCycle } from '../../src/batch/index.js';
import type { CycleReport } from '../../src/batch/report.js';
import { createRedisWorklistIndex, loadRankingConfig } from '../../src/ranking/index.js';
import {
  CLIENT,
  FAST,
  INPUT_FIELDS,
  kitRuntime,
  queryStore,
  repoRoot,
  seeded,
  seedLeads,
  setFaults,
  startRedisServer,
  startSimulator,
  stopProcess,
} from '../batch-kit.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

export interface SoakOptions {
  leads: number;
  /** Wall time of one 4-hour cycle interval. */
  cycleMs: number;
  /** Simulated hours (≥ 24: six cycles). */
  hours: number;
  /** Churn operations per simulated hour. */
  churnPerHour: number;
  /** Leads sent engagement events per simulated hour. */
  eventLeadsPerHour: number;
  /** A trained model directory (LEADRANK_MODEL_DIR of every process); rules only without. */
  modelDir?: string;
  log?: (line: string) => void;
}

export interface SoakResult {
  options: SoakOptions;
  scoring: 'rules' | 'model';
  cycles: { id: string; durationMs: number; written: number; dead: number }[];
  churn: Record<string, number>;
  chaos: string[];
  syncLagMs: { n: number; p50: number; p95: number; max: number };
  eventToOrgMs: { n: number; p50: number; p95: number; max: number };
  openLeads: number;
  /** Open leads whose Lead_Score__c is neither what POST /v1/score answers now with the Lead's fields (as Apex
   * asks) nor by Id alone: a stale or lost score. */
  mismatched: string[];
  /**
   * Open leads whose by-Id answer (what an event rescore writes, from the store's profile) differs from the
   * with-fields answer (what Apex and the batch score). The profile carries every rule and model input, so none.
   */
  profileDiffers: string[];
  /** Leads whose end-state answer was the rules standing in for a model past its deadline (not compared). */
  deadlineFallbacks: number;
  /** Up to ten leads whose answers differ or whose org score is neither: the org's score and both answers. */
  mismatchSample: unknown[];
  removedInWorklist: string[];
  /** Org changes (new lead, owner change) not in the new owner's worklist a minute after the churn stopped. */
  syncMissed: unknown[];
  lostWritebacks: string[];
  duplicatedWritebacks: string[];
  writebackDeadLetters: number;
  cycleDeadLetters: number;
  wallMs: number;
}

const SECRET = 'soak-client-secret';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLOSED = ['Closed - Converted', 'Closed - Not Converted', 'Disqualified', 'Unqualified'];
const OPEN_WHERE = `Data_Region__c = 'EU' AND IsConverted = false AND Status NOT IN (${CLOSED.map((s) => `'${s}'`).join(', ')})`;
const orgTime = (v: unknown) => Date.parse(String(v).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));

function quantiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : 0);
  return { n: s.length, p50: q(0.5), p95: q(0.95), max: s.length ? s[s.length - 1]! : 0 };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function until(what: string, probe: () => Promise<boolean>, ms: number, every = 200) {
  const deadline = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`soak: timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** `leadrank serve` as a child process; resolves once /healthz answers. */
async function startServe(env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'scoring-sidecar/src/cli.ts'), 'serve', '--port', String(port)],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await until('leadrank serve', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000);
  return child;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const say = o.log ?? (() => {});
  const started = Date.now();
  const hourMs = o.cycleMs / 4;
  const dir = mkdtempSync(join(tmpdir(), 'leadrank-soak-'));
  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  let redisServer = await startRedisServer(join(dir), redisPort);
  const sim: RunningOrgSimulator = await startSimulator({ region: 'EU' });
  const rand = seeded(12);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const processes: { serve?: ChildProcess; worker?: WorkerProcess } = {};
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  const ranking = loadRankingConfig();
  const index = createRedisWorklistIndex(redisUrl, 'EU', {
    keyPrefix: 'soak',
    closedStatuses: ranking.candidates.closedStatuses,
  });
  const rt = await kitRuntime({ sim, redisUrl, keyPrefix: 'soak' });
  try {
    // ---------------------------------------------------------------- the org and its users
    const owners = sim.ctx.store
      .insert(
        'User',
        [1, 2, 3, 4].map((n) => ({
          Username: `soak.rep${n}@example.invalid`,
          LastName: `Rep${n}`,
          Email: `soak.rep${n}@example.invalid`,
          Alias: `rep${n}`,
          IsActive: true,
        })),
      )
      .map((r) => {
        if (!r.success) throw new Error(`soak: user insert failed: ${JSON.stringify(r)}`);
        return r.id!;
      });
    seedLeads(sim, o.leads, { region: 'EU', seed: 7, closedEvery: 12 });
    const all = queryStore(sim, `SELECT Id FROM Lead WHERE Data_Region__c = 'EU'`);
    sim.ctx.store.update(
      'Lead',
      all.map((l) => ({ Id: l.Id, OwnerId: pick(owners) })),
    );

    // ---------------------------------------------------------------- Leadrank: serve + worker, CLI only
    const servePort = await freePort();
    const env: NodeJS.ProcessEnv = {
      REGION: 'EU',
      REDIS_URL: redisUrl,
      LEADRANK_REDIS_PREFIX: 'soak',
      LEADRANK_BATCH_PREFIX: 'soak',
      LEADRANK_BULLMQ_PREFIX: 'soak-bull',
      LEADRANK_ROOT: dir,
      LEADRANK_STATE_DIR: join(dir, 'state'),
      LEADRANK_AUDIT_DIR: join(dir, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_CONFIG_DIR: join(repoRoot, 'config'),
      ...(o.modelDir ? { LEADRANK_MODEL_DIR: o.modelDir } : { LEADRANK_RULES_ONLY: '1' }),
      LEADRANK_CLIENTS: JSON.stringify([
        {
          clientId: 'soak-eu',
          clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
          region: 'EU',
          name: 'soak',
        },
      ]),
      LEADRANK_TOKEN_SIGNING_KEY: 'soak-signing-key-0123456789abcdef0123456789',
      // The production per-call timeout (config/batch.json): a 10K-row result page read on a loaded box takes
      // longer than the tests' 30 s.
      LEADRANK_BATCH_OVERRIDES: JSON.stringify({
        ...FAST,
        schedule: { everyMs: o.cycleMs },
        http: { ...FAST.http, timeoutMs: 120_000 },
      }),
      LEADRANK_WRITEBACK_OVERRIDES: JSON.stringify({ flushMs: 200 }),
      LEADRANK_SYNC_LEASE_MS: '4000',
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: CLIENT.clientId,
      SF_CLIENT_SECRET: CLIENT.clientSecret,
    };
    const startWorker = () =>
      startWorkerProcess({
        roles: 'sync,writeback,batch,scheduler,privacy',
        region: 'EU',
        env,
        args: ['--sync-interval', '1s'],
      });
    processes.serve = await startServe(
      { ...env, LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'warn' },
      servePort,
    );
    processes.worker = await startWorker();
    const base = `http://127.0.0.1:${servePort}`;
    const tokenRes = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=soak-eu&client_secret=${SECRET}`,
    });
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    const churn: Record<string, number> = {};
    const count = (k: string) => (churn[k] = (churn[k] ?? 0) + 1);
    // A 503 (the store did not answer within scoring.json storeTimeoutMs, as on a loaded box) is retried as a
    // client should, with backoff; the retries are counted and printed.
    const api = async (method: string, path: string, body?: unknown, type = 'application/json') => {
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { 'content-type': type, authorization: `Bearer ${token}` },
          ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        });
        const text = await res.text();
        if (res.status === 503 && attempt < 10) {
          count('api503Retried');
          await sleep(250 * attempt);
          continue;
        }
        return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
      }
    };
    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${sim.url}/__admin${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!res.ok) throw new Error(`soak: admin ${path}: ${res.status} ${await res.text()}`);
    };

    // The initial load: every open lead in some worklist.
    const openIds = () => queryStore(sim, `SELECT Id, OwnerId FROM Lead WHERE ${OPEN_WHERE}`);
    await until(
      'the initial sync',
      async () => {
        const open = openIds();
        return (await worklisted(open[0]!)) && (await worklisted(open[open.length - 1]!));
      },
      Math.max(120_000, o.leads * 30),
    );
    say(`initial sync done: ${openIds().length} open leads`);

    async function worklisted(lead: Record<string, unknown>): Promise<boolean> {
      return (await index.candidatesFor(lead.OwnerId as string, null)).some((c) => c.leadId === lead.Id);
    }

    // ---------------------------------------------------------------- churn, events, chaos
    const removed = new Set<string>();
    const syncWatch: { leadId: string; owner: string; at: number }[] = [];
    const syncLag: number[] = [];
    const eventWatch = new Map<string, number>(); // leadId -> when its material event was posted
    const eventLag: number[] = [];
    const chaos: string[] = [];
    let stopWatching = false;
    let leadSeq = o.leads;

    // Watchers: org change -> worklist, event -> score in the org.
    const watcher = (async () => {
      while (!stopWatching) {
        for (const w of [...syncWatch]) {
          if (await worklisted({ Id: w.leadId, OwnerId: w.owner }).catch(() => false)) {
            syncLag.push(Date.now() - w.at);
            syncWatch.splice(syncWatch.indexOf(w), 1);
          }
        }
        if (eventWatch.size) {
          const ids = [...eventWatch.keys()];
          const rows = queryStore(
            sim,
            `SELECT Id, Scored_At__c FROM Lead WHERE Id IN (${ids.map((id) => `'${id}'`).join(', ')})`,
          );
          for (const r of rows) {
            const at = eventWatch.get(r.Id as string)!;
            if (r.Scored_At__c && orgTime(r.Scored_At__c) >= at - 1000) {
              eventLag.push(Date.now() - at);
              eventWatch.delete(r.Id as string);
            }
          }
        }
        await sleep(250);
      }
    })();

    // A later change of the same lead replaces what was awaited of it; a removed lead is awaited no more (its
    // queued score may legitimately fail: the record is gone).
    // A lead opted out of both email and calls is in no worklist by design (ranking/candidates.ts): not awaited.
    const watchSync = (leadId: string, owner: string) => {
      forget(leadId);
      const [row] = queryStore(sim, `SELECT HasOptedOutOfEmail, DoNotCall FROM Lead WHERE Id = '${leadId}'`);
      if (row?.HasOptedOutOfEmail && row.DoNotCall) return;
      syncWatch.push({ leadId, owner, at: Date.now() });
    };
    const forget = (leadId: string) => {
      for (let i = syncWatch.length - 1; i >= 0; i--)
        if (syncWatch[i]!.leadId === leadId) syncWatch.splice(i, 1);
    };
    const remove = (leadId: string) => {
      forget(leadId);
      eventWatch.delete(leadId);
      removed.add(leadId);
    };
    const openLead = () => {
      const open = openIds().filter((l) => !removed.has(l.Id as string));
      return open.length ? pick(open) : null;
    };
    async function churnOnce(): Promise<void> {
      const op = rand();
      const lead = openLead();
      if (!lead) return;
      const id = lead.Id as string;
      if (op < 0.2) {
        const before = new Set(queryStore(sim, `SELECT Id FROM Lead`).map((l) => l.Id));
        seedLeads(sim, 1, { region: 'EU', seed: leadSeq++ });
        const fresh = queryStore(sim, `SELECT Id FROM Lead`).find((l) => !before.has(l.Id))!;
        const owner = pick(owners);
        sim.ctx.store.update('Lead', [{ Id: fresh.Id, OwnerId: owner }]);
        watchSync(fresh.Id as string, owner);
        count('new');
      } else if (op < 0.4) {
        sim.ctx.store.update('Lead', [
          { Id: id, Status: pick(['Working - Contacted', 'Open - Not Contacted']) },
        ]);
        count('status');
      } else if (op < 0.6) {
        const owner = pick(owners.filter((u) => u !== lead.OwnerId));
        sim.ctx.store.update('Lead', [{ Id: id, OwnerId: owner }]);
        watchSync(id, owner);
        count('owner');
      } else if (op < 0.7) {
        await admin('POST', '/leads/convert', { leadId: id, doNotCreateOpportunity: true });
        remove(id);
        count('converted');
      } else if (op < 0.8) {
        sim.ctx.store.delete('Lead', [id]);
        remove(id);
        count('deleted');
      } else if (op < 0.9) {
        const other = openLead();
        if (!other || other.Id === id) return;
        await admin('POST', '/leads/merge', { masterRecordId: id, recordToMergeIds: [other.Id] });
        remove(other.Id as string);
        count('merged');
      } else {
        sim.ctx.store.update('Lead', [{ Id: id, Status: 'Closed - Not Converted' }]);
        remove(id); // closed: leaves the worklists (the profile stays in the store)
        count('closed');
      }
    }

    async function eventsOnce(): Promise<void> {
      const lead = openLead();
      if (!lead) return;
      const id = lead.Id as string;
      const now = Date.now();
      const events = [0, 1, 2].map((n) => ({
        eventId: `soak-${id}-${now}-${n}`,
        leadId: id,
        type: pick([
          'pricing_page_visit',
          'form_fill',
          'webinar_attended',
          'email_click',
          'trial_signup',
        ] as const),
        occurredAt: new Date(now - n * 1000).toISOString(),
        region: 'EU',
      }));
      const res = await api('POST', '/v1/events', { events });
      if (res.status !== 200) throw new Error(`soak: /v1/events ${res.status} ${JSON.stringify(res.json)}`);
      if ((res.json.writebackQueued as number) > 0) eventWatch.set(id, now);
      count('eventBatches');
    }

    async function extractOnce(): Promise<void> {
      const day = new Date().toISOString().slice(0, 10);
      const rows = openIds()
        .slice(0, 50)
        .map((l) =>
          JSON.stringify({
            lead_id: l.Id,
            extract_date: day,
            campaign_count: Math.floor(rand() * 5),
            last_campaign: 'Soak campaign',
            intent_score: Math.round(rand() * 100),
            intent_topic: 'pricing',
            region: 'EU',
          }),
        );
      const res = await api('POST', '/v1/extracts/marketing', rows.join('\n'), 'application/x-ndjson');
      if (res.status !== 200) throw new Error(`soak: extract ${res.status} ${JSON.stringify(res.json)}`);
      count('extracts');
    }

    const restartRedis = async () => {
      await stopProcess(redisServer, 'SIGTERM');
      redisServer = await startRedisServer(dir, redisPort);
    };

    // The day: each simulated hour brings churn, events and (on schedule) chaos.
    const firstCycleIds = new Set(await listCycles(rt.state));
    for (let hour = 0; hour < o.hours; hour++) {
      const hourEnd = Date.now() + hourMs;
      if (hour === 2) {
        await setFaults(sim, { lockErrorRate: 0.05 }); // reps editing leads while the batch writes
        chaos.push(`h${hour}: lockErrorRate 0.05 on`);
      }
      if (hour === Math.floor(o.hours / 4)) {
        chaos.push(`h${hour}: worker SIGKILL, restarted`);
        await processes.worker.stop('SIGKILL');
        await sleep(500);
        processes.worker = await startWorker();
      }
      if (hour === Math.floor(o.hours / 2)) {
        chaos.push(`h${hour}: redis-server restarted (AOF)`);
        await restartRedis();
      }
      if (hour === Math.floor((3 * o.hours) / 4)) {
        const spanMs = Math.max(2_000, Math.round((5 / 60) * hourMs));
        chaos.push(
          `h${hour}: org outage REQUEST_LIMIT_EXCEEDED ${spanMs} ms then SERVER_UNAVAILABLE ${spanMs} ms`,
        );
        await admin('PUT', '/outage', { errorCode: 'REQUEST_LIMIT_EXCEEDED', durationMs: spanMs });
        await sleep(spanMs);
        await admin('PUT', '/outage', { errorCode: 'SERVER_UNAVAILABLE', durationMs: spanMs });
      }
      if (hour === 12) await setFaults(sim, { lockErrorRate: 0 });
      if (hour % 24 === 6) await extractOnce();
      const ops = o.churnPerHour + o.eventLeadsPerHour;
      for (let i = 0; i < ops && Date.now() < hourEnd; i++) {
        if (i % 2 === 0 && i / 2 < o.eventLeadsPerHour) await eventsOnce();
        else await churnOnce();
        await sleep(Math.max(0, (hourEnd - Date.now()) / (ops - i + 1)));
      }
      await sleep(Math.max(0, hourEnd - Date.now()));
      say(`hour ${hour + 1}/${o.hours}: ${JSON.stringify(churn)}`);
    }

    // ---------------------------------------------------------------- settle, then compare
    await setFaults(sim, { lockErrorRate: 0 });
    await admin('DELETE', '/outage');
    const settleFrom = Date.now();
    // Changes the sync has not brought to the worklists after a minute are reported (and asserted by the test).
    await until('the sync to catch up', async () => syncWatch.length === 0, 60_000).catch(() => {});
    const syncMissed = syncWatch.map((w) => {
      const [row] = queryStore(
        sim,
        `SELECT Id, OwnerId, Status, SystemModstamp FROM Lead WHERE Id = '${w.leadId}'`,
      );
      return { ...w, org: row ?? null };
    });
    syncWatch.length = 0;
    await until('the event write-backs', async () => eventWatch.size === 0, 120_000);
    // A cycle that starts after the churn stopped, completed.
    let finalId = '';
    await until(
      'a final cycle',
      async () => {
        const ids = await listCycles(rt.state);
        for (const id of ids) {
          const meta = await loadMeta(rt.state, id).catch(() => null);
          if (meta && Date.parse(meta.startedAt) > settleFrom + 2000) finalId = id;
        }
        return finalId !== '';
      },
      o.cycleMs * 3,
    );
    await waitForCycle(rt, finalId, 250, o.cycleMs * 3);
    stopWatching = true;
    await watcher;

    const cycles: SoakResult['cycles'] = [];
    let cycleDead = 0;
    for (const id of await listCycles(rt.state)) {
      if (firstCycleIds.has(id)) continue;
      const report: CycleReport | null = await waitForCycle(rt, id, 250, 1).catch(() => null);
      if (!report) continue;
      cycles.push({
        id,
        durationMs: report.durationMs,
        written: report.leads.written,
        dead: report.leads.failed,
      });
      cycleDead += report.leads.failed;
    }

    // Each open lead's score in the org against POST /v1/score now, asked as Apex asks (Id + the Lead's fields:
    // the store adds events and extracts) and by Id alone (the store's profile).
    const open = queryStore(
      sim,
      `SELECT ${INPUT_FIELDS}, Lead_Score__c, Scored_At__c FROM Lead WHERE ${OPEN_WHERE}`,
    );
    const mismatched: string[] = [];
    const profileDiffers: string[] = [];
    let deadlineFallbacks = 0;
    const mismatchSample: unknown[] = [];
    for (let i = 0; i < open.length; i += 100) {
      const chunk = open.slice(i, i + 100);
      const withFields = await api('POST', '/v1/score', {
        leads: chunk.map((l) => {
          const { attributes: _a, Lead_Score__c: _s, Scored_At__c: _t, ...fields } = l;
          return {
            id: l.Id,
            fields: Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)),
          };
        }),
      });
      if (withFields.status !== 200)
        throw new Error(`soak: POST /v1/score ${withFields.status} ${JSON.stringify(withFields.json)}`);
      const byId = await api('POST', '/v1/score', { leads: chunk.map((l) => ({ id: l.Id })) });
      const scoreOf = (res: { json: Record<string, unknown> }) =>
        new Map(
          ((res.json.scores ?? []) as { leadId: string; score?: number; status: number }[]).map((x) => [
            x.leadId,
            x.status === 200 ? x.score : `status ${x.status}`,
          ]),
        );
      const a = scoreOf(withFields);
      const b = scoreOf(byId);
      // An answer the rules gave because the model ran past scoring.json deadlineMs (a loaded box) is not a profile
      // difference: counted apart, and the comparison for that lead is skipped.
      const deadline = new Set(
        [withFields, byId].flatMap((res) =>
          ((res.json.scores ?? []) as { leadId: string; fallbackReason?: string }[])
            .filter((x) => x.fallbackReason === 'deadline')
            .map((x) => x.leadId),
        ),
      );
      deadlineFallbacks += deadline.size;
      for (const l of chunk) {
        const id = l.Id as string;
        if (deadline.has(id)) continue;
        if (a.get(id) !== b.get(id)) {
          profileDiffers.push(id);
          if (mismatchSample.length < 10)
            mismatchSample.push({ id, withFields: a.get(id), byId: b.get(id), org: l.Lead_Score__c });
        }
        if (a.get(id) === l.Lead_Score__c || b.get(id) === l.Lead_Score__c) continue;
        mismatched.push(id);
        if (mismatchSample.length < 5)
          mismatchSample.push({
            id,
            org: l.Lead_Score__c,
            orgAt: l.Scored_At__c,
            withFields: a.get(id),
            byId: b.get(id),
          });
      }
    }

    const removedInWorklist: string[] = [];
    for (const owner of owners) {
      const res = await api('GET', `/v1/worklists/${owner}`);
      const items = [
        ...((res.json.items ?? []) as { leadId: string }[]),
        ...((res.json.excluded ?? []) as { leadId: string }[]),
      ];
      const candidates = await index.candidatesFor(owner, null);
      for (const id of [...items.map((i) => i.leadId), ...candidates.map((c) => c.leadId)])
        if (removed.has(id)) removedInWorklist.push(id);
    }

    const history = queryStore(sim, `SELECT External_Key__c, Lead__c, Cycle_Id__c FROM Score_History__c`);
    const perKey = new Map<string, number>();
    for (const h of history)
      perKey.set(h.External_Key__c as string, (perKey.get(h.External_Key__c as string) ?? 0) + 1);
    const duplicated = [...perKey].filter(([, n]) => n > 1).map(([k]) => k);
    const deadRaw = await redis.llen('soak:{EU}:writeback:dead').catch(() => 0);

    return {
      options: o,
      scoring: o.modelDir ? 'model' : 'rules',
      cycles,
      churn,
      chaos,
      syncLagMs: quantiles(syncLag),
      eventToOrgMs: quantiles(eventLag),
      openLeads: open.length,
      mismatched,
      profileDiffers,
      deadlineFallbacks,
      mismatchSample,
      removedInWorklist: [...new Set(removedInWorklist)],
      syncMissed,
      lostWritebacks: [...eventWatch.keys()],
      duplicatedWritebacks: duplicated,
      writebackDeadLetters: deadRaw,
      cycleDeadLetters: cycleDead,
      wallMs: Date.now() - started,
    };
  } finally {
    // A worker in the middle of a cycle finishes its job before it exits; the soak does not wait past 30 s.
    if (processes.worker) {
      const worker = processes.worker;
      const stopped = worker.stop('SIGTERM').then(
        () => true,
        () => true,
      );
      if (!(await Promise.race([stopped, sleep(30_000).then(() => false)])))
        await worker.stop('SIGKILL').catch(() => {});
    }
    if (processes.serve) await stopProcess(processes.serve).catch(() => {});
    await Promise.allSettled([rt.close(), index.close(), redis.quit()]);
    await stopProcess(redisServer).catch(() => {});
    await sim.close();
  }
}
