// The 0-100 score a rep sees: the percentile of the lead's calibrated probability among the training
// validation period's snapshots (score-scale.json, written by training/leadrank_training/train.py).
// Conversions are rare (about 2 % in 30 days), so probability × 100 would put nearly every lead in band D.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const SCORE_SCALE_FILE = 'score-scale.json';

export const scoreScaleSchema = z.object({
  method: z.literal('percentile'),
  reference: z.string(),
  rows: z.number().int().positive(),
  quantiles: z
    .array(z.number().min(0).max(1))
    .length(101)
    .refine((q) => q.every((v, i) => i === 0 || v >= q[i - 1]!), 'quantiles must not decrease'),
});
export type ScoreScale = z.infer<typeof scoreScaleSchema>;

/** The model's scale, or null for a model trained before scales existed (then score = probability × 100). */
export function readScoreScale(modelDir: string): ScoreScale | null {
  const file = join(modelDir, SCORE_SCALE_FILE);
  if (!existsSync(file)) return null;
  const parsed = scoreScaleSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new Error(`${file}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** 0-100, monotone in the probability: linear between the reference quantiles, ties at their midpoint. */
export function scoreFromProbability(probability: number, scale: ScoreScale | null): number {
  if (!scale) return Math.round(probability * 100);
  const q = scale.quantiles;
  if (probability <= q[0]!) return 0;
  if (probability >= q[100]!) return 100;
  let lo = 0;
  let hi = 100;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (q[mid]! <= probability) lo = mid;
    else hi = mid;
  }
  // q[lo] <= p < q[hi]; equal quantiles (a plateau) cannot be the pair here, so the division is safe.
  return Math.round(lo + (probability - q[lo]!) / (q[hi]! - q[lo]!));
}
