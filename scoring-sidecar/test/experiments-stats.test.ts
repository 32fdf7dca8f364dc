// The estimators on simulated experiments whose true effect is known (simulate.ts): interval coverage, the
// A/A false-positive rate, CUPED's variance reduction, the SRM check and the planning formulas.
import { describe, expect, it } from 'vitest';
import { armForBucket, bucketOf } from '../src/experiments/assignment.js';
import { DEFAULT_SIMULATION, simulateCells } from '../src/experiments/simulate.js';
import {
  estimateDifference,
  estimateIcc,
  minimumDetectableEffect,
  repsNeeded,
  sampleRatioMismatch,
} from '../src/experiments/stats.js';

// 1,000 seeds keep the Monte Carlo error of a 5 % rate near 0.7 pts (200 would leave 1.5 pts) in about 2 s.
const SEEDS = 1000;

function runSeeds(effect: number, cuped: boolean) {
  let covered = 0;
  let rejected = 0;
  const diffs: number[] = [];
  const reductions: number[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const e = estimateDifference(simulateCells({ ...DEFAULT_SIMULATION, seed, effect }), { cuped });
    if (e.ci[0] <= effect && effect <= e.ci[1]) covered += 1;
    if (e.ci[0] > 0 || e.ci[1] < 0) rejected += 1;
    diffs.push(e.diff);
    if (e.cuped) reductions.push(e.cuped.varianceReduction);
  }
  return { coverage: covered / SEEDS, rejectRate: rejected / SEEDS, diffs, reductions };
}

const sd = (xs: number[]) => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};

describe('rep-clustered estimate on simulated experiments (true effect +3 pts)', () => {
  const raw = runSeeds(DEFAULT_SIMULATION.effect, false);
  const cuped = runSeeds(DEFAULT_SIMULATION.effect, true);

  it('the 95 % interval covers the true effect at about the nominal rate', () => {
    console.log(`coverage over ${SEEDS} seeds: raw ${raw.coverage}, CUPED ${cuped.coverage}`);
    expect(raw.coverage).toBeGreaterThanOrEqual(0.91);
    expect(raw.coverage).toBeLessThanOrEqual(0.98);
    expect(cuped.coverage).toBeGreaterThanOrEqual(0.91);
    expect(cuped.coverage).toBeLessThanOrEqual(0.98);
  });

  it('CUPED with the pre-period rate reduces the variance of the estimate', () => {
    const meanReduction = cuped.reductions.reduce((s, r) => s + r, 0) / cuped.reductions.length;
    console.log(
      `CUPED: sd ${sd(cuped.diffs).toFixed(4)} vs raw ${sd(raw.diffs).toFixed(4)}; reported reduction ${meanReduction.toFixed(2)}`,
    );
    expect(sd(cuped.diffs)).toBeLessThan(0.8 * sd(raw.diffs));
    expect(meanReduction).toBeGreaterThan(0.3);
    // More power at the same size: the effect is found more often.
    expect(cuped.rejectRate).toBeGreaterThan(raw.rejectRate);
  });

  it('ignoring the clustering (one lead = one unit) would undercover', () => {
    let covered = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      // Every lead its own cluster: the naive binomial interval.
      const cells = simulateCells({ ...DEFAULT_SIMULATION, seed }).flatMap((c) =>
        Array.from({ length: c.n }, (_, i) => ({
          cluster: `${c.cluster}/${i}`,
          arm: c.arm,
          n: 1,
          y: i < c.y ? 1 : 0,
        })),
      );
      const e = estimateDifference(cells);
      if (e.ci[0] <= DEFAULT_SIMULATION.effect && DEFAULT_SIMULATION.effect <= e.ci[1]) covered += 1;
    }
    expect(covered / SEEDS).toBeLessThan(0.88);
  });
});

describe('A/A test (no true effect)', () => {
  it('flags an effect at about the nominal 5 % rate, with and without CUPED', () => {
    const raw = runSeeds(0, false);
    const cuped = runSeeds(0, true);
    console.log(
      `A/A false-positive rate over ${SEEDS} seeds: raw ${raw.rejectRate}, CUPED ${cuped.rejectRate}`,
    );
    expect(raw.rejectRate).toBeGreaterThanOrEqual(0.02);
    expect(raw.rejectRate).toBeLessThanOrEqual(0.09);
    expect(cuped.rejectRate).toBeGreaterThanOrEqual(0.02);
    expect(cuped.rejectRate).toBeLessThanOrEqual(0.09);
  });
});

describe('rep-level bootstrap', () => {
  it('gives an interval close to the cluster-robust one', () => {
    const cells = simulateCells({ ...DEFAULT_SIMULATION, seed: 11 });
    const cr = estimateDifference(cells);
    const boot = estimateDifference(cells, { method: 'bootstrap', bootstrapRounds: 2000, seed: 3 });
    expect(boot.method).toBe('bootstrap');
    expect(boot.diff).toBeCloseTo(cr.diff, 10);
    const width = (e: typeof cr) => e.ci[1] - e.ci[0];
    expect(width(boot) / width(cr)).toBeGreaterThan(0.8);
    expect(width(boot) / width(cr)).toBeLessThan(1.2);
  });
});

describe('sample ratio mismatch', () => {
  it('detects a skewed split and accepts the hash assignment', () => {
    expect(sampleRatioMismatch([600, 400], [500, 500]).mismatch).toBe(true);
    expect(sampleRatioMismatch([515, 485], [500, 500]).mismatch).toBe(false);
    const counts = [0, 0];
    for (let i = 0; i < 10_000; i++)
      counts[armForBucket(bucketOf('srm-salt', `rep-${i}`), 0.3) === 'treatment' ? 1 : 0]! += 1;
    const srm = sampleRatioMismatch(counts, [0.7, 0.3]);
    expect(srm.pValue).toBeGreaterThan(0.001);
    expect(srm.mismatch).toBe(false);
  });
});

describe('planning', () => {
  it('reps needed and the detectable effect invert each other', () => {
    const p = { baseRate: 0.15, icc: 0.03, leadsPerRep: 40 };
    const reps = repsNeeded({ ...p, mde: 0.02 });
    expect(minimumDetectableEffect({ ...p, reps })).toBeLessThanOrEqual(0.02);
    expect(minimumDetectableEffect({ ...p, reps: reps - 2 })).toBeGreaterThan(0.02);
    // Clustering costs reps; CUPED gives some back.
    expect(repsNeeded({ ...p, icc: 0.1, mde: 0.02 })).toBeGreaterThan(reps);
    expect(repsNeeded({ ...p, mde: 0.02, varianceReduction: 0.5 })).toBeLessThan(reps);
  });

  it('estimates the intra-rep correlation of the simulated reps', () => {
    const cells = simulateCells({ ...DEFAULT_SIMULATION, reps: 400, effect: 0, seed: 5 });
    const noSpread = simulateCells({ ...DEFAULT_SIMULATION, reps: 400, effect: 0, seed: 5, repSpread: 0 });
    expect(estimateIcc(cells)).toBeGreaterThan(0.01);
    expect(estimateIcc(noSpread)).toBeLessThan(estimateIcc(cells));
  });
});
