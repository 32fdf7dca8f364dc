import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../src/catalog.js';
import { DAY_MS } from '../src/format.js';
import { gaussHermite } from '../src/gauss-hermite.js';
import {
  DEFAULT_GROUND_TRUTH_PARAMS as P,
  HazardSchedule,
  bayesConversionProbability,
  bayesProbabilityFromCounts,
  computeEta,
  eventExposure,
  type LeadDrivers,
} from '../src/ground-truth.js';

const drivers: LeadDrivers = {
  leadSource: 'Web',
  industry: 'Technology',
  employees: 400,
  seniority: 'Director',
  country: 'Germany',
  erp: { isCustomer: true, productsHeld: 2, paymentStatus: 'late' },
  intentScore: 70,
  campaign: 'Monthly Newsletter',
  campaignCount: 2,
};
const createdMs = Date.parse('2026-03-10T14:00:00Z');

/** Reference: brute-force u grid and 1/20-day sub-day steps, written independently of the closed forms. */
function referenceProbability(
  eta: number,
  mult: number,
  counts: number[],
  ageDays: number,
  horizon: number,
): number {
  const s = new HazardSchedule(createdMs, eta, P);
  const sigma = P.latentSigma;
  const gamma = P.conversion.latentCoefficient;
  let num = 0;
  let den = 0;
  for (let u = -8 * sigma; u <= 8 * sigma; u += 0.004) {
    let logLik = -(u * u) / (2 * sigma * sigma);
    EVENT_TYPES.forEach((t, k) => {
      const { ratePerDay, latentLoading: d } = P.events.types[t];
      const lambda =
        ratePerDay * Math.exp(mult + d * u - (d * d * sigma * sigma) / 2) * eventExposure(ageDays, P);
      logLik += (counts[k] ?? 0) * Math.log(lambda) - lambda;
    });
    logLik -= Math.exp(gamma * u) * s.cumulativeConversion(ageDays);
    const w = Math.exp(logLik);
    let surv = 1;
    let p = 0;
    const dt = 1 / 20;
    for (let a = ageDays; a < Math.min(ageDays + horizon, P.conversion.maxOpenDays) - 1e-9; a += dt) {
      const j = Math.floor(a + 1e-9);
      const h = (s.conv[j] ?? 0) * Math.exp(gamma * u);
      const q = s.close[j] ?? 0;
      const stay = Math.exp(-(h + q) * dt);
      p += surv * (h / (h + q)) * (1 - stay);
      surv *= stay;
    }
    num += w * p;
    den += w;
  }
  return num / den;
}

describe('Gauss–Hermite rule', () => {
  it('integrates polynomials against exp(-x²) exactly', () => {
    const { nodes, weights } = gaussHermite(32);
    const moment = (k: number): number => nodes.reduce((acc, x, i) => acc + (weights[i] ?? 0) * x ** k, 0);
    expect(moment(0)).toBeCloseTo(Math.sqrt(Math.PI), 10);
    expect(moment(2)).toBeCloseTo(Math.sqrt(Math.PI) / 2, 10);
    expect(moment(4)).toBeCloseTo((3 * Math.sqrt(Math.PI)) / 4, 9);
    expect(moment(3)).toBeCloseTo(0, 10);
  });
});

describe('Bayes-optimal probability', () => {
  const eta = computeEta(drivers);
  const mult = 0.3;
  const cases: [string, number[], number][] = [
    ['no events, day 1', [0, 0, 0, 0, 0, 0, 0, 0], 1],
    ['some events, day 8', [3, 1, 2, 1, 0, 1, 0, 0], 8],
    ['many high-intent events, day 22', [20, 6, 9, 5, 2, 3, 1, 1], 22],
    ['silent old lead, day 120', [0, 0, 0, 0, 0, 0, 0, 0], 120],
    ['window truncated by auto-close, day 165', [4, 1, 1, 0, 0, 0, 0, 0], 165],
  ];
  it.each(cases)('matches a brute-force reference: %s', (_name, counts, age) => {
    const s = new HazardSchedule(createdMs, eta, P);
    const fast = bayesProbabilityFromCounts(s, mult, counts, age, 30);
    const ref = referenceProbability(eta, mult, counts, age, 30);
    expect(fast).toBeGreaterThan(0);
    expect(Math.abs(fast - ref) / ref).toBeLessThan(1e-4);
  });

  it('rises with high-loading engagement and is 0 past the auto-close age', () => {
    const s = new HazardSchedule(createdMs, eta, P);
    const base = bayesProbabilityFromCounts(s, mult, [2, 0, 1, 0, 0, 0, 0, 0], 10, 30);
    const engaged = bayesProbabilityFromCounts(s, mult, [2, 3, 1, 1, 1, 0, 0, 1], 10, 30);
    expect(engaged).toBeGreaterThan(base * 1.5);
    expect(bayesProbabilityFromCounts(s, mult, [0, 0, 0, 0, 0, 0, 0, 0], P.conversion.maxOpenDays, 30)).toBe(
      0,
    );
  });

  it('uses only events up to t', () => {
    const truth = { createdAt: new Date(createdMs).toISOString(), eta, eventLogMultiplier: mult };
    const t = createdMs + 8 * DAY_MS;
    const before = [
      { type: 'pricing_page_visit', occurredAt: new Date(createdMs + 2 * DAY_MS).toISOString() },
    ];
    const after = [{ type: 'trial_signup', occurredAt: new Date(t + 1000).toISOString() }];
    const p1 = bayesConversionProbability(truth, before, t, 30);
    expect(bayesConversionProbability(truth, [...before, ...after], t, 30)).toBe(p1);
    expect(bayesConversionProbability(truth, [], t, 30)).toBeLessThan(p1);
  });
});
