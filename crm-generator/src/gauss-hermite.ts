// Gauss–Hermite nodes/weights for ∫ exp(-x²) f(x) dx. Hand-written (Numerical Recipes `gauher`, Newton on the
// normalised Hermite recurrence): a 25-line routine, no maintained JS package offers it without a large numeric stack.

export interface GaussHermiteRule {
  readonly nodes: Float64Array;
  readonly weights: Float64Array;
}

export function gaussHermite(n: number): GaussHermiteRule {
  if (!Number.isInteger(n) || n < 2 || n > 200) throw new Error(`unsupported Gauss–Hermite order ${n}`);
  const x = new Float64Array(n);
  const w = new Float64Array(n);
  const piM4 = 0.7511255444649425; // π^(-1/4)
  const m = Math.floor((n + 1) / 2);
  let z = 0;
  for (let i = 0; i < m; i++) {
    if (i === 0) z = Math.sqrt(2 * n + 1) - 1.85575 * Math.pow(2 * n + 1, -0.16667);
    else if (i === 1) z -= (1.14 * Math.pow(n, 0.426)) / z;
    else if (i === 2) z = 1.86 * z - 0.86 * (x[0] ?? 0);
    else if (i === 3) z = 1.91 * z - 0.91 * (x[1] ?? 0);
    else z = 2 * z - (x[i - 2] ?? 0);
    let pp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p1 = piM4;
      let p2 = 0;
      for (let j = 1; j <= n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = z * Math.sqrt(2 / j) * p2 - Math.sqrt((j - 1) / j) * p3;
      }
      pp = Math.sqrt(2 * n) * p2;
      const z1 = z;
      z = z1 - p1 / pp;
      if (Math.abs(z - z1) <= 1e-14 * Math.max(1, Math.abs(z))) break;
    }
    x[i] = z;
    x[n - 1 - i] = -z;
    w[i] = 2 / (pp * pp);
    w[n - 1 - i] = w[i] ?? 0;
  }
  return { nodes: x, weights: w };
}
