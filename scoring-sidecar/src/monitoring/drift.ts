// Feature and prediction drift against the training baseline (population stability index on the baseline's
// bins, plus the missing-value rate), per day and region; and calibration by score decile once labels arrive.
import { histogram, type Baseline, type FeatureBaseline } from './baseline.js';
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
  const h = histogram(baseline.bins, values);
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
        features: baseline.features.map((f, i) =>
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
