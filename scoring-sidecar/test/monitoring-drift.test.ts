// Drift against a training baseline: a shifted synthetic population (a lead-source mix change) makes the
// lead-source feature, and the one derived from it, alert; the independent features stay quiet.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { seededUniform } from '../src/experiments/stats.js';
import { makeFeatureSpec, writeTrainingSet, type TrainingRow } from '../src/features/training-set-file.js';
import { baselineFromTrainingSet, computeBaseline } from '../src/monitoring/baseline.js';
import { loadMonitoringConfig } from '../src/monitoring/config.js';
import {
  calibrationByDecile,
  driftBySlice,
  populationStabilityIndex,
  type ScoredRow,
} from '../src/monitoring/drift.js';

const config = loadMonitoringConfig(fileURLToPath(new URL('../../config/monitoring.json', import.meta.url)));
const SOURCES = ['Web', 'Paid Search', 'Trade Show', 'Partner Referral', 'Purchased List'];
// Lead origin follows from the source (a web source arrives by web form, a list by import…).
const ORIGIN_OF_SOURCE = [0, 0, 1, 2, 3];
const spec = makeFeatureSpec('drift-test', [
  { name: 'lead_source', kind: 'categorical', categories: SOURCES, description: 'lead source' },
  {
    name: 'lead_origin',
    kind: 'categorical',
    categories: ['Web Form', 'Event Scan', 'Partner Portal', 'List Import'],
    description: 'origin',
  },
  {
    name: 'industry',
    kind: 'categorical',
    categories: ['Tech', 'Finance', 'Retail', 'Health'],
    description: 'industry',
  },
  { name: 'employees', kind: 'numeric', description: 'employees' },
  { name: 'web_visit_7d', kind: 'numeric', description: 'visits' },
  { name: 'email_is_free_mail', kind: 'boolean', description: 'free mail' },
  { name: 'intent_score', kind: 'numeric', description: 'intent' },
]);
const INDEPENDENT = ['industry', 'employees', 'web_visit_7d', 'email_is_free_mail', 'intent_score'];

function population(n: number, seed: number, sourceMix: number[], intentMissing = 0.05) {
  const next = seededUniform(seed);
  const cumulative = sourceMix.map((_, i) => sourceMix.slice(0, i + 1).reduce((s, x) => s + x, 0));
  return Array.from({ length: n }, () => {
    const u = next();
    const source = cumulative.findIndex((c) => u < c);
    return [
      source,
      ORIGIN_OF_SOURCE[source]!,
      Math.floor(next() * 4),
      Math.round(Math.exp(3 + 2 * next())),
      next() < 0.4 ? 0 : Math.floor(-Math.log(1 - next()) * 3),
      next() < 0.3 ? 1 : 0,
      next() < intentMissing ? null : Math.round(100 * next()),
    ] as (number | null)[];
  });
}

const TRAIN_MIX = [0.35, 0.25, 0.15, 0.15, 0.1];
const columnsOf = (rows: (number | null)[][]) => spec.features.map((_, i) => rows.map((r) => r[i] ?? null));
const baseline = computeBaseline(spec, columnsOf(population(20_000, 1, TRAIN_MIX)));
const asRows = (vectors: (number | null)[][], region: string, day = '2025-03-01'): ScoredRow[] =>
  vectors.map((vector) => ({ day, region, vector, score: null }));

describe('feature drift', () => {
  it('a lead-source mix change alerts on lead_source and lead_origin only', () => {
    const shifted = population(3_000, 2, [0.1, 0.15, 0.1, 0.15, 0.5]);
    const [slice] = driftBySlice(baseline, asRows(shifted, 'US'), config.drift);
    const status = Object.fromEntries(slice!.features.map((f) => [f.feature, f.status]));
    console.log(slice!.features.map((f) => `${f.feature}: PSI ${f.psi.toFixed(3)} ${f.status}`).join('\n'));
    expect(status.lead_source).toBe('alert');
    expect(status.lead_origin).toBe('alert');
    for (const f of INDEPENDENT) expect(status[f], f).toBe('ok');
  });

  it('the same population drawn again does not alert', () => {
    const [slice] = driftBySlice(baseline, asRows(population(3_000, 3, TRAIN_MIX), 'US'), config.drift);
    expect(slice!.features.filter((f) => f.status !== 'ok')).toEqual([]);
  });

  it('judges each region and day apart, and a rise in missing values alerts', () => {
    const rows = [
      ...asRows(population(2_000, 4, TRAIN_MIX), 'US'),
      ...asRows(population(2_000, 5, TRAIN_MIX, 0.4), 'EU'),
      ...asRows(population(100, 6, [0, 0, 0, 0, 1]), 'EU', '2025-03-02'),
    ];
    const slices = driftBySlice(baseline, rows, config.drift);
    const find = (day: string, region: string) => slices.find((s) => s.day === day && s.region === region)!;
    expect(find('2025-03-01', 'US').features.every((f) => f.status === 'ok')).toBe(true);
    const eu = find('2025-03-01', 'EU').features.find((f) => f.feature === 'intent_score')!;
    expect(eu.status).toBe('alert');
    expect(eu.reason).toMatch(/missing/);
    expect(find('2025-03-02', 'EU').features.every((f) => f.status === 'too_few_rows')).toBe(true);
  });

  it('PSI is zero for identical distributions and grows with the shift', () => {
    expect(populationStabilityIndex([0.5, 0.5], [0.5, 0.5])).toBe(0);
    const small = populationStabilityIndex([0.5, 0.5], [0.45, 0.55]);
    expect(small).toBeGreaterThan(0);
    expect(populationStabilityIndex([0.5, 0.5], [0.2, 0.8])).toBeGreaterThan(small);
  });
});

describe('per-region baselines', () => {
  // A training set of two regions whose lead-source mixes differ; each deployment scores one region only.
  const US_MIX = [0.6, 0.3, 0.05, 0.03, 0.02];
  const EU_MIX = [0.05, 0.1, 0.3, 0.3, 0.25];
  const train = [...population(10_000, 21, US_MIX), ...population(10_000, 22, EU_MIX)];
  const regionOfRow = train.map((_, i) => (i < 10_000 ? 'US' : 'EU'));

  it('compare each region with its own training population, not the mixed one', () => {
    const mixed = computeBaseline(spec, columnsOf(train));
    const perRegion = computeBaseline(spec, columnsOf(train), null, regionOfRow);
    expect(Object.keys(perRegion.regions ?? {}).sort()).toEqual(['EU', 'US']);
    expect(perRegion.features).toEqual(mixed.features);

    const usToday = asRows(population(3_000, 23, US_MIX), 'US');
    const statusOf = (b: typeof mixed) =>
      Object.fromEntries(
        driftBySlice(b, usToday, config.drift)[0]!.features.map((f) => [f.feature, f.status]),
      );
    // Against the mixed population a US-only deployment always "drifts"; against its own it does not.
    expect(statusOf(mixed).lead_source).toBe('alert');
    expect(Object.values(statusOf(perRegion)).every((s) => s === 'ok')).toBe(true);

    // A real shift inside the region still alerts.
    const shiftedUs = asRows(population(3_000, 24, EU_MIX), 'US');
    const [slice] = driftBySlice(perRegion, shiftedUs, config.drift);
    expect(slice!.features.find((f) => f.feature === 'lead_source')!.status).toBe('alert');
  });

  it('falls back to the mixed baseline for a region with too few training rows', () => {
    const few = computeBaseline(
      spec,
      columnsOf(train),
      null,
      regionOfRow.map((r, i) => (r === 'EU' && i % 100 !== 0 ? null : r)),
    );
    expect(Object.keys(few.regions ?? {})).toEqual(['US']);
  });
});

describe('baseline from the training-set Parquet', () => {
  it('matches the baseline computed from the same values in memory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baseline-'));
    try {
      const vectors = population(3_000, 9, TRAIN_MIX);
      const rows: TrainingRow[] = vectors.map((values, i) => ({
        leadId: `00Q${i}`,
        snapshotAt: new Date(1_700_000_000_000 + i * 60_000),
        label: (i % 5 === 0 ? 1 : 0) as 0 | 1,
        segments: {},
        values,
      }));
      await writeTrainingSet(dir, spec, rows);
      const fromFile = await baselineFromTrainingSet(dir);
      const inMemory = computeBaseline(spec, columnsOf(vectors));
      expect(fromFile.specHash).toBe(spec.hash);
      expect(fromFile.rows).toBe(3_000);
      expect(fromFile.features).toEqual(inMemory.features);
      expect(fromFile.features.find((f) => f.name === 'intent_score')!.missingRate).toBeGreaterThan(0.02);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('calibration by decile', () => {
  it('is near zero ECE for calibrated scores and large for overconfident ones', () => {
    const next = seededUniform(12);
    const calibrated = Array.from({ length: 20_000 }, () => {
      const p = next();
      return { p, converted: next() < p };
    });
    const good = calibrationByDecile(calibrated);
    expect(good.bins).toHaveLength(10);
    expect(good.ece).toBeLessThan(0.02);
    const overconfident = calibrated.map((x) => ({
      ...x,
      p: x.p > 0.5 ? Math.min(1, x.p + 0.2) : Math.max(0, x.p - 0.2),
    }));
    expect(calibrationByDecile(overconfident).ece).toBeGreaterThan(0.1);
  });
});
