// Stands in for Salesforce's bad days: injected latency, 5xx answers and limit exhaustion, seeded.
export interface FaultConfig {
  /** added to every API response */
  latencyMs: number;
  /** share of API requests answered 503/500 before doing anything */
  errorRate5xx: number;
  /** per row, read by the bulk ingest layer and sObject Collections updates */
  lockErrorRate: number;
  /** DailyApiRequests allocation */
  dailyApiRequests: number;
  seed: number;
}

export const DEFAULT_FAULTS: FaultConfig = {
  latencyMs: 0,
  errorRate5xx: 0,
  lockErrorRate: 0,
  dailyApiRequests: 100_000,
  seed: 42,
};

function validate(config: FaultConfig): FaultConfig {
  const rate = (n: number, name: string) => {
    if (!(Number.isFinite(n) && n >= 0 && n <= 1)) throw new RangeError(`${name} must be between 0 and 1`);
  };
  rate(config.errorRate5xx, 'errorRate5xx');
  rate(config.lockErrorRate, 'lockErrorRate');
  if (!(Number.isInteger(config.latencyMs) && config.latencyMs >= 0))
    throw new RangeError('latencyMs must be an integer >= 0');
  if (!(Number.isInteger(config.dailyApiRequests) && config.dailyApiRequests >= 0)) {
    throw new RangeError('dailyApiRequests must be an integer >= 0');
  }
  if (!Number.isInteger(config.seed)) throw new RangeError('seed must be an integer');
  return config;
}

/** mulberry32: hand-written because a 6-line seeded generator does not justify a dependency here. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fault knobs plus a seeded generator, so a given seed and request sequence always fail the same way. */
export class FaultInjector {
  private current: FaultConfig;
  private rng: () => number;

  constructor(initial: Partial<FaultConfig> = {}) {
    this.current = validate({ ...DEFAULT_FAULTS, ...initial });
    this.rng = mulberry32(this.current.seed);
  }

  config(): FaultConfig {
    return { ...this.current };
  }

  /** Applies a patch; a new seed restarts the random sequence. Throws RangeError on bad values. */
  set(patch: Partial<FaultConfig>): FaultConfig {
    const next = validate({ ...this.current, ...patch });
    if (patch.seed !== undefined) this.rng = mulberry32(next.seed);
    this.current = next;
    return this.config();
  }

  /** Uniform in [0, 1), deterministic for the seed. */
  random(): number {
    return this.rng();
  }
}
