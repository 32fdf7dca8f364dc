import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** Independent random streams per (seed, purpose, index), so any record can be regenerated alone. */
export const Stream = {
  rep: 1,
  account: 2,
  accountErp: 3,
  lead: 4,
  leadLatent: 5,
  leadOutcome: 6,
  leadEvents: 7,
  leadTasks: 8,
  leadMarketing: 9,
  leadPii: 10,
  opportunity: 11,
  xEducation: 12,
  arrival: 13,
  leadEventProps: 14,
  leadCustom: 15,
} as const;

// murmur3 fmix32: spreads (seed, stream, index) over the 128-bit generator state.
function fmix32(h0: number): number {
  let h = h0 >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = fmix32(h ^ lo) + 0x7f4a7c15;
    h = fmix32(h ^ hi);
  }
  return h >>> 0;
}

/** Uniform [0,1) from a hash: cheap deterministic coin per entity without a generator. */
export function hashUnit(...parts: number[]): number {
  return hash32(...parts) / 4294967296;
}

export class Rng {
  readonly gen: RandomGenerator;
  private spareNormal: number | undefined;

  constructor(seed: number, stream: number, index: number) {
    const a = hash32(seed, stream, index, 1);
    const b = hash32(seed, stream, index, 2);
    const c = hash32(seed, stream, index, 3);
    const d = hash32(seed, stream, index, 4) | 1; // never the all-zero state
    this.gen = xoroshiro128plusFromState([a | 0, b | 0, c | 0, d | 0]);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform in (0, 1]: safe for log. */
  nextOpen(): number {
    return 1 - uniformFloat64(this.gen);
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  bool(p: number): boolean {
    return this.next() < p;
  }

  exp(): number {
    return -Math.log(this.nextOpen());
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.nextOpen()));
    const theta = 2 * Math.PI * this.next();
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from empty list');
    return item;
  }

  /** Index drawn with probability proportional to weights. */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i] ?? 0;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** Small-mean Poisson by inversion (means here stay below ~20). */
  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}
