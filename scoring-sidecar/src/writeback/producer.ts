// The producer: fresh scores in, material changes queued for Salesforce out, and the materiality baseline moved.
import type { ScoringConfig } from '../config/index.js';
import type { LeadScore } from '../scoring/index.js';
import type { Region } from '../store/index.js';
import { isMaterialChange, writebackJobOf } from './job.js';
import type { PublishedScores } from './published.js';
import type { WritebackQueue } from './queue.js';

export interface ProducerDeps {
  region: Region;
  materialChange: ScoringConfig['materialChange'];
  published: PublishedScores;
  queue: WritebackQueue;
}

/** Queues the material changes among `scores`; resolves to how many were queued. */
export async function queueMaterialChanges(
  deps: ProducerDeps,
  scores: readonly LeadScore[],
): Promise<number> {
  const previous = await deps.published.get(scores.map((s) => s.leadId));
  const jobs = scores.flatMap((s, i) => {
    const prev = previous[i] ?? null;
    return isMaterialChange(prev, s, deps.materialChange) ? [writebackJobOf(s, deps.region, prev)] : [];
  });
  await deps.queue.add(jobs);
  await deps.published.set(jobs.map((j) => ({ leadId: j.leadId, score: j.score, band: j.band })));
  return jobs.length;
}
