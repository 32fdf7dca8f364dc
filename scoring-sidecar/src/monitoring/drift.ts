// Feature and prediction drift against the training baseline (population stability index on the baseline's
// bins, plus the missing-value rate), per day and region; and calibration by score decile once labels arrive.
import {
  binCount,
  binOf,
  featureBaselinesFor,
  histogram,
  type Baseline,
  type FeatureBaseline,
} from './baseline.js';
import type { MonitoringConfig } from './config.js';

export type DriftStatus = 'ok' | 'warn' | 'alert' | 'too_few_rows';

export interface FeatureDrift {
  feature: string;
  psi: number;
  missingRate: number;
  baselineMissingRate: number;
  status: DriftStatus;
  /** Why the status is not ok. */
  reason: string | null;
}

export interface DriftSlice {
  day: string;
  region: string;
  rows: number;
  features: FeatureDrift[];
  prediction: FeatureDrift | null;
}

// Floor for empty bins: PSI's log ratio is infinite on an empty bin; 1e-4 is the usual convention.
const EPS = 1e-4;

/** PSI = Σ (a − e) · ln(a / e) over bins, with empty shares floored at 1e-4. */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[]): number {
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] ?? 0, EPS);
    const a = Math.max(actual[i] ?? 0, EPS);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

export function featureDrift(
  baseline: FeatureBaseline,
  values: readonly (number | null)[],
  cfg: MonitoringConfig['drift'],
): FeatureDrift {
  return driftOfHistogram(baseline, histogram(baseline.bins, values), cfg);
}

function driftOfHistogram(
  baseline: FeatureBaseline,
  h: { proportions: readonly number[]; missingRate: number; n: number },
  cfg: MonitoringConfig['drift'],
): FeatureDrift {
  const psi = populationStabilityIndex(baseline.proportions, h.proportions);
  const missingRise = h.missingRate - baseline.missingRate;
  let status: DriftStatus = 'ok';
  let reason: string | null = null;
  if (h.n < cfg.minRows) {
    status = 'too_few_rows';
    reason = `${h.n} rows < ${cfg.minRows}`;
  } else if (missingRise > cfg.missingRateIncreaseAlert) {
    status = 'alert';
    reason = `missing ${(100 * h.missingRate).toFixed(1)} % vs ${(100 * baseline.missingRate).toFixed(1)} % in training`;
  } else if (psi >= cfg.psiAlert) {
    status = 'alert';
    reason = `PSI ${psi.toFixed(3)} ≥ ${cfg.psiAlert}`;
  } else if (psi >= cfg.psiWarn) {
    status = 'warn';
    reason = `PSI ${psi.toFixed(3)} ≥ ${cfg.psiWarn}`;
  }
  return {
    feature: baseline.name,
    psi,
    missingRate: h.missingRate,
    baselineMissingRate: baseline.missingRate,
    status,
    reason,
  };
}

/**
 * Per-feature bin counts of a day × region slice: what the batch cycle's partitions accumulate (small, JSON,
 * mergeable across workers) instead of shipping feature vectors to the coordinator.
 */
export interface DriftCounts {
  specHash: string;
  rows: number;
  /** Per baseline feature: counts per bin, then the missing count last. */
  features: number[][];
  /**
   * The model's probabilities on the baseline's score bins (missing = rules-scored rows), when the baseline has
   * the training scores; absent in counts written before prediction drift was counted.
   */
  score?: number[] | null;
}

export function emptyDriftCounts(baseline: Baseline): DriftCounts {
  return {
    specHash: baseline.specHash,
    rows: 0,
    features: baseline.features.map((f) => new Array<number>(binCount(f.bins) + 1).fill(0)),
    score: baseline.score ? new Array<number>(binCount(baseline.score.bins) + 1).fill(0) : null,
  };
}

/** Adds one encoded vector (baseline spec order) and, when given, the probability the model gave it. */
export function addToDriftCounts(
  counts: DriftCounts,
  baseline: Baseline,
  vector: readonly (number | null)[],
  probability: number | null = null,
) {
  counts.rows += 1;
  if (counts.score && baseline.score) {
    const c = counts.score;
    if (probability === null || Number.isNaN(probability)) c[c.length - 1]! += 1;
    else c[binOf(baseline.score.bins, probability)]! += 1;
  }
  baseline.features.forEach((f, i) => {
    const c = counts.features[i]!;
    const v = vector[i] ?? null;
    if (v === null || Number.isNaN(v)) c[c.length - 1]! += 1;
    else c[binOf(f.bins, v)]! += 1;
  });
}

export function mergeDriftCounts(into: DriftCounts, other: DriftCounts): DriftCounts {
  if (into.specHash !== other.specHash) throw new Error('drift counts of different feature specs');
  into.rows += other.rows;
  other.features.forEach((c, i) => c.forEach((n, b) => (into.features[i]![b]! += n)));
  if (into.score && other.score) other.score.forEach((n, b) => (into.score![b]! += n));
  else into.score = null; // a partition without score counts: no prediction drift for the slice
  return into;
}

/** The slice's drift from its counts (the same statuses as driftBySlice). */
export function driftFromCounts(
  baseline: Baseline,
  counts: DriftCounts,
  day: string,
  region: string,
  cfg: MonitoringConfig['drift'],
): DriftSlice {
  return {
    day,
    region,
    rows: counts.rows,
    features: featureBaselinesFor(baseline, region).map((f, i) => {
      const c = counts.features[i]!;
      const missing = c[c.length - 1]!;
      const present = counts.rows - missing;
      return driftOfHistogram(
        f,
        {
          proportions: c.slice(0, -1).map((n) => (present > 0 ? n / present : 0)),
          missingRate: counts.rows > 0 ? missing / counts.rows : 0,
          n: counts.rows,
        },
        cfg,
      );
    }),
    prediction: baseline.score && counts.score ? driftOfCounts(baseline.score, counts.score, cfg) : null,
  };
}

/** Drift of one histogram of counts (bins, then missing last); its rows are the counted ones. */
function driftOfCounts(
  baseline: FeatureBaseline,
  c: readonly number[],
  cfg: MonitoringConfig['drift'],
): FeatureDrift {
  const missing = c[c.length - 1]!;
  const rows = c.reduce((a, b) => a + b, 0);
  const present = rows - missing;
  return driftOfHistogram(
    baseline,
    {
      proportions: c.slice(0, -1).map((n) => (present > 0 ? n / present : 0)),
      missingRate: rows > 0 ? missing / rows : 0,
      // Rules-scored rows carry no probability: the score's drift counts the model-scored rows only.
      n: present,
    },
    cfg,
  );
}

/** One scored row as monitoring sees it: encoded feature vector (spec order), score, when and where. */
export interface ScoredRow {
  day: string;
  region: string;
  vector: readonly (number | null)[];
  /** Calibrated probability; null when the row was scored by rules. */
  score: number | null;
}

/** Drift of every feature and of the score, for each day × region slice of the rows. */
export function driftBySlice(
  baseline: Baseline,
  rows: readonly ScoredRow[],
  cfg: MonitoringConfig['drift'],
): DriftSlice[] {
  const slices = new Map<string, ScoredRow[]>();
  for (const r of rows) {
    const key = `${r.day}\u0000${r.region}`;
    const slice = slices.get(key);
    if (slice) slice.push(r);
    else slices.set(key, [r]);
  }
  return [...slices.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, slice]) => {
      const [day, region] = key.split('\u0000') as [string, string];
      const scores = slice.map((r) => r.score).filter((s): s is number => s !== null);
      return {
        day,
        region,
        rows: slice.length,
        features: featureBaselinesFor(baseline, region).map((f, i) =>
          featureDrift(
            f,
            slice.map((r) => r.vector[i] ?? null),
            cfg,
          ),
        ),
        prediction: baseline.score && scores.length > 0 ? featureDrift(baseline.score, scores, cfg) : null,
      };
    });
}

export interface CalibrationBin {
  decile: number;
  rows: number;
  meanPredicted: number;
  observedRate: number;
}

/** Conversion by score decile (equal-mass bins by predicted probability) vs the mean prediction; ECE. */
export function calibrationByDecile(pairs: readonly { p: number; converted: boolean }[]): {
  bins: CalibrationBin[];
  ece: number;
  rows: number;
} {
  const sorted = [...pairs].sort((a, b) => a.p - b.p);
  const bins: CalibrationBin[] = [];
  let ece = 0;
  for (let d = 0; d < 10; d++) {
    const part = sorted.slice(
      Math.floor((d * sorted.length) / 10),
      Math.floor(((d + 1) * sorted.length) / 10),
    );
    if (part.length === 0) continue;
    const meanPredicted = part.reduce((s, x) => s + x.p, 0) / part.length;
    const observedRate = part.filter((x) => x.converted).length / part.length;
    bins.push({ decile: d + 1, rows: part.length, meanPredicted, observedRate });
    ece += (part.length / sorted.length) * Math.abs(observedRate - meanPredicted);
  }
  return { bins, ece, rows: sorted.length };
}
