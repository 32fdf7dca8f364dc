// The delta: a rescore is written only when it matters to a rep, and the CSV rows of the two Bulk ingest jobs
// (Lead update, Score_History__c upsert on External_Key__c = "<leadId>:<cycleId>", idempotent on retry).
import { stringify } from 'csv-stringify/sync';
import { SCORE_SOURCE_PICKLIST, type ScoreSourcePicklistValue } from '../config/index.js';
import type { Region } from '../store/index.js';
import type { ScoredLead } from './batch-scorer.js';
import type { BatchConfig } from './config.js';
import type { PublishedScore } from './lead-rows.js';

export type MaterialReason =
  'first' | 'score' | 'band' | 'topReason' | 'nextBestAction' | 'source' | 'maxAge';

/** A record to write: its new values, the score it replaces and why it is written. */
export interface ScoreChange {
  /** The scored record's Id: a lead's, or an opportunity's (OPPORTUNITY_TARGET). */
  leadId: string;
  score: number;
  previousScore: number | null;
  band: string;
  reasons: string;
  nextBestAction: string | null;
  source: ScoreSourcePicklistValue;
  modelVersion: string;
  featureHash: string;
  why: MaterialReason;
}

/** Numbers masked: "Last visited 3 days ago" and "… 4 days ago" are the same reason, one day apart. */
const reasonIdentity = (line: string | null | undefined) => (line ?? '').replace(/[\d.,]+/g, '#').trim();
/** The action's label: its rationale quotes the score and day counts, which move every cycle. */
const actionIdentity = (nba: string | null) => (nba === null ? '' : (nba.split(': ')[0] ?? nba));

export function materialReason(
  previous: PublishedScore,
  next: ScoredLead,
  rule: BatchConfig['materialChange'],
  asOfMs: number,
): MaterialReason | null {
  if (previous.score === null || previous.band === null) return 'first';
  if (Math.abs(next.score - previous.score) >= rule.points) return 'score';
  if (rule.onBandChange && previous.band !== next.band) return 'band';
  if (
    rule.onTopReasonChange &&
    reasonIdentity(previous.reasons?.split('\n')[0]) !== reasonIdentity(next.reasonLines[0])
  ) {
    return 'topReason';
  }
  if (
    rule.onNextBestActionChange &&
    actionIdentity(previous.nextBestAction) !== actionIdentity(next.nextBestAction)
  ) {
    return 'nextBestAction';
  }
  if (rule.onSourceChange && previous.source !== SCORE_SOURCE_PICKLIST[next.source]) return 'source';
  if (previous.scoredAtMs === null || asOfMs - previous.scoredAtMs >= rule.maxAgeHours * 3_600_000)
    return 'maxAge';
  return null;
}

/** Salesforce text limits: Score_Reasons__c 4,000, Next_Best_Action__c 255; whole lines are dropped, never cut. */
export function changeOf(previous: PublishedScore, next: ScoredLead, why: MaterialReason): ScoreChange {
  const lines = [...next.reasonLines];
  while (lines.join('\n').length > 4000) lines.pop();
  return {
    leadId: next.leadId,
    score: next.score,
    previousScore: previous.score,
    band: next.band,
    reasons: lines.join('\n'),
    nextBestAction: next.nextBestAction === null ? null : next.nextBestAction.slice(0, 255),
    source: SCORE_SOURCE_PICKLIST[next.source],
    modelVersion: next.modelVersion.slice(0, 64),
    featureHash: next.featureHash.slice(0, 64),
    why,
  };
}

/** Bulk API 2.0 CSV: an empty cell leaves a field untouched, #N/A clears it. */
const cell = (v: string | number | null) => (v === null || v === '' ? '#N/A' : v);

/**
 * Where a scored object's changes go: the record's score fields (the score field differs: Lead_Score__c,
 * Opportunity_Score__c; the others share their names) and the Score_History__c lookup that names it. One
 * delta, one CSV writer, for leads and opportunities.
 */
export interface ScoreTarget {
  object: 'Lead' | 'Opportunity';
  scoreField: string;
  /** The Score_History__c lookup to the record. */
  historyLookup: 'Lead__c' | 'Opportunity__c';
  /** Extra history columns holding the record's Id (Record_Id__c: the Id kept as text). */
  historyIdColumns: readonly string[];
}

export const LEAD_TARGET: ScoreTarget = {
  object: 'Lead',
  scoreField: 'Lead_Score__c',
  historyLookup: 'Lead__c',
  historyIdColumns: [],
};

export const OPPORTUNITY_TARGET: ScoreTarget = {
  object: 'Opportunity',
  scoreField: 'Opportunity_Score__c',
  historyLookup: 'Opportunity__c',
  historyIdColumns: ['Record_Id__c'],
};

export const scoreColumns = (t: ScoreTarget) => [
  'Id',
  t.scoreField,
  'Score_Band__c',
  'Score_Reasons__c',
  'Next_Best_Action__c',
  'Score_Source__c',
  'Score_Model_Version__c',
  'Scored_At__c',
];

export const LEAD_COLUMNS = scoreColumns(LEAD_TARGET);

/** The record update's CSV (Lead or Opportunity score fields). */
export function scoreUpdateCsv(
  changes: readonly ScoreChange[],
  scoredAt: string,
  target: ScoreTarget,
): string {
  return stringify(
    changes.map((c) => [
      c.leadId,
      c.score,
      c.band,
      cell(c.reasons),
      cell(c.nextBestAction),
      c.source,
      c.modelVersion,
      scoredAt,
    ]),
    { header: true, columns: scoreColumns(target), record_delimiter: 'unix' },
  );
}

export function leadUpdateCsv(changes: readonly ScoreChange[], scoredAt: string): string {
  return scoreUpdateCsv(changes, scoredAt, LEAD_TARGET);
}

export const historyColumns = (t: ScoreTarget) => [
  'External_Key__c',
  t.historyLookup,
  ...t.historyIdColumns,
  'Score__c',
  'Previous_Score__c',
  'Band__c',
  'Reasons__c',
  'Next_Best_Action__c',
  'Source__c',
  'Model_Version__c',
  'Feature_Hash__c',
  'Cycle_Id__c',
  'Scored_At__c',
  'Data_Region__c',
];

export const HISTORY_COLUMNS = historyColumns(LEAD_TARGET);

export const historyKey = (leadId: string, cycleId: string) => `${leadId}:${cycleId}`;

/** The Score_History__c upsert's CSV, External_Key__c = "<recordId>:<cycleId>" (idempotent on retry). */
export function historyCsv(
  changes: readonly ScoreChange[],
  cycleId: string,
  region: Region,
  scoredAt: string,
  target: ScoreTarget,
): string {
  return stringify(
    changes.map((c) => [
      historyKey(c.leadId, cycleId),
      c.leadId,
      ...target.historyIdColumns.map(() => c.leadId),
      c.score,
      cell(c.previousScore),
      c.band,
      cell(c.reasons),
      cell(c.nextBestAction),
      c.source,
      c.modelVersion,
      c.featureHash,
      cycleId,
      scoredAt,
      region,
    ]),
    { header: true, columns: historyColumns(target), record_delimiter: 'unix' },
  );
}

export function historyUpsertCsv(
  changes: readonly ScoreChange[],
  cycleId: string,
  region: Region,
  scoredAt: string,
): string {
  return historyCsv(changes, cycleId, region, scoredAt, LEAD_TARGET);
}
