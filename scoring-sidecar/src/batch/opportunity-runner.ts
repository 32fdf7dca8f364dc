// The opportunity cycle on the lead cycle's machinery: the region's opportunity lease (cycle-lock.ts, its own
// kind), the cycle state store (state-store.ts) for a resumable cycle, the report file and the dead-letter list
// `leadrank batch failures <cycleId>` reads, the batch metrics, and the audit log. Steps, each recorded in the
// cycle's meta before the next:
//   score  — extract and score every open deal at the cycle's instant (opportunity-cycle.ts); the changes and
//            audit entries are stored with the meta's next phase in one transaction;
//   audit  — every score appended to `<auditDir>/batch-opportunities/<region>` before any is written (at least
//            once: a crash between the append and the meta write appends them again, never loses them);
//   write  — the changes written (idempotent: same values, history upserted on `<id>:<cycleId>`, Bulk job ids
//            checkpointed in the state store);
//   report — the report stored, saved as a file and counted in the metrics; the dead letters stored.
// A cycle id given again resumes that cycle from its phase, or returns its report when it is done.
import { openAuditLog, type AuditEntry } from '../audit/index.js';
import type { Region } from '../store/index.js';
import { opportunityAuditChainDir } from './audit-step.js';
import { stateKeys } from './cycle-state.js';
import type { OpportunityScorer } from '../scoring/index.js';
import {
  logCycleDone,
  newOpportunityCycleId,
  scoreOpenOpportunities,
  writeOpportunityChanges,
  type OpportunityCycleOptions,
  type OpportunityCycleReport,
} from './opportunity-cycle.js';
import type { DeadLetter } from './report.js';
import type { BatchRuntime } from './runtime.js';
import { getJson, packJson, unpackJson } from './state-store.js';
import type { ScoreChange } from './delta.js';

export type OpportunityPhase = 'score' | 'audit' | 'write' | 'done';

export interface OpportunityCycleMeta {
  cycleId: string;
  region: Region;
  /** The scoring instant of every deal in the cycle, and their Scored_At__c. */
  asOf: string;
  startedAt: string;
  phase: OpportunityPhase;
  /** Runs of the cycle (1 when it ran through; more when it was resumed). */
  attempts: number;
}

/** The cycle's keys in the cycle state store (beside the lead cycles', under their own `o:` names). */
const k = {
  index: 'opportunity-cycles',
  meta: (c: string) => `o:${c}:meta`,
  /** The score step's output: report so far, changes and audit entries (dropped once reported). */
  scored: (c: string) => `o:${c}:scored`,
  report: (c: string) => `o:${c}:report`,
  job: (c: string, stage: string, round: number) => `o:${c}:job:${stage}:${round}`,
};

interface Scored {
  report: OpportunityCycleReport;
  changes: ScoreChange[];
  audit: AuditEntry[];
}

export interface OpportunityCycleRequest {
  /** Resume (or name) this cycle; default `opp-<region>-<time>` of `now`. */
  cycleId?: string;
  now?: () => Date;
  /** config/opportunity-batch.json write.collectionsMaxRows. */
  collectionsMaxRows?: number;
}

/** The cycle ids of the region, oldest first (the last 200). */
export async function listOpportunityCycles(rt: Pick<BatchRuntime, 'state'>): Promise<string[]> {
  return (await getJson<string[]>(rt.state, k.index)) ?? [];
}

export async function opportunityCycleReport(
  rt: Pick<BatchRuntime, 'state'>,
  cycleId: string,
): Promise<OpportunityCycleReport | null> {
  return getJson<OpportunityCycleReport>(rt.state, k.report(cycleId));
}

export async function opportunityCycleMeta(
  rt: Pick<BatchRuntime, 'state'>,
  cycleId: string,
): Promise<OpportunityCycleMeta | null> {
  return getJson<OpportunityCycleMeta>(rt.state, k.meta(cycleId));
}

/**
 * Runs (or resumes) one opportunity cycle under the region's opportunity lease; refused with
 * CycleRunningError while another opportunity cycle of the region runs, in this process or any other sharing
 * the Redis.
 */
export async function runOpportunityCycleOnce(
  rt: BatchRuntime,
  scorer: OpportunityScorer,
  req: OpportunityCycleRequest = {},
): Promise<OpportunityCycleReport> {
  const now = req.now ?? (() => new Date());
  const cycleId = req.cycleId ?? newOpportunityCycleId(rt.region, now());
  const lease = await rt.opportunityCycleLock.acquire(cycleId);
  try {
    return await driveOpportunityCycle(rt, scorer, cycleId, now, req.collectionsMaxRows);
  } catch (error) {
    rt.metrics.opportunityCycleFailed(rt.region);
    throw error;
  } finally {
    await lease.release();
  }
}

async function driveOpportunityCycle(
  rt: BatchRuntime,
  scorer: OpportunityScorer,
  cycleId: string,
  now: () => Date,
  collectionsMaxRows: number | undefined,
): Promise<OpportunityCycleReport> {
  const done = await opportunityCycleReport(rt, cycleId);
  let meta = await opportunityCycleMeta(rt, cycleId);
  if (done && meta?.phase === 'done') return done;
  const started = Date.now();
  if (!meta) {
    meta = {
      cycleId,
      region: rt.region,
      asOf: now().toISOString(),
      startedAt: new Date().toISOString(),
      phase: 'score',
      attempts: 0,
    };
    const index = (await listOpportunityCycles(rt)).filter((id) => id !== cycleId);
    index.push(cycleId);
    await rt.state.set([
      [k.meta(cycleId), JSON.stringify(meta)],
      [k.index, JSON.stringify(index.slice(-200))],
    ]);
  }
  meta.attempts++;
  const log = rt.log.child({ cycleId, region: rt.region });
  log.info({ phase: meta.phase, attempt: meta.attempts }, 'opportunity cycle phase');
  const client = await rt.salesforce();
  const callsBefore = client.stats.apiCalls;
  const jobsBefore = client.stats.bulkJobs;
  const asOf = new Date(meta.asOf);
  const options: OpportunityCycleOptions = {
    client,
    region: rt.region,
    scorer,
    materialChange: rt.config.materialChange,
    cycleId,
    now: () => asOf,
    log,
    ...(collectionsMaxRows !== undefined ? { collectionsMaxRows } : {}),
    checkpoint: (stage, round) => ({
      load: async () => (await rt.state.get(k.job(cycleId, stage, round)))?.toString('utf8') ?? null,
      save: (jobId: string) => rt.state.set([[k.job(cycleId, stage, round), jobId]]),
    }),
  };

  let scored: Scored;
  if (meta.phase === 'score') {
    scored = await scoreOpenOpportunities(options);
    meta.phase = rt.auditDir ? 'audit' : 'write';
    await rt.state.set([
      [k.scored(cycleId), packJson(scored)],
      [k.meta(cycleId), JSON.stringify(meta)],
    ]);
  } else {
    const data = await rt.state.get(k.scored(cycleId));
    if (!data)
      throw new Error(`opportunity cycle ${cycleId}: scores missing (older than the state retention?)`);
    scored = unpackJson<Scored>(data);
  }
  const { report, changes } = scored;

  if (meta.phase === 'audit') {
    // Audited before any score is written: a deal score in Salesforce always has its audit entry.
    if (rt.auditDir && scored.audit.length > 0) {
      const chain = await openAuditLog({
        dir: opportunityAuditChainDir(rt.auditDir),
        region: rt.region,
      });
      try {
        await chain.append(scored.audit);
      } finally {
        await chain.close();
      }
      log.info({ phase: 'audit', entries: scored.audit.length }, 'opportunity cycle scores audited');
    }
    meta.phase = 'write';
    await rt.state.set([[k.meta(cycleId), JSON.stringify(meta)]]);
  }

  if (meta.phase === 'write') {
    // A resumed write starts from the scored figures again; the counts are those of the last, complete run.
    report.failed = report.failed.filter((f) => f.stage === 'extract');
    await writeOpportunityChanges(options, report, changes);
  }
  report.apiCalls += client.stats.apiCalls - callsBefore;
  report.bulkJobs += client.stats.bulkJobs - jobsBefore;
  report.ms += Date.now() - started;

  const dead: DeadLetter[] = report.failed.map((f) => ({
    leadId: f.opportunityId,
    code: f.code,
    message: f.message,
    stage: f.stage,
  }));
  const reportFile = await rt.saveReport(cycleId, report);
  meta.phase = 'done';
  await rt.state.set([
    [k.report(cycleId), JSON.stringify(report)],
    // The lead cycle's dead-letter key: `leadrank batch failures <cycleId>` reads both kinds.
    [stateKeys.dead(cycleId), packJson(dead)],
    [k.meta(cycleId), JSON.stringify(meta)],
  ]);
  await rt.state.del([k.scored(cycleId)]);
  rt.metrics.opportunityCycleFinished(report);
  logCycleDone({ log }, report);
  log.info({ reportFile }, 'opportunity cycle report saved');
  return report;
}
