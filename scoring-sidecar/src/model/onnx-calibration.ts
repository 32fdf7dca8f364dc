// Applies calibration.json exactly as training/leadrank_training/calibration.py does (same formulas, float64).
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export const calibrationSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('platt'), a: z.number(), b: z.number() }),
  z
    .object({ method: z.literal('isotonic'), x: z.array(z.number()).min(1), y: z.array(z.number()).min(1) })
    .refine((c) => c.x.length === c.y.length, { message: 'x and y must have the same length' })
    .refine((c) => c.x.every((v, i) => i === 0 || v > (c.x[i - 1] ?? -Infinity)), {
      message: 'x must be strictly increasing',
    }),
  z.object({ method: z.literal('none') }),
]);
export type Calibration = z.infer<typeof calibrationSchema>;

const EPS = 1e-12;

function logit(p: number): number {
  const q = Math.min(Math.max(p, EPS), 1 - EPS);
  return Math.log(q) - Math.log1p(-q);
}

/** numpy.interp: linear between breakpoints, clamped to the end values outside them. */
function interpolate(xs: readonly number[], ys: readonly number[], v: number): number {
  const n = xs.length;
  if (Number.isNaN(v)) return NaN;
  if (v <= (xs[0] as number)) return ys[0] as number;
  if (v >= (xs[n - 1] as number)) return ys[n - 1] as number;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= v) lo = mid;
    else hi = mid;
  }
  const x0 = xs[lo] as number;
  const y0 = ys[lo] as number;
  const slope = ((ys[hi] as number) - y0) / ((xs[hi] as number) - x0);
  return slope * (v - x0) + y0;
}

/** Calibrated probabilities from uncalibrated ones. */
export function applyCalibration(calibration: Calibration, pRaw: ArrayLike<number>): Float64Array {
  const out = new Float64Array(pRaw.length);
  for (let i = 0; i < pRaw.length; i++) {
    const p = pRaw[i] as number;
    switch (calibration.method) {
      case 'platt':
        out[i] = 1 / (1 + Math.exp(-(calibration.a * logit(p) + calibration.b)));
        break;
      case 'isotonic':
        out[i] = interpolate(calibration.x, calibration.y, p);
        break;
      case 'none':
        out[i] = p;
        break;
    }
  }
  return out;
}

export async function readCalibration(path: string): Promise<Calibration> {
  return calibrationSchema.parse(JSON.parse(await readFile(path, 'utf8')));
}
