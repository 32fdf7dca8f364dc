import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rocAuc } from '../src/roc-auc.js';

function bruteForceAuc(scores: number[], labels: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (!labels[i]) return;
    scores.forEach((sn, j) => {
      if (labels[j]) return;
      pairs++;
      wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('rocAuc', () => {
  it('handles a small example with ties', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(rocAuc([0.5, 0.5, 0.5], [1, 0, 0])).toBeCloseTo(0.5, 12);
    expect(rocAuc([1, 2, 3], [0, 0, 0])).toBeNaN();
  });

  it('equals the pairwise definition (ties count 1/2)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean()), { minLength: 2, maxLength: 60 }),
        (rows) => {
          const scores = rows.map(([s]) => s / 3);
          const labels = rows.map(([, l]) => l);
          fc.pre(labels.some((l) => l) && labels.some((l) => !l));
          expect(rocAuc(scores, labels)).toBeCloseTo(bruteForceAuc(scores, labels), 12);
        },
      ),
    );
  });

  it('rejects NaN scores and length mismatches', () => {
    expect(() => rocAuc([Number.NaN, 1], [0, 1])).toThrow(/NaN/);
    expect(() => rocAuc([1], [0, 1])).toThrow(/labels/);
  });
});
