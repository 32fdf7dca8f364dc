// The monitor: one object the other modules report to. It turns what they report into metrics (for the
// alert rules) and history (for the dashboard). Each method is a hook another module calls; see the report
// in docs/runbook.md for who calls which.
import type { ExperimentReport } from '../experiments/analysis.js';
import type { Baseline } from './baseline.js';
import type { MonitoringConfig } from './config.js';
import { checkEventStream, checkExtract, type ExtractCheck, type ExtractDelivery } from './data-quality.js';
import { calibrationByDecile, driftBySlice, type DriftSlice, type ScoredRow } from './drift.js';
import type { BatchCycleRecord, MonitoringHistory } from './history.js';
import type { MonitoringMetrics } from './metrics.js';

export interface MonitorDeps {
  metrics: MonitoringMetrics;
  history: MonitoringHistory;
  config: MonitoringConfig;
  /** Null until a model with baseline-stats.json is served: drift is then not measured. */
  baseline: Baseline | null;
}

export class Monitor {
  constructor(private readonly deps: MonitorDeps) {}

  /** Hook (scoring service / batch): scores of one day with their band and source, counted for the dashboard. */
  recordScores(day: string, region: string, scores: readonly { band: string; source: string }[]): void {
    const bands: Record<string, number> = {};
    const sources: Record<string, number> = {};
    for (const s of scores) {
      bands[s.band] = (bands[s.band] ?? 0) + 1;
      sources[s.source] = (sources[s.source] ?? 0) + 1;
    }
    this.deps.history.addScores(day, region, bands, sources);
  }

  /**
   * Hook (daily job over the audit log's feature vectors): drift per feature and of the score, per day and
   * region. Gauges show the latest day of each region.
   */
  recordDrift(rows: readonly ScoredRow[]): DriftSlice[] {
    if (!this.deps.baseline) return [];
    const slices = driftBySlice(this.deps.baseline, rows, this.deps.config.drift);
    this.deps.history.recordDrift(slices);
    const latest = new Map<string, DriftSlice>();
    for (const s of slices) if ((latest.get(s.region)?.day ?? '') <= s.day) latest.set(s.region, s);
    const m = this.deps.metrics;
    for (const [region, s] of latest) {
      let alerting = 0;
      for (const f of s.features) {
        if (f.status === 'too_few_rows') continue;
        m.featurePsi.set({ feature: f.feature, region }, f.psi);
        m.featureMissingIncrease.set({ feature: f.feature, region }, f.missingRate - f.baselineMissingRate);
        if (f.status === 'alert') alerting += 1;
      }
      m.featuresAlerting.set({ region }, alerting);
      if (s.prediction && s.prediction.status !== 'too_few_rows')
        m.predictionPsi.set({ region }, s.prediction.psi);
    }
    return slices;
  }

  /** Hook (daily job once 30-day labels exist): conversion by score decile vs predicted. */
  recordCalibration(day: string, region: string, pairs: readonly { p: number; converted: boolean }[]) {
    const result = calibrationByDecile(pairs);
    this.deps.history.recordCalibration(day, region, result.bins);
    if (result.rows >= this.deps.config.calibration.minLabelledRows)
      this.deps.metrics.calibrationEce.set({ region }, result.ece);
    return result;
  }

  /** Hook (extract ingest route): checks a delivery; failed checks set their gauge to 1 until a good delivery. */
  recordExtract(delivery: ExtractDelivery, recentRowCounts: readonly number[], now: Date): ExtractCheck {
    const expectation = this.deps.config.extracts[delivery.extract];
    if (!expectation) throw new Error(`no expectation configured for extract ${delivery.extract}`);
    const check = checkExtract(delivery, expectation, recentRowCounts, now);
    const m = this.deps.metrics;
    for (const code of ['missing', 'late', 'stale', 'half_empty', 'schema', 'range'] as const)
      m.extractCheckFailed.set(
        { extract: delivery.extract, check: code },
        check.issues.some((i) => i.code === code) ? 1 : 0,
      );
    if (delivery.receivedAt) {
      m.extractAge.set({ extract: delivery.extract }, (now.getTime() - delivery.receivedAt.getTime()) / 1000);
      m.extractRows.set({ extract: delivery.extract }, check.rows);
    }
    return check;
  }

  /** Hook (events route, or a timer): the newest event's time. */
  recordEventStream(lastEventAt: Date | null, now: Date) {
    const result = checkEventStream(lastEventAt, now, this.deps.config.events.maxLagMinutes);
    this.deps.metrics.eventStreamLag.set(Number.isFinite(result.lagMinutes) ? result.lagMinutes * 60 : 1e9);
    return result;
  }

  /** Hook (batch cycle end): duration, outcome, volumes. */
  recordBatchCycle(c: BatchCycleRecord): void {
    this.deps.history.recordBatchCycle(c);
    const m = this.deps.metrics;
    m.batchCycles.inc({ region: c.region, outcome: c.ok ? 'success' : 'failure' });
    if (c.ok) {
      m.batchCycleDuration.observe({ region: c.region }, c.durationSeconds);
      m.batchLastSuccess.set(
        { region: c.region },
        (Date.parse(c.startedAt) + c.durationSeconds * 1000) / 1000,
      );
    }
  }

  /** Hook (write-back queue): age of the oldest pending change, 0 when none. */
  recordWritebackLag(region: string, seconds: number): void {
    this.deps.metrics.writebackLag.set({ region }, seconds);
  }

  /** Hook (Salesforce client after reading /limits): used share of each allocation. */
  recordApiUsage(limits: Record<string, { Max: number; Remaining: number }>): void {
    for (const [limit, v] of Object.entries(limits)) {
      if (v.Max > 0) this.deps.metrics.apiUsage.set({ limit }, (v.Max - v.Remaining) / v.Max);
    }
  }

  /** Wire as ExperimentService's onGuardrails: exports guardrail status and mode of each checked experiment. */
  recordExperiment(report: ExperimentReport): void {
    const m = this.deps.metrics;
    for (const g of report.guardrails)
      m.guardrailBreached.set({ experiment: report.experimentId, guardrail: g.name }, g.breached ? 1 : 0);
    m.guardrailBreached.set(
      { experiment: report.experimentId, guardrail: 'sample_ratio' },
      report.srm?.mismatch ? 1 : 0,
    );
    for (const mode of ['shadow', 'canary', 'full', 'halted', 'reverted'])
      m.experimentShare.remove({ experiment: report.experimentId, mode });
    m.experimentShare.set({ experiment: report.experimentId, mode: report.mode }, report.share);
  }
}
