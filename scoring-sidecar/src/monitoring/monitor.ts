// The monitor: one object the other modules report to. It turns what they report into metrics (for the
// alert rules) and history (for the dashboard). Each method is a hook another module calls; see the report
// in docs/runbook.md for who calls which.
import type { Baseline } from './baseline.js';
import type { MonitoringConfig } from './config.js';
import {
  checkEventStream,
  checkExtract,
  checkExtractSummary,
  type ExtractCheck,
  type ExtractDelivery,
  type ExtractIssueCode,
  type ExtractSummary,
} from './data-quality.js';
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

const EXTRACT_CHECKS: readonly ExtractIssueCode[] = [
  'missing',
  'late',
  'stale',
  'half_empty',
  'schema',
  'range',
];

interface Tally {
  day: string;
  region: string;
  bands: Record<string, number>;
  sources: Record<string, number>;
}

/**
 * What the monitor exports of an experiment's report (experiments' ExperimentReport, matched structurally:
 * experiments sit above monitoring, so monitoring never imports them).
 */
export interface GuardrailStatus {
  experimentId: string;
  mode: string;
  share: number;
  guardrails: readonly { name: string; breached: boolean }[];
  srm?: { mismatch: boolean } | null;
}

export class Monitor {
  /** Scores counted in memory since the last flush, by day and region (one history write per flush). */
  private tally = new Map<string, Tally>();
  private lastEventAt: Date | null;

  constructor(private readonly deps: MonitorDeps) {
    // A sidecar that just started has not missed any event yet: the lag counts from its start.
    this.lastEventAt = new Date();
    // The gauge from the history as soon as it is read; the freshness timer publishes it again.
    this.publishLatestCalibration().catch(() => {});
  }

  get config(): MonitoringConfig {
    return this.deps.config;
  }

  get baseline(): Baseline | null {
    return this.deps.baseline;
  }

  /** Hook (scoring paths, per request): counts in memory only; `flushScores` writes them. */
  countScores(region: string, scores: readonly { band: string; source: string; scoredAt: string }[]): void {
    for (const s of scores) this.countScore(region, s.band, s.source, s.scoredAt);
  }

  countScore(region: string, band: string, source: string, scoredAt: string): void {
    const day = scoredAt.slice(0, 10);
    const key = `${day}\u0000${region}`;
    let t = this.tally.get(key);
    if (!t) this.tally.set(key, (t = { day, region, bands: {}, sources: {} }));
    t.bands[band] = (t.bands[band] ?? 0) + 1;
    t.sources[source] = (t.sources[source] ?? 0) + 1;
  }

  /** Hook (batch cycle end): counts already aggregated per band and source. */
  addScoreCounts(
    day: string,
    region: string,
    bands: Record<string, number>,
    sources: Record<string, number>,
  ): Promise<void> {
    return this.deps.history.addScores(day, region, bands, sources);
  }

  /** Writes the counted scores to the history (a timer and close call it); counts of a failed write are kept. */
  async flushScores(): Promise<void> {
    if (this.tally.size === 0) return;
    const pending = this.tally;
    this.tally = new Map();
    for (const [key, t] of pending) {
      try {
        await this.deps.history.addScores(t.day, t.region, t.bands, t.sources);
        pending.delete(key);
      } catch (error) {
        // Put the unwritten counts back so the next flush writes them.
        for (const [k, rest] of pending) {
          const into = this.tally.get(k) ?? { day: rest.day, region: rest.region, bands: {}, sources: {} };
          for (const [b, n] of Object.entries(rest.bands)) into.bands[b] = (into.bands[b] ?? 0) + n;
          for (const [src, n] of Object.entries(rest.sources))
            into.sources[src] = (into.sources[src] ?? 0) + n;
          this.tally.set(k, into);
        }
        throw error;
      }
    }
  }

  /** Hook (scoring service / batch): scores of one day with their band and source, counted for the dashboard. */
  recordScores(
    day: string,
    region: string,
    scores: readonly { band: string; source: string }[],
  ): Promise<void> {
    const bands: Record<string, number> = {};
    const sources: Record<string, number> = {};
    for (const s of scores) {
      bands[s.band] = (bands[s.band] ?? 0) + 1;
      sources[s.source] = (sources[s.source] ?? 0) + 1;
    }
    return this.deps.history.addScores(day, region, bands, sources);
  }

  /**
   * Hook (daily job over the audit log's feature vectors): drift per feature and of the score, per day and
   * region. Gauges show the latest day of each region.
   */
  async recordDrift(rows: readonly ScoredRow[]): Promise<DriftSlice[]> {
    if (!this.deps.baseline) return [];
    const slices = driftBySlice(this.deps.baseline, rows, this.deps.config.drift);
    await this.recordDriftSlices(slices);
    return slices;
  }

  /** Drift already computed (e.g. from a batch cycle's bin counts): history, and gauges of the latest day. */
  async recordDriftSlices(slices: readonly DriftSlice[]): Promise<void> {
    await this.deps.history.recordDrift(slices);
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
  }

  /**
   * Hook (`leadrank monitoring calibration`, daily once 30-day labels exist): conversion by score decile vs
   * predicted, kept in the history under `day` (the day the labels were read); the gauge when enough rows.
   */
  async recordCalibration(
    day: string,
    region: string,
    pairs: readonly { p: number; converted: boolean }[],
  ): Promise<ReturnType<typeof calibrationByDecile>> {
    const result = calibrationByDecile(pairs);
    await this.deps.history.recordCalibration(day, region, result.bins);
    await this.deps.history.recordCalibrationRun(day, region, result.rows, result.ece);
    if (result.rows >= this.deps.config.calibration.minLabelledRows)
      this.deps.metrics.calibrationEce.set({ region }, result.ece);
    return result;
  }

  /**
   * The ECE gauge from the newest measurement in the history: the calibration job runs in its own process,
   * so the sidecar serving /metrics publishes what the job wrote (at start, and whenever this is called).
   */
  async publishLatestCalibration(): Promise<void> {
    const min = this.deps.config.calibration.minLabelledRows;
    for (const run of await this.deps.history.latestCalibrationRuns(min))
      this.deps.metrics.calibrationEce.set({ region: run.region }, run.ece);
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

  /**
   * Hook (extract ingest): a delivery counted row by row while it streamed. Checked against the trailing
   * deliveries of the same extract, published as gauges and kept in the history.
   */
  async recordExtractSummary(summary: ExtractSummary, now: Date): Promise<ExtractCheck> {
    const expectation = this.deps.config.extracts[summary.extract];
    if (!expectation) throw new Error(`no expectation configured for extract ${summary.extract}`);
    const recent = (await this.deps.history.extractDeliveries(summary.extract, 14)).map((d) => d.rows);
    const check = checkExtractSummary(summary, expectation, recent, now);
    this.publishExtractChecks(summary.extract, check, EXTRACT_CHECKS);
    if (summary.receivedAt) {
      this.deps.metrics.extractAge.set(
        { extract: summary.extract },
        (now.getTime() - summary.receivedAt.getTime()) / 1000,
      );
      this.deps.metrics.extractRows.set({ extract: summary.extract }, check.rows);
      await this.deps.history.recordExtractDelivery({
        extract: summary.extract,
        day: summary.day,
        receivedAt: summary.receivedAt.toISOString(),
        rows: check.rows,
        invalidRows: check.invalidRows,
        issues: check.issues.map((i) => i.code),
      });
    }
    return check;
  }

  /**
   * Timer: is each configured extract's delivery for today missing once due, and is the newest one too old?
   * Only the missing and stale gauges move here; the others describe the newest delivery.
   */
  async checkExtractFreshness(now: Date): Promise<ExtractCheck[]> {
    const today = now.toISOString().slice(0, 10);
    const checks: ExtractCheck[] = [];
    for (const [extract, expectation] of Object.entries(this.deps.config.extracts)) {
      const last = (await this.deps.history.extractDeliveries(extract, 1))[0] ?? null;
      const receivedToday = last !== null && last.day >= today;
      const check = checkExtractSummary(
        {
          extract,
          day: today,
          receivedAt: receivedToday ? new Date(last.receivedAt) : null,
          rows: last?.rows ?? 0,
          invalidRows: last?.invalidRows ?? 0,
          outOfRange: 0,
          rangeColumns: [],
        },
        expectation,
        [],
        now,
      );
      if (last) {
        const ageHours = (now.getTime() - Date.parse(last.receivedAt)) / 3_600_000;
        this.deps.metrics.extractAge.set({ extract }, ageHours * 3600);
        if (!receivedToday && ageHours > expectation.maxAgeHours)
          check.issues.push({
            code: 'stale',
            detail: `newest extract is ${ageHours.toFixed(1)} h old (max ${expectation.maxAgeHours})`,
          });
      }
      this.publishExtractChecks(extract, check, ['missing', 'stale']);
      checks.push(check);
    }
    return checks;
  }

  private publishExtractChecks(extract: string, check: ExtractCheck, codes: readonly ExtractIssueCode[]) {
    for (const code of codes)
      this.deps.metrics.extractCheckFailed.set(
        { extract, check: code },
        check.issues.some((i) => i.code === code) ? 1 : 0,
      );
  }

  /** Hook (events route): events arrived now. */
  eventsArrived(at: Date): void {
    this.lastEventAt = at;
    this.recordEventStream(at, at);
  }

  /** Timer: the event stream's lag since the last `eventsArrived`. */
  checkEventStreamNow(now: Date) {
    return this.recordEventStream(this.lastEventAt, now);
  }

  /** Hook (events route, or a timer): the newest event's time. */
  recordEventStream(lastEventAt: Date | null, now: Date) {
    const result = checkEventStream(lastEventAt, now, this.deps.config.events.maxLagMinutes);
    this.deps.metrics.eventStreamLag.set(Number.isFinite(result.lagMinutes) ? result.lagMinutes * 60 : 1e9);
    return result;
  }

  /** Hook (batch cycle end): duration, outcome, volumes. */
  async recordBatchCycle(c: BatchCycleRecord): Promise<void> {
    await this.deps.history.recordBatchCycle(c);
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
  recordExperiment(report: GuardrailStatus): void {
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
