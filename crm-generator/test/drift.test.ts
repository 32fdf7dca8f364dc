import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../src/format.js';
import {
  DEFAULT_GROUND_TRUTH_PARAMS,
  HazardSchedule,
  bayesConversionProbability,
  seasonFactor,
} from '../src/ground-truth.js';

const FROM = '2025-01-01T00:00:00.000Z';
const drifting = { ...DEFAULT_GROUND_TRUTH_PARAMS, drift: { conversionLogPerYear: 1.2, fromIso: FROM } };

describe('base-rate drift knob', () => {
  it('scales the conversion hazard by exp(rate × years since the start), and not before it', () => {
    const before = Date.parse(FROM) - 10 * DAY_MS;
    expect(seasonFactor(before, drifting)).toBe(seasonFactor(before, DEFAULT_GROUND_TRUTH_PARAMS));
    // 2026-01-07 is a Wednesday outside quarter ends and late December: season factor 1 without drift.
    const later = Date.parse('2026-01-07T12:00:00.000Z');
    const years = (later - Date.parse(FROM)) / (365.25 * DAY_MS);
    expect(seasonFactor(later, DEFAULT_GROUND_TRUTH_PARAMS)).toBe(1);
    expect(seasonFactor(later, drifting)).toBeCloseTo(Math.exp(1.2 * years), 12);
  });

  it('moves the Bayes-optimal conversion probability of the same lead with its creation date', () => {
    const truth = (createdAt: string) => ({ createdAt, eta: 0, eventLogMultiplier: 0 });
    const early = '2025-02-03T10:00:00.000Z';
    const late = '2026-02-02T10:00:00.000Z';
    const at = (iso: string) => Date.parse(iso) + 3 * DAY_MS;
    const pEarly = bayesConversionProbability(truth(early), [], at(early), 30, drifting);
    const pLate = bayesConversionProbability(truth(late), [], at(late), 30, drifting);
    const flatEarly = bayesConversionProbability(
      truth(early),
      [],
      at(early),
      30,
      DEFAULT_GROUND_TRUTH_PARAMS,
    );
    const flatLate = bayesConversionProbability(truth(late), [], at(late), 30, DEFAULT_GROUND_TRUTH_PARAMS);
    expect(pLate / pEarly).toBeGreaterThan(2.5); // about exp(1.2) = 3.3 for a rare event
    expect(flatLate / flatEarly).toBeCloseTo(1, 1);
    const schedule = new HazardSchedule(Date.parse(late), 0, drifting);
    expect(schedule.cumulativeConversion(30)).toBeGreaterThan(
      new HazardSchedule(Date.parse(early), 0, drifting).cumulativeConversion(30) * 2.5,
    );
  });
});
