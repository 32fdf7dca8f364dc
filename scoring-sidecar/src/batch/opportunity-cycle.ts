// The opportunity cycle: every open opportunity of a region rescored at one instant, and only material changes
// written back, with the lead cycle's rules and writers (delta.ts: materialReason, changeOf and the CSVs, for
// OPPORTUNITY_TARGET; write-task.ts: history rows only for score changes). Deals are far fewer than leads
// (a region's open pipeline, not millions), so the cycle runs in one process without partitions: extract
// (Bulk API 2.0 query), score (scoring/opportunity-scoring.ts), delta, then the write-back: sObject
// Collections up to `collectionsMaxRows` changes, Bulk API 2.0 ingest jobs above; locked rows retried. The two
// halves (scoreOpenOpportunities, writeOpportunityChanges) are the steps opportunity-runner.ts runs resumably,
// under the region's opportunity lease, with every score audited in between.
import type { Logger } from 'pino';
import type { AuditEntry } from '../audit/index.js';
import { OPPORTUNITY_SYNC_FIELDS, opportunityFromRow, type OpportunityRecord } from '../inputs/index.js';
import {
  COLLECTION_LIMIT,
  type BulkRow,
  type IngestOutcome,
  type JobCheckpoint,
  type SalesforceClient,
} from '../salesforce/index.js';
import type { OpportunityScore, OpportunityScorer } from '../scoring/index.js';
import type { Region } from '../store/index.js';
import { batchAuditEntry } from './audit-step.js';
import type { BatchConfig } from './config.js';
import { newCycleId } from './cycle-state.js';
import {
  changeOf,
  historyCsv,
  historyKey,
  materialReason,
  OPPORTUNITY_TARGET,
  scoreUpdateCsv,
  type MaterialReason,
  type ScoreChange,
} from './delta.js';
import { publishedOf } from './lead-rows.js';
import { HISTORY_REASONS } from './write-task.js';

const SCORE_FIELDS = [
  OPPORTUNITY_TARGET.scoreField,
  'Score_Band__c',
  'Score_Reasons__c',
  'Next_Best_Action__c',
  'Score_Source__c',
  'Scored_At__c',
];
const SCORE_ROWS = 2_000;
const LOCK_ROUNDS = 3;
const RETRYABLE = new Set(['UNABLE_TO_LOCK_ROW', 'UNPROCESSED']);

export interface OpportunityCycleOptions {
  client: SalesforceClient;
  region: Region;
  scorer: OpportunityScorer;
  materialChange: BatchConfig['materialChange'];
  /** Changes up to this many go through sObject Collections; more through Bulk API 2.0 (default 2,000). */
  collectionsMaxRows?: number;
  cycleId?: string;
  now?: () => Date;
  log?: Logger;
  /**
   * Where a Bulk ingest job's id is kept as soon as it exists, so a resumed cycle polls that job instead of
   * sending the rows again (default: in memory, for this run only).
   */
  checkpoint?: (stage: 'opportunity' | 'history', round: number) => JobCheckpoint;
}

export interface OpportunityCycleReport {
  cycleId: string;
  region: Region;
  asOf: string;
  /** The SOQL of the extract (region only: no customer values). */
  query: string;
  extracted: number;
  scored: { model: number; rules: number };
  modelVersion: string;
  changes: number;
  byReason: Partial<Record<MaterialReason, number>>;
  written: number;
  historyWritten: number;
  /** Rows not written (and extracted rows that could not be read as a deal): the cycle's dead letters. */
  failed: {
    opportunityId: string;
    stage: 'extract' | 'opportunity' | 'history';
    code: string;
    message: string;
  }[];
  path: 'collections' | 'bulk' | 'none';
  apiCalls: number;
  bulkJobs: number;
  ms: number;
}

/** The extract and score half of a cycle: its report so far, the material changes, and every score's audit entry. */
export interface ScoredOpportunities {
  report: OpportunityCycleReport;
  changes: ScoreChange[];
  audit: AuditEntry[];
}

/** Opportunity cycle ids sort by time like the lead cycle's, and say what they are: `opp-<region>-<yyyymmddThhmmssZ>`. */
export function newOpportunityCycleId(region: Region, at = new Date()): string {
  return `opp-${newCycleId(region, at)}`;
}

/** A whole cycle in this process: extract, score, write (no state kept between runs). */
export async function runOpportunityCycle(o: OpportunityCycleOptions): Promise<OpportunityCycleReport> {
  const started = Date.now();
  const callsBefore = o.client.stats.apiCalls;
  const jobsBefore = o.client.stats.bulkJobs;
  const { report, changes } = await scoreOpenOpportunities(o);
  await writeOpportunityChanges(o, report, changes);
  report.apiCalls = o.client.stats.apiCalls - callsBefore;
  report.bulkJobs = o.client.stats.bulkJobs - jobsBefore;
  report.ms = Date.now() - started;
  logCycleDone(o, report);
  return report;
}

export function logCycleDone(o: Pick<OpportunityCycleOptions, 'log'>, report: OpportunityCycleReport): void {
  o.log?.info(
    {
      cycleId: report.cycleId,
      region: report.region,
      extracted: report.extracted,
      changes: report.changes,
      written: report.written,
      historyWritten: report.historyWritten,
      failed: report.failed.length,
      path: report.path,
    },
    'opportunity cycle done',
  );
}

/**
 * Extracts every open deal of the region with its published score (Bulk API 2.0 query), scores them at one
 * instant and keeps the material changes; a row that is not a readable deal is a dead letter, not a failed cycle.
 */
export async function scoreOpenOpportunities(o: OpportunityCycleOptions): Promise<ScoredOpportunities> {
  const asOf = (o.now ?? (() => new Date()))();
  const asOfIso = asOf.toISOString();
  const cycleId = o.cycleId ?? newOpportunityCycleId(o.region, asOf);
  const query =
    `SELECT ${[...OPPORTUNITY_SYNC_FIELDS, ...SCORE_FIELDS].join(', ')} FROM Opportunity ` +
    `WHERE Data_Region__c = '${o.region}' AND IsClosed = false ORDER BY Id`;
  const report: OpportunityCycleReport = {
    cycleId,
    region: o.region,
    asOf: asOfIso,
    query,
    extracted: 0,
    scored: { model: 0, rules: 0 },
    modelVersion: o.scorer.currentVersion(),
    changes: 0,
    byReason: {},
    written: 0,
    historyWritten: 0,
    failed: [],
    path: 'none',
    apiCalls: 0,
    bulkJobs: 0,
    ms: 0,
  };

  const changes: ScoreChange[] = [];
  const audit: AuditEntry[] = [];
  const meta = { cycleId, region: o.region, asOf: asOfIso };
  let rows: BulkRow[] = [];
  const scoreRows = async () => {
    if (rows.length === 0) return;
    const records: OpportunityRecord[] = [];
    const valid: BulkRow[] = [];
    for (const row of rows) {
      try {
        records.push(opportunityFromRow(row));
        valid.push(row);
      } catch (error) {
        report.failed.push({
          opportunityId: row.Id ?? '',
          stage: 'extract',
          code: 'INVALID_OPPORTUNITY_DATA',
          message: (error as Error).message.slice(0, 300),
        });
      }
    }
    rows = [];
    if (records.length === 0) return;
    const { scores, encoded } = await o.scorer.score(records, asOf);
    scores.forEach((s, i) => {
      report.scored[s.source]++;
      const next = scoredOf(s);
      audit.push(batchAuditEntry({ ...next, vector: encoded?.vectors[i] ?? [] }, meta));
      const previous = publishedOf(valid[i]!, OPPORTUNITY_TARGET.scoreField);
      const why = materialReason(previous, next, o.materialChange, asOf.getTime());
      if (!why) return;
      report.byReason[why] = (report.byReason[why] ?? 0) + 1;
      changes.push(changeOf(previous, next, why));
    });
  };
  for await (const row of o.client.bulkQuery(query)) {
    report.extracted++;
    rows.push(row);
    if (rows.length >= SCORE_ROWS) await scoreRows();
  }
  await scoreRows();
  report.changes = changes.length;
  return { report, changes, audit };
}

/**
 * Writes a cycle's material changes (the deal's score fields, then history rows for score changes), recording
 * counts and failures in the report. Safe to run again for the same cycle: updates set the same values and
 * history rows are upserted on `<opportunityId>:<cycleId>`.
 */
export async function writeOpportunityChanges(
  o: OpportunityCycleOptions,
  report: OpportunityCycleReport,
  changes: ScoreChange[],
): Promise<void> {
  if (changes.length === 0) return;
  const { cycleId, region } = report;
  const asOfIso = report.asOf;
  const checkpoint = o.checkpoint ?? (() => memoryCheckpoint());
  const useCollections = changes.length <= (o.collectionsMaxRows ?? 2_000);
  report.path = useCollections ? 'collections' : 'bulk';
  const written = await writeStage(report, changes, 'opportunity', (part, round) =>
    useCollections
      ? updateByCollections(o.client, part, asOfIso)
      : updateByBulk(o.client, part, asOfIso, checkpoint('opportunity', round)),
  );
  report.written = written.length;
  const history = written.filter((c) => HISTORY_REASONS.has(c.why));
  const historyDone = await writeStage(report, history, 'history', (part, round) =>
    useCollections
      ? historyByCollections(o.client, part, cycleId, region, asOfIso)
      : historyByBulk(o.client, part, cycleId, region, asOfIso, checkpoint('history', round)),
  );
  report.historyWritten = historyDone.length;
}

/** The pipeline's score as the lead delta reads it (the record Id in `leadId`; see ScoreChange). */
function scoredOf(s: OpportunityScore) {
  return {
    leadId: s.opportunityId,
    score: s.score,
    band: s.band,
    probability: s.probability,
    reasonLines: s.reasonLines,
    nextBestAction: s.nextBestAction ? `${s.nextBestAction.label}: ${s.nextBestAction.rationale}` : null,
    source: s.source,
    modelVersion: s.modelVersion,
    featureHash: s.featureHash,
  } as Parameters<typeof materialReason>[1];
}

type Failure = { key: string; code: string; message: string };

/** Writes in rounds: locked or unprocessed rows are tried again (up to 3 rounds), other failures reported. */
async function writeStage(
  report: OpportunityCycleReport,
  changes: ScoreChange[],
  stage: 'opportunity' | 'history',
  write: (part: ScoreChange[], round: number) => Promise<Failure[]>,
): Promise<ScoreChange[]> {
  let pending = [...changes].sort((a, b) => (a.leadId < b.leadId ? -1 : a.leadId > b.leadId ? 1 : 0));
  const ok: ScoreChange[] = [];
  for (let round = 0; round < LOCK_ROUNDS && pending.length > 0; round++) {
    const failures = new Map((await write(pending, round)).map((f) => [f.key, f]));
    const retry: ScoreChange[] = [];
    for (const c of pending) {
      const f = failures.get(c.leadId);
      if (!f) ok.push(c);
      else if (RETRYABLE.has(f.code) && round < LOCK_ROUNDS - 1) retry.push(c);
      else
        report.failed.push({
          opportunityId: c.leadId,
          stage,
          code: f.code,
          message: f.message.slice(0, 300),
        });
    }
    pending = retry;
  }
  return ok;
}

const recordKey = (key: string) => key.split(':')[0]!;

/** A job's failures by record Id; a job that ended Failed fails the rows it neither committed nor rejected. */
function failuresOfIngest(outcome: IngestOutcome, part: readonly ScoreChange[]): Failure[] {
  const out: Failure[] = outcome.failed.map((f) => ({ ...f, key: recordKey(f.key) }));
  for (const key of outcome.unprocessed)
    out.push({ key: recordKey(key), code: 'UNPROCESSED', message: 'not processed by the job' });
  if (outcome.jobFailure) {
    const settled = new Set([...outcome.committed, ...out.map((f) => f.key)].map(recordKey));
    for (const c of part)
      if (!settled.has(c.leadId))
        out.push({ key: c.leadId, code: 'JOB_FAILED', message: outcome.jobFailure });
  }
  return out;
}

const memoryCheckpoint = (): JobCheckpoint => {
  let id: string | null = null;
  return { load: async () => id, save: async (jobId: string) => void (id = jobId) };
};

async function updateByBulk(
  client: SalesforceClient,
  part: ScoreChange[],
  scoredAt: string,
  checkpoint: JobCheckpoint,
) {
  const csv = scoreUpdateCsv(part, scoredAt, OPPORTUNITY_TARGET);
  const outcome = await client.runIngestJob(
    { object: 'Opportunity', operation: 'update', keyColumn: 'Id', csv, rows: part.length },
    checkpoint,
  );
  return failuresOfIngest(outcome, part);
}

async function historyByBulk(
  client: SalesforceClient,
  part: ScoreChange[],
  cycleId: string,
  region: Region,
  scoredAt: string,
  checkpoint: JobCheckpoint,
) {
  const csv = historyCsv(part, cycleId, region, scoredAt, OPPORTUNITY_TARGET);
  const outcome = await client.runIngestJob(
    {
      object: 'Score_History__c',
      operation: 'upsert',
      externalIdFieldName: 'External_Key__c',
      keyColumn: 'External_Key__c',
      csv,
      rows: part.length,
    },
    checkpoint,
  );
  return failuresOfIngest(outcome, part);
}

const failuresOfCollections = (
  results: { key: string; success: boolean; errors: { statusCode: string; message: string }[] }[],
): Failure[] =>
  results
    .filter((r) => !r.success)
    .map((r) => ({
      key: recordKey(r.key),
      code: r.errors[0]?.statusCode ?? 'UNKNOWN',
      message: r.errors[0]?.message ?? '',
    }));

async function updateByCollections(client: SalesforceClient, part: ScoreChange[], scoredAt: string) {
  const failures: Failure[] = [];
  for (let i = 0; i < part.length; i += COLLECTION_LIMIT) {
    const records = part.slice(i, i + COLLECTION_LIMIT).map((c) => ({
      Id: c.leadId,
      [OPPORTUNITY_TARGET.scoreField]: c.score,
      Score_Band__c: c.band,
      Score_Reasons__c: c.reasons || null,
      Next_Best_Action__c: c.nextBestAction,
      Score_Source__c: c.source,
      Score_Model_Version__c: c.modelVersion,
      Scored_At__c: scoredAt,
    }));
    failures.push(...failuresOfCollections(await client.updateRecords('Opportunity', records)));
  }
  return failures;
}

async function historyByCollections(
  client: SalesforceClient,
  part: ScoreChange[],
  cycleId: string,
  region: Region,
  scoredAt: string,
) {
  const failures: Failure[] = [];
  for (let i = 0; i < part.length; i += COLLECTION_LIMIT) {
    const records = part.slice(i, i + COLLECTION_LIMIT).map((c) => ({
      External_Key__c: historyKey(c.leadId, cycleId),
      Opportunity__c: c.leadId,
      Record_Id__c: c.leadId,
      Score__c: c.score,
      Previous_Score__c: c.previousScore,
      Band__c: c.band,
      Reasons__c: c.reasons || null,
      Next_Best_Action__c: c.nextBestAction,
      Source__c: c.source,
      Model_Version__c: c.modelVersion,
      Feature_Hash__c: c.featureHash,
      Cycle_Id__c: cycleId,
      Scored_At__c: scoredAt,
      Data_Region__c: region,
    }));
    failures.push(
      ...failuresOfCollections(await client.upsertRecords('Score_History__c', 'External_Key__c', records)),
    );
  }
  return failures;
}
