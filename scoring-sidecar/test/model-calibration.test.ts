import { describe, expect, it } from 'vitest';
import { applyCalibration, calibrationSchema } from '../src/model/index.js';

describe('applyCalibration', () => {
  it('isotonic: linear between breakpoints, clamped outside (numpy.interp)', () => {
    const cal = calibrationSchema.parse({ method: 'isotonic', x: [0.2, 0.6, 0.8], y: [0.1, 0.5, 0.9] });
    const p = applyCalibration(cal, [0, 0.2, 0.4, 0.6, 0.7, 0.8, 1, NaN]);
    const want = [0.1, 0.1, 0.3, 0.5, 0.7, 0.9, 0.9];
    want.forEach((w, i) => expect(p[i]).toBeCloseTo(w, 12));
    expect(p[7]).toBeNaN();
  });

  it('platt: a = 1, b = 0 is the identity; b shifts the log-odds', () => {
    const raw = [0.01, 0.25, 0.5, 0.9];
    const same = applyCalibration({ method: 'platt', a: 1, b: 0 }, raw);
    raw.forEach((r, i) => expect(same[i]).toBeCloseTo(r, 12));
    const shifted = applyCalibration({ method: 'platt', a: 1, b: Math.log(3) }, [0.5]);
    expect(shifted[0]).toBeCloseTo(0.75, 12); // odds 1 -> 3
  });

  it('none passes probabilities through', () => {
    expect(Array.from(applyCalibration({ method: 'none' }, [0.3, 0.7]))).toEqual([0.3, 0.7]);
  });

  it('rejects malformed isotonic tables', () => {
    expect(() => calibrationSchema.parse({ method: 'isotonic', x: [0.5, 0.4], y: [0.1, 0.2] })).toThrow();
    expect(() => calibrationSchema.parse({ method: 'isotonic', x: [0.1, 0.4], y: [0.1] })).toThrow();
    expect(() => calibrationSchema.parse({ method: 'beta' })).toThrow();
  });
});
