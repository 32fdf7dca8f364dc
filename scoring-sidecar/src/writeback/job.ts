// A write-back job: one material score change of one lead, as the producer queues it and the consumer writes it.
import type { ScoringConfig } from '../config/index.js';
import type { LeadScore } from '../scoring/index.js';
import type { Region } from '../store/index.js';

/** One job's payload (docs/api.md "Write-back queue"); no PII: ids, numbers and reason texts. */
export interface WritebackJob {
  leadId: string;
  region: Region;
  score: number;
  band: string;
  probability: number | null;
  previousScore: number | null;
  previousBand: string | null;
  source: 'model' | 'rules';
  fallbackReason?: string;
  modelVersion: string;
  reasonLines: string[];
  /** "<label>: <rationale>", as Next_Best_Action__c holds it. */
  nextBestAction: string | null;
  featureHash: string;
  scoredAt: string;
  requestId: string;
  trigger: 'events';
  /** When the producer queued it (ms since epoch): the write-back lag is measured from here. */
  enqueuedAt?: number;
}

export function writebackQueueName(region: Region): string {
  return `leadrank-writeback-${region}`;
}

/** The same lead scored at the same instant is one job, however often it is added. */
export const writebackJobId = (job: Pick<WritebackJob, 'leadId' | 'scoredAt'>) =>
  `${job.leadId}-${Date.parse(job.scoredAt)}`;

/** What Salesforce last received for a lead, the baseline a rescore is compared with. */
export interface PublishedScore {
  score: number;
  band: string;
}

/** First score, a band change (when configured) or a move of at least `points`. */
export function isMaterialChange(
  previous: PublishedScore | null,
  next: Pick<LeadScore, 'score' | 'band'>,
  rule: ScoringConfig['materialChange'],
): boolean {
  if (previous === null) return true;
  if (rule.onBandChange && previous.band !== next.band) return true;
  return Math.abs(next.score - previous.score) >= rule.points;
}

export function writebackJobOf(s: LeadScore, region: Region, previous: PublishedScore | null): WritebackJob {
  return {
    leadId: s.leadId,
    region,
    score: s.score,
    band: s.band,
    probability: s.probability,
    previousScore: previous?.score ?? null,
    previousBand: previous?.band ?? null,
    source: s.source,
    ...(s.fallbackReason ? { fallbackReason: s.fallbackReason } : {}),
    modelVersion: s.modelVersion,
    reasonLines: s.reasonLines,
    nextBestAction: s.nextBestAction ? `${s.nextBestAction.label}: ${s.nextBestAction.rationale}` : null,
    featureHash: s.featureHash,
    scoredAt: s.scoredAt,
    requestId: s.requestId,
    trigger: 'events',
  };
}

/** Per lead, the job with the newest scoredAt (ties: the later one in the list). */
export function coalesceByLead<T extends Pick<WritebackJob, 'leadId' | 'scoredAt'>>(jobs: readonly T[]): T[] {
  const newest = new Map<string, T>();
  for (const job of jobs) {
    const seen = newest.get(job.leadId);
    if (!seen || Date.parse(job.scoredAt) >= Date.parse(seen.scoredAt)) newest.set(job.leadId, job);
  }
  return [...newest.values()];
}
