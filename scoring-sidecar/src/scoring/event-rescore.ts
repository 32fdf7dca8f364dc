// Rescoring after engagement events: the leads whose aggregates changed, scored in request-sized batches with the
// full model budget (the caller is not waiting on them). What becomes of the scores is the write-back's business.
import { performance } from 'node:perf_hooks';
import type { LeadScore, ScoreContext, ScoringService } from './scoring-service.js';

export async function rescoreAfterEvents(
  scoring: ScoringService,
  leadIds: readonly string[],
  ctx: ScoreContext,
  o: { batch: number; deadlineMs: number },
  onBatch: (fresh: LeadScore[]) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < leadIds.length; start += o.batch) {
    const ids = leadIds.slice(start, start + o.batch);
    const scores = await scoring.score(
      ids.map((leadId) => ({ leadId })),
      { ...ctx, deadlineAt: performance.now() + o.deadlineMs },
    );
    await onBatch(scores.filter((s): s is LeadScore => s.status === 200));
  }
}
