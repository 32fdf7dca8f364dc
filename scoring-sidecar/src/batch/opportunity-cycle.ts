// The opportunity cycle: every open opportunity of a region rescored at one instant, and only material changes
// written back, with the lead cycle's rules and writers (delta.ts: materialReason, changeOf and the CSVs, for
// OPPORTUNITY_TARGET; write-task.ts: history rows only for score changes). Deals are far fewer than leads
// (a region's open pipeline, not millions), so the cycle runs in one process without partitions: extract
// (Bulk API 2.0 query), score (scoring/opportunity-scoring.ts), delta, then the write-back: sObject
// Collections up to `collectionsMaxRows` changes, Bulk API 2.0 ingest jobs above; locked rows retried.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { OPPORTUNITY_SYNC_FIELDS, opportunityFromRow, type OpportunityRecord } from '../inputs/index.js';
import {
  COLLECTION_LIMIT,
  type BulkRow,
  type IngestOutcome,
  type SalesforceClient,
} from '../salesforce/index.js';
import type { OpportunityScore, OpportunityScorer } from '../scoring/index.js';
import type { Region } from '../store/index.js';
import type { BatchConfig } from './config.js';
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
  failed: { opportunityId: string; stage: 'opportunity' | 'history'; code: string; message: string }[];
  path: 'collections' | 'bulk' | 'none';
  apiCalls: number;
  bulkJobs: number;
  ms: number;
}

export async function runOpportunityCycle(o: OpportunityCycleOptions): Promise<OpportunityCycleReport> {
  const started = Date.now();
  const asOf = (o.now ?? (() => new Date()))();
  const asOfIso = asOf.toISOString();
  const cycleId = o.cycleId ?? `opp-${asOfIso.slice(0, 19).replace(/[-:]/g, '')}-${randomUUID().slice(0, 8)}`;
  const callsBefore = o.client.stats.apiCalls;
  const jobsBefore = o.client.stats.bulkJobs;
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
  let rows: BulkRow[] = [];
  const scoreRows = async () => {
    if (rows.length === 0) return;
    const records: OpportunityRecord[] = rows.map((r) => opportunityFromRow(r));
    const { scores } = await o.scorer.score(records, asOf);
    scores.forEach((s, i) => {
      report.scored[s.source]++;
      const previous = publishedOf(rows[i]!, OPPORTUNITY_TARGET.scoreField);
      const next = scoredOf(s);
      const why = materialReason(previous, next, o.materialChange, asOf.getTime());
      if (!why) return;
      report.byReason[why] = (report.byReason[why] ?? 0) + 1;
      changes.push(changeOf(previous, next, why));
    });
    rows = [];
  };
  for await (const row of o.client.bulkQuery(query)) {
    report.extracted++;
    rows.push(row);
    if (rows.length >= SCORE_ROWS) await scoreRows();
  }
  await scoreRows();
  report.changes = changes.length;

  if (changes.length > 0) {
    const useCollections = changes.length <= (o.collectionsMaxRows ?? 2_000);
    report.path = useCollections ? 'collections' : 'bulk';
    const written = await writeStage(o, report, changes, 'opportunity', (part) =>
      useCollections ? updateByCollections(o.client, part, asOfIso) : updateByBulk(o.client, part, asOfIso),
    );
    report.written = written.length;
    const history = written.filter((c) => HISTORY_REASONS.has(c.why));
    const historyDone = await writeStage(o, report, history, 'history', (part) =>
      useCollections
        ? historyByCollections(o.client, part, cycleId, o.region, asOfIso)
        : historyByBulk(o.client, part, cycleId, o.region, asOfIso),
    );
    report.historyWritten = historyDone.length;
  }
  report.apiCalls = o.client.stats.apiCalls - callsBefore;
  report.bulkJobs = o.client.stats.bulkJobs - jobsBefore;
  report.ms = Date.now() - started;
  o.log?.info(
    {
      cycleId,
      region: o.region,
      extracted: report.extracted,
      changes: report.changes,
      written: report.written,
      historyWritten: report.historyWritten,
      failed: report.failed.length,
      path: report.path,
    },
    'opportunity cycle done',
  );
  return report;
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
  o: OpportunityCycleOptions,
  report: OpportunityCycleReport,
  changes: ScoreChange[],
  stage: 'opportunity' | 'history',
  write: (part: ScoreChange[]) => Promise<Failure[]>,
): Promise<ScoreChange[]> {
  let pending = [...changes].sort((a, b) => (a.leadId < b.leadId ? -1 : a.leadId > b.leadId ? 1 : 0));
  const ok: ScoreChange[] = [];
  for (let round = 0; round < LOCK_ROUNDS && pending.length > 0; round++) {
    const failures = new Map((await write(pending)).map((f) => [f.key, f]));
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

const memoryCheckpoint = () => {
  let id: string | null = null;
  return { load: async () => id, save: async (jobId: string) => void (id = jobId) };
};

async function updateByBulk(client: SalesforceClient, part: ScoreChange[], scoredAt: string) {
  const csv = scoreUpdateCsv(part, scoredAt, OPPORTUNITY_TARGET);
  const outcome = await client.runIngestJob(
    { object: 'Opportunity', operation: 'update', keyColumn: 'Id', csv, rows: part.length },
    memoryCheckpoint(),
  );
  return failuresOfIngest(outcome, part);
}

async function historyByBulk(
  client: SalesforceClient,
  part: ScoreChange[],
  cycleId: string,
  region: Region,
  scoredAt: string,
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
    memoryCheckpoint(),
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
