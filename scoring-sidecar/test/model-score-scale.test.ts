import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scoreFromProbability, scoreScaleSchema, type ScoreScale } from '../src/model/score-scale.js';

// A reference like a rare-event model's: most probabilities are small, a long tail goes higher.
const quantiles = Array.from({ length: 101 }, (_, i) => 0.002 + 0.3 * (i / 100) ** 3);
const scale: ScoreScale = { method: 'percentile', reference: 'test', rows: 1000, quantiles };

describe('the 0-100 score scale', () => {
  it('places a probability at its percentile among the reference, not at probability × 100', () => {
    expect(scoreFromProbability(quantiles[50]!, scale)).toBe(50);
    expect(scoreFromProbability(quantiles[90]!, scale)).toBe(90);
    expect(scoreFromProbability(0.05, scale)).toBeGreaterThan(50); // p × 100 would say 5
    expect(scoreFromProbability(0, scale)).toBe(0);
    expect(scoreFromProbability(0.9, scale)).toBe(100);
  });

  it('is monotone and within 0-100, including on plateaus of equal quantiles', () => {
    const flat: ScoreScale = { ...scale, quantiles: quantiles.map((q, i) => (i < 40 ? 0.002 : q)) };
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (a, b) => {
          for (const s of [scale, flat]) {
            const [lo, hi] = a <= b ? [a, b] : [b, a];
            const sLo = scoreFromProbability(lo, s);
            const sHi = scoreFromProbability(hi, s);
            expect(sLo).toBeLessThanOrEqual(sHi);
            expect(sLo).toBeGreaterThanOrEqual(0);
            expect(sHi).toBeLessThanOrEqual(100);
          }
        },
      ),
    );
  });

  it('falls back to probability × 100 for a model without a scale, and refuses a malformed one', () => {
    expect(scoreFromProbability(0.42, null)).toBe(42);
    expect(scoreScaleSchema.safeParse({ ...scale, quantiles: [...quantiles].reverse() }).success).toBe(false);
    expect(scoreScaleSchema.safeParse({ ...scale, quantiles: quantiles.slice(1) }).success).toBe(false);
  });
});
